"""The ``AWSIAMConfiguration`` files for clusterawsadm's ``create-cloudformation-stack``.

Field names and defaults: clusterawsadm cmd/clusterawsadm/api/bootstrap/v1beta1/types.go and
defaults.go. The decoder drops unknown keys silently (configreader.go uses a non-strict codec),
so only fields that exist are written; statement keys are capitalised (iam/api/v1beta1/types.go)
and ``Resource`` is always a list (it has no string unmarshaller).
"""

from __future__ import annotations

from typing import Any

from capa_accounts.core import aws
from capa_accounts.core.aws import DEFAULT_NAME_SUFFIX
from capa_accounts.core.errors import ConfigError
from capa_accounts.core.model import (
    ACCOUNTS_FILE,
    DEFAULT_SERVICE_ACCOUNT,
    IRSA,
    OPERATOR,
    POD_IDENTITY,
    Account,
    AccountSet,
)
from capa_accounts.core.resources import IAM_CONFIG_API

API_VERSION = IAM_CONFIG_API
KIND = "AWSIAMConfiguration"
# clusterawsadm's default stack name (cmd/clusterawsadm/api/bootstrap/v1beta1/defaults.go):
# every file that does not set stackName creates or updates this one stack of its account.
DEFAULT_STACK_NAME = "cluster-api-provider-aws-sigs-k8s-io"
# AWS STS: the audience EKS's OIDC tokens for IRSA carry (EKS User Guide, "Assign IAM roles to
# Kubernetes service accounts", the trust policy's <issuer>:aud condition).
STS_AUDIENCE = "sts.amazonaws.com"


def chained_actions(account_set: AccountSet) -> list[str]:
    """The actions of the management grant and of each target trust.

    EKS Pod Identity adds session tags to the controllers role's session, and all of them are
    transitive (EKS User Guide, pod-id-abac "Cross-account tags"; pod-id-how-it-works), so
    every AssumeRole made with that session passes them on: STS then requires sts:TagSession in
    the caller's identity policy and in the target role's trust policy, or the AssumeRole is
    denied (IAM User Guide, id_session-tags "Chaining roles with session tags" and "Permissions
    required to add session tags"). IRSA and instance profiles add no transitive tags.
    """
    if (
        account_set.management.workload_identity == POD_IDENTITY
        and account_set.management.principal == "controllersRole"
    ):
        return ["sts:AssumeRole", "sts:TagSession"]
    return ["sts:AssumeRole"]


def in_management_account(account_set: AccountSet) -> list[Account]:
    """Target accounts that are the management account itself (role identities only).

    clusterawsadm makes one CloudFormation stack per file, named stackName (default
    DEFAULT_STACK_NAME), and two files for one AWS account would update the same stack in turn,
    the second dropping what the first created; with distinct stackNames the second stack
    would fail on the roles whose names ignore namePrefix/nameSuffix (eks-controlplane,
    eks-nodegroup: cloudformation/bootstrap/template.go). So such an account's settings are
    merged into the management file: one stack, one controllers role that trusts itself.
    """
    if account_set.credentials == OPERATOR:
        return []  # the management account has no stack of its own in this mode
    return [a for a in account_set.accounts if a.account_id == account_set.management.account_id]


def merge_note(account: Account) -> str:
    return (
        f"account {account.name!r} is the management account ({account.account_id}): its "
        "stack is merged into bootstrap/management.yaml, since two clusterawsadm files "
        f"for one account would overwrite one stack ({DEFAULT_STACK_NAME}); run only that "
        "file for this account"
    )


def _check_mergeable(account_set: AccountSet, account: Account) -> None:
    management = account_set.management
    if account.role_name != management.role_name or account.partition != account_set.partition:
        line, col = account_set.locate(("spec", "accounts", account.index, "accountId"))
        raise ConfigError(
            f"account {account.name!r} is the management account ({account.account_id}) but "
            f"names its controllers role {account.role_name}, not {management.role_name}: one "
            "AWS account holds one clusterawsadm stack (a second would fail on the fixed-name "
            "EKS roles); give it the management's namePrefix/nameSuffix",
            ACCOUNTS_FILE,
            line,
            col,
        )


