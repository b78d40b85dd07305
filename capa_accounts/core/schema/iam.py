"""Schema of clusterawsadm's ``AWSIAMConfiguration``, the ``bootstrap iam`` config file.

No CRD exists for this kind: it is the ``--config`` file of ``clusterawsadm bootstrap iam``,
decoded by ``cmd/clusterawsadm/configreader/configreader.go`` with a non-strict codec, so an
unknown key such as the seed guide's ``clusterAPIControllers.disabled`` is silently dropped
and the role is created anyway. This schema is therefore strict on purpose: every unknown
key is a violation. Fields follow ``cmd/clusterawsadm/api/bootstrap/v1beta1/types.go`` and
``iam/api/v1beta1/types.go`` (transcribed in ``capa-reference/awsiamconfiguration.schema.yaml``).
"""

from __future__ import annotations

from capa_accounts.core.resources import IAM_CONFIG_GROUP
from capa_accounts.core.schema.core import (
    OBJECT_META,
    Schema,
    array,
    boolean,
    obj,
    string,
    string_list,
    string_map,
)

GROUP = IAM_CONFIG_GROUP
V1BETA1 = f"{GROUP}/v1beta1"
V1ALPHA1 = f"{GROUP}/v1alpha1"

# Actions and PrincipalID have custom unmarshallers that accept a string or a list
# (iam/api/v1beta1/types.go); ``Resources`` has none, so a bare string fails to decode.
_STRING_OR_LIST: Schema = {"anyOf": [string(), string_list()]}

_PRINCIPALS: Schema = obj(
    {
        "AWS": _STRING_OR_LIST,
        "Federated": _STRING_OR_LIST,
        "Service": _STRING_OR_LIST,
    }
)

# StatementEntry: IAM's own capitalised JSON keys. Condition maps an operator (any string,
# "ForAnyValue:StringLike" included) to a map of condition keys and values.
STATEMENT: Schema = obj(
    {
        "Sid": string(),
        "Principal": _PRINCIPALS,
        "NotPrincipal": _PRINCIPALS,
        "Effect": string(enum=["Allow", "Deny"]),
        "Action": _STRING_OR_LIST,
        "Resource": string_list(),
        "Condition": string_map({"type": "object"}),
    },
    "Effect",
    "Action",
)

STATEMENTS: Schema = array(STATEMENT)


def _role(**extra: Schema) -> Schema:
    """AWSIAMRoleSpec (inlined into controlPlane, clusterAPIControllers and nodes)."""
    return obj(
        {
            "disable": boolean(),
            "extraPolicyAttachments": string_list(),
            "extraStatements": STATEMENTS,
            "path": string(),
            "permissionsBoundary": string(),
            "trustStatements": STATEMENTS,
            "tags": string_map(),
            **extra,
        }
    )


def _eks() -> Schema:
    # v1alpha1 and v1beta1 share one EKSConfig now: v1alpha1's old ``enable`` is gone (see
    # REMOVED), and its conversion copies exactly these fields.
    properties: dict[str, Schema] = {
        "disable": boolean(),
        # Go field AllowIAMRoleCreation: lets the EKS controllers create a role per cluster.
        "iamRoleCreation": boolean(),
        "enableUserEKSConsolePolicy": boolean(),
        "defaultControlPlaneRole": _role(),
        "managedMachinePool": _role(),
        "fargate": _role(),
        "kmsAliasPrefix": string(),
    }
    return obj(properties)


# v1beta1 fields v1alpha1 never had: its generated conversion marks them "does not exist in
# peer-type" (cmd/clusterawsadm/api/bootstrap/v1alpha1/zz_generated.conversion.go), so a
# v1alpha1 file that sets one loses it on decoding.
V1BETA1_ONLY = ("stackTags", "s3Buckets", "allowAssumeRole")


def _spec(v1alpha1: bool) -> Schema:
    spec = obj(
        {
            "namePrefix": string(),
            # *string: an explicit "" is honoured (no suffix), null means the default.
            "nameSuffix": {"type": "string", "nullable": True},
            "controlPlane": _role(
                disableClusterAPIControllerPolicyAttachment=boolean(),
                disableCloudProviderPolicy=boolean(),
                enableCSIPolicy=boolean(),
            ),
            # ``disable`` is accepted (inline AWSIAMRoleSpec) although template.go always renders
            # the controllers role.
            "clusterAPIControllers": _role(allowedEC2InstanceProfiles=string_list()),
            "nodes": _role(
                disableCloudProviderPolicy=boolean(),
                ec2ContainerRegistryReadOnly=boolean(),
            ),
            "bootstrapUser": obj(
                {
                    "enable": boolean(),
                    "userName": string(),
                    "groupName": string(),
                    "extraPolicyAttachments": string_list(),
                    "extraGroups": string_list(),
                    "extraStatements": STATEMENTS,
                    "tags": string_map(),
                }
            ),
            "stackName": string(),
            "stackTags": string_map(),
            "region": string(),
            "eks": {**_eks(), "nullable": True},
            "eventBridge": {**obj({"enable": boolean()}), "nullable": True},
            # aws, aws-cn, aws-us-gov, aws-iso...: not an enum in clusterawsadm.
            "partition": string(),
            "secureSecretBackends": array(string(enum=["secrets-manager", "ssm-parameter-store"])),
            "s3Buckets": obj({"enable": boolean(), "namePrefix": string()}),
            "allowAssumeRole": boolean(),
        }
    )
    if v1alpha1:
        spec["properties"] = {k: v for k, v in spec["properties"].items() if k not in V1BETA1_ONLY}
    return spec


def _configuration(v1alpha1: bool) -> Schema:
    # The Go type has only TypeMeta and Spec; ``metadata`` is tolerated (dropped by the
    # decoder) so the file can carry a name like every other object in the repository.
    return obj(
        {
            "apiVersion": string(),
            "kind": string(),
            "metadata": OBJECT_META,
            "spec": _spec(v1alpha1),
        },
        "apiVersion",
        "kind",
    )


AWS_IAM_CONFIGURATION: Schema = _configuration(False)

SCHEMAS: dict[tuple[str, str], Schema] = {
    (V1BETA1, "AWSIAMConfiguration"): AWS_IAM_CONFIGURATION,
    (V1ALPHA1, "AWSIAMConfiguration"): _configuration(True),
}

# Keys upstream removed, which a lenient decoder drops without a word; CAPA-R004 adds the
# reason to its "unknown field". v1alpha1's EKSConfig once had ``enable`` (the opposite of
# v1beta1's ``disable``); it is gone from cmd/clusterawsadm/api/bootstrap/v1alpha1/types.go,
# and zz_generated.conversion.go converts EKSConfig field for field without it, so
# ``eks: {enable: false}`` leaves EKS on (``disable`` defaults to false).
REMOVED: dict[tuple[str, str], dict[tuple[str, ...], str]] = {
    (V1ALPHA1, "AWSIAMConfiguration"): {
        ("spec", "eks", "enable"): "v1alpha1 `eks.enable` was removed upstream and clusterawsadm "
        "drops it silently: EKS permissions are granted unless `eks.disable: true`; write "
        "`disable` (or apiVersion v1beta1)",
        **{
            ("spec", key): f"`{key}` does not exist in v1alpha1 and clusterawsadm drops it "
            "silently; use apiVersion .../v1beta1"
            for key in V1BETA1_ONLY
        },
    },
}