def _names(spec: dict[str, Any], prefix: str, suffix: str) -> None:
    if prefix:
        spec["namePrefix"] = prefix
    if suffix != DEFAULT_NAME_SUFFIX:
        spec["nameSuffix"] = suffix


def management_config(account_set: AccountSet) -> dict[str, Any]:
    """The management account's stack: AssumeRole on exactly the target controller roles.

    Narrower than the guide's ``arn:aws:iam::*:role/...`` (and than ``allowAssumeRole``, which
    grants ``arn:*:iam::*:role/<prefix>*<suffix>``, cluster_api_controller.go:291-299): the
    controllers can assume only the roles of accounts declared in accounts.yaml.
    """
    management = account_set.management
    spec: dict[str, Any] = {}
    _names(spec, management.name_prefix, management.name_suffix)
    if account_set.partition != "aws":
        spec["partition"] = account_set.partition
    grant = {
        "Sid": "CapaAccountsAssumeTargetRoles",
        "Effect": "Allow",
        "Action": chained_actions(account_set),
        "Resource": sorted({a.role_arn for a in account_set.accounts}),
    }
    controllers: dict[str, Any] = {}
    if management.principal == "bootstrapUser":
        # CAPA runs with the bootstrap user's keys: the grant goes on that user.
        spec["bootstrapUser"] = {"enable": True, "extraStatements": [grant]}
    else:
        controllers["extraStatements"] = [grant]
    trust = _workload_trust(account_set)
    merged = in_management_account(account_set)
    for account in merged:
        _check_mergeable(account_set, account)
        statement = _trust_management(account_set, account)
        if statement in trust:
            continue
        if any(t["Sid"] == statement["Sid"] for t in trust):
            # IAM requires unique Sids in a policy: another account's externalID differs.
            statement["Sid"] += account.name.title().replace("-", "")
        trust.append(statement)
    if trust:
        controllers["trustStatements"] = trust
    if controllers:
        spec["clusterAPIControllers"] = controllers
    if merged:
        spec["eks"] = _eks(*merged)
    # No eks block otherwise: absent, EKS is on (defaults.go), and the controllers role then
    # trusts pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession, which EKS Pod
    # Identity needs, and ec2.amazonaws.com for an instance profile (template.go,
    # controllersTrustPolicy): only IRSA needs a statement of ours.
    return {"apiVersion": API_VERSION, "kind": KIND, "spec": spec}


def _workload_trust(account_set: AccountSet) -> list[dict[str, Any]]:
    """IRSA: the controllers role trusts CAPA's ServiceAccount through the cluster's OIDC
    provider, as CAPA's full-multitenancy guide adds to the manager account's trustStatements
    (docs/book/src/topics/full-multitenancy-implementation.md; multitenancy.md). Stricter than
    the guide's ForAnyValue:StringEquals on `sub` alone: StringEquals on `sub` and on `aud`, as
    the EKS User Guide's IRSA trust policy has it."""
    management = account_set.management
    if management.workload_identity != IRSA or management.oidc_provider_arn is None:
        return []
    issuer = management.oidc_provider_arn.split(":oidc-provider/", 1)[1]
    namespace, name = management.service_account.split("/", 1)
    return [
        {
            "Sid": "CapaAccountsTrustServiceAccount",
            "Effect": "Allow",
            "Action": ["sts:AssumeRoleWithWebIdentity"],
            "Principal": {"Federated": [management.oidc_provider_arn]},
            "Condition": {
                "StringEquals": {
                    f"{issuer}:sub": f"system:serviceaccount:{namespace}:{name}",
                    f"{issuer}:aud": STS_AUDIENCE,
                }
            },
        }
    ]


def workload_identity_steps(account_set: AccountSet) -> list[str]:
    """What still joins CAPA's pods to the controllers role once the stack exists, as the
    comment lines of bootstrap/management.yaml (capa-accounts does not install CAPA).

    IRSA: the trust alone gives CAPA nothing. EKS's webhook injects the role's web identity
    only into pods whose ServiceAccount carries eks.amazonaws.com/role-arn (EKS User Guide,
    "Assign IAM roles to Kubernetes service accounts"), and CAPA's components set only a kiam
    annotation on the Deployment (config/default/manager_iam_patch.yaml); pods read it when
    they start, hence the restart. EKS Pod Identity: the association is the step, made by
    clusterawsadm (cmd/clusterawsadm/cmd/controller/credentials/use_pod_identity.go; its
    defaults are capa-system/capa-controller-manager and the unprefixed role name).
    """
    management = account_set.management
    arn = aws.role_arn(account_set.partition, management.account_id, management.role_name)
    if management.workload_identity == IRSA:
        namespace, name = management.service_account.split("/", 1)
        return [
            "then, on the management cluster, give CAPA's ServiceAccount the role (IRSA):",
            f"kubectl annotate serviceaccount --namespace {namespace} {name} \\",
            f"  eks.amazonaws.com/role-arn={arn}",
            f"kubectl rollout restart deployment --namespace {namespace} capa-controller-manager",
        ]
    if management.workload_identity == POD_IDENTITY:
        namespace, name = DEFAULT_SERVICE_ACCOUNT.split("/", 1)
        return [
            "then associate the role with CAPA's ServiceAccount (EKS Pod Identity):",
            "clusterawsadm controller use-pod-identity --cluster-name <management cluster> \\",
            f"  --region <its region> --namespace {namespace} --service-account {name} \\",
            f"  --role-name {management.role_name}",
        ]
    return []


def _trust_management(account_set: AccountSet, account: Account) -> dict[str, Any]:
    trust: dict[str, Any] = {
        "Sid": "CapaAccountsTrustManagement",
        "Effect": "Allow",
        "Action": chained_actions(account_set),
        "Principal": {"AWS": [account_set.management.principal_arn(account.partition)]},
    }
    if account.external_id is not None:
        trust["Condition"] = {"StringEquals": {"sts:ExternalId": account.external_id}}
    return trust


def target_config(account_set: AccountSet, account: Account) -> dict[str, Any]:
    """A target account's stack: its controllers role trusts exactly the management principal.

    In operator mode the account's own CAPA runs with static keys of a user in the account
    instead: the stack enables the bootstrap user
    (``bootstrapper.cluster-api-provider-aws.sigs.k8s.io``, in a group the controllers'
    managed policies are attached to: clusterawsadm
    cloudformation/bootstrap/template.go, RenderCloudFormation), whose access key the user
    encodes into the provider's configSecret. Nothing assumes a role across accounts then, so
    the stack trusts no one and the management account needs no stack for CAPA.
    """
    spec: dict[str, Any] = {}
    _names(spec, account.name_prefix, account.name_suffix)
    if account.partition != "aws":
        spec["partition"] = account.partition
    if account_set.credentials == OPERATOR:
        spec["bootstrapUser"] = {"enable": True}
        spec["eks"] = _eks(account)
        return {"apiVersion": API_VERSION, "kind": KIND, "spec": spec}
    spec["clusterAPIControllers"] = {"trustStatements": [_trust_management(account_set, account)]}
    spec["eks"] = _eks(account)
    return {"apiVersion": API_VERSION, "kind": KIND, "spec": spec}


def _eks(*accounts: Account) -> dict[str, Any]:
    # managedMachinePool defaults to disable: true (defaults.go); without it node groups fail
    # on the missing eks-nodegroup role (CAPA issue #2597).
    return {
        "iamRoleCreation": any(a.iam_role_creation for a in accounts),
        "managedMachinePool": {"disable": False},
    }
