"""Schemas of CAPA's EKS kinds: AWSManagedControlPlane, AWSManagedCluster, AWSManagedMachinePool.

Every top-level spec field is declared with its type; the fields this tool renders or checks
(``identityRef``, ``region``, ``version``, ``eksClusterName``, ``amiType``, ``scaling``, ...) and
the small structs around them are exactly as strict as the CRDs. The internals of the large
fields (``network``, ``vpcCni.env``) are left open: a built-in schema must never reject what
the CRD accepts, and those parts change with every CAPA release. Sources:
``controlplane/eks/api/v1beta2/awsmanagedcontrolplane_types.go``,
``exp/api/v1beta2/awsmanagedmachinepool_types.go``, ``exp/api/v1beta2/types.go``,
``api/v1beta2/awsmanagedcluster_types.go`` and ``api/v1beta2/types.go`` in CAPA.
"""

from __future__ import annotations

from capa_accounts.core.resources import CONTROLPLANE_API, INFRA_API
from capa_accounts.core.schema.core import (
    OPEN,
    Schema,
    array,
    boolean,
    integer,
    obj,
    resource,
    string,
    string_list,
    string_map,
)
from capa_accounts.core.schema.identities import IDENTITY_REFERENCE

CONTROL_PLANE_API = CONTROLPLANE_API
INFRASTRUCTURE_API = INFRA_API

# EKS accepts "1.31", "v1.31" and "v1.31.0"; the CRD's pattern is this one, oddities included
# (the optional third part may follow a doubled dot: "1.31..0").
KUBERNETES_VERSION_PATTERN = r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.?(\.0|[1-9][0-9]*)?$"

# clusterv1.APIEndpoint on main; v2.11.1 required host and port, main does not.
API_ENDPOINT: Schema = obj({"host": string(maxLength=512), "port": integer()})

_ACCESS_ENTRY: Schema = obj(
    {
        "accessPolicies": array(
            obj(
                {
                    "accessScope": obj(
                        {
                            "namespaces": string_list(minItems=1),
                            "type": string(enum=["cluster", "namespace"]),
                        },
                        "type",
                    ),
                    "policyARN": string(),
                },
                "accessScope",
                "policyARN",
            ),
            maxItems=20,
        ),
        "kubernetesGroups": string_list(),
        "principalARN": string(),
        "type": string(
            enum=[
                "standard",
                "ec2_linux",
                "ec2_windows",
                "fargate_linux",
                "ec2",
                "hybrid_linux",
                "hyperpod_linux",
            ]
        ),
        "username": string(),
    },
    "principalARN",
)

_ADDON: Schema = obj(
    {
        "configuration": string(),
        "conflictResolution": string(enum=["overwrite", "none", "preserve"]),
        "name": string(minLength=2),
        "preserveOnDelete": boolean(),
        "serviceAccountRoleARN": string(),
        "version": string(),
    },
    "name",
    "version",
)

# KubernetesMapping (iam/api/v1beta1): rolearn/userarn are at least "arn:aws:iam::" + 12
# digits + ":role/x" long, hence minLength 31.
_MAP_ROLE: Schema = obj(
    {"groups": string_list(), "rolearn": string(minLength=31), "username": string()},
    "groups",
    "rolearn",
    "username",
)
_MAP_USER: Schema = obj(
    {"groups": string_list(), "userarn": string(minLength=31), "username": string()},
    "groups",
    "userarn",
    "username",
)

_LOGGING_KEYS = ("apiServer", "audit", "authenticator", "controllerManager", "scheduler")

CONTROL_PLANE_SPEC: Schema = obj(
    {
        "accessConfig": obj(
            {
                "authenticationMode": string(enum=["config_map", "api", "api_and_config_map"]),
                "bootstrapClusterCreatorAdminPermissions": boolean(),
            }
        ),
        "accessEntries": array(_ACCESS_ENTRY),
        "additionalTags": string_map(),
        "addons": array(_ADDON),
        "associateOIDCProvider": boolean(),
        "bastion": obj(
            {
                "allowedCIDRBlocks": string_list(),
                "ami": string(),
                "disableIngressRules": boolean(),
                "enabled": boolean(),
                "instanceType": string(),
            }
        ),
        "bootstrapSelfManagedAddons": boolean(),
        "controlPlaneEndpoint": API_ENDPOINT,
        "eksClusterName": string(),
        "encryptionConfig": obj({"provider": string(), "resources": string_list()}),
        "endpointAccess": obj(
            {"private": boolean(), "public": boolean(), "publicCIDRs": string_list()}
        ),
        "iamAuthenticatorConfig": obj({"mapRoles": array(_MAP_ROLE), "mapUsers": array(_MAP_USER)}),
        "identityRef": IDENTITY_REFERENCE,
        "imageLookupBaseOS": string(),
        "imageLookupFormat": string(),
        "imageLookupOrg": string(),
        "kubeProxy": obj({"disable": boolean()}),
        # ControlPlaneLoggingSpec: the CRD lists every switch as required, but each has a default
        # (false) that the API server fills in before it validates, so none can be missing.
        "logging": obj({k: boolean() for k in _LOGGING_KEYS}),
        # NetworkSpec (api/v1beta2/network_types.go): VPC, subnets, CNI and security-group rules.
        "network": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "oidcIdentityProviderConfig": obj(
            {
                "clientId": string(),
                "groupsClaim": string(),
                "groupsPrefix": string(),
                "identityProviderConfigName": string(),
                "issuerUrl": string(),
                "requiredClaims": string_map(),
                "tags": string_map(),
                "usernameClaim": string(),
                "usernamePrefix": string(),
            },
            "clientId",
            "identityProviderConfigName",
            "issuerUrl",
        ),
        "partition": string(),
        "region": string(),
        "restrictPrivateSubnets": boolean(),
        "roleAdditionalPolicies": string_list(),
        "roleName": string(minLength=2),
        "rolePath": string(),
        "rolePermissionsBoundary": string(),
        "secondaryCidrBlock": string(),
        "sshKeyName": string(),
        "tokenMethod": string(enum=["iam-authenticator", "aws-cli"]),
        "upgradePolicy": string(enum=["extended", "standard"]),
        "version": string(minLength=2, pattern=KUBERNETES_VERSION_PATTERN),
        # VpcCni: ``env`` items are corev1.EnvVar, whose schema differs between CAPA releases.
        "vpcCni": obj({"disable": boolean(), "env": array(OPEN)}),
    }
)

AWS_MANAGED_CONTROL_PLANE: Schema = resource(CONTROL_PLANE_SPEC)

# AWSManagedCluster's spec only carries the endpoint that CAPA copies from the control plane;
# CAPA's templates write ``spec: {}``.
AWS_MANAGED_CLUSTER: Schema = resource(obj({"controlPlaneEndpoint": API_ENDPOINT}))

AMI_TYPES = [
    "AL2_x86_64",
    "AL2_x86_64_GPU",
    "AL2_ARM_64",
    "CUSTOM",
    "BOTTLEROCKET_ARM_64",
    "BOTTLEROCKET_x86_64",
    "BOTTLEROCKET_ARM_64_FIPS",
    "BOTTLEROCKET_x86_64_FIPS",
    "BOTTLEROCKET_ARM_64_NVIDIA",
    "BOTTLEROCKET_x86_64_NVIDIA",
    "WINDOWS_CORE_2019_x86_64",
    "WINDOWS_FULL_2019_x86_64",
    "WINDOWS_CORE_2022_x86_64",
    "WINDOWS_FULL_2022_x86_64",
    "AL2023_x86_64_STANDARD",
    "AL2023_ARM_64_STANDARD",
    "AL2023_x86_64_NEURON",
    "AL2023_x86_64_NVIDIA",
    "AL2023_ARM_64_NVIDIA",
]

_ENABLED = ["enabled", "disabled"]

_VOLUME: Schema = obj(
    {
        "deviceName": string(),
        "encrypted": boolean(),
        "encryptionKey": string(),
        "iops": integer(),
        "size": integer(minimum=8),
        "throughput": integer(),
        "type": string(),
    },
    "size",
)

# AWSLaunchTemplate (exp/api/v1beta2/types.go).
_LAUNCH_TEMPLATE: Schema = obj(
    {
        "additionalSecurityGroups": array(
            obj(
                {
                    "filters": array(
                        obj({"name": string(), "values": string_list()}, "name", "values")
                    ),
                    "id": string(),
                }
            )
        ),
        "ami": obj(
            {
                "eksLookupType": string(
                    enum=["AmazonLinux", "AmazonLinuxGPU", "AmazonLinux2023", "AmazonLinux2023GPU"]
                ),
                "id": string(),
            }
        ),
        "capacityReservationId": string(),
        "capacityReservationPreference": string(
            enum=["", "None", "CapacityReservationsOnly", "Open"]
        ),
        "enclaveOptions": obj({"enabled": boolean()}),
        "iamInstanceProfile": string(),
        "imageLookupBaseOS": string(),
        "imageLookupFormat": string(),
        "imageLookupOrg": string(),
        "instanceMetadataOptions": obj(
            {
                "httpEndpoint": string(enum=_ENABLED),
                "httpProtocolIpv6": string(enum=_ENABLED),
                "httpPutResponseHopLimit": integer(minimum=1, maximum=64),
                "httpTokens": string(enum=["optional", "required"]),
                "instanceMetadataTags": string(enum=_ENABLED),
            }
        ),
        "instanceType": string(),
        "marketType": string(enum=["OnDemand", "Spot", "CapacityBlock"]),
        "name": string(),
        "nonRootVolumes": array(_VOLUME),
        "privateDnsName": obj(
            {
                "enableResourceNameDnsAAAARecord": boolean(),
                "enableResourceNameDnsARecord": boolean(),
                "hostnameType": string(enum=["ip-name", "resource-name"]),
            }
        ),
        "rootVolume": _VOLUME,
        "spotMarketOptions": obj({"maxPrice": string()}),
        "sshKeyName": string(),
        "versionNumber": integer(),
    }
)

MACHINE_POOL_SPEC: Schema = obj(
    {
        "additionalTags": string_map(),
        "amiType": string(enum=AMI_TYPES),
        "amiVersion": string(minLength=2),
        "availabilityZoneSubnetType": string(enum=["public", "private", "all"]),
        "availabilityZones": string_list(),
        "awsLaunchTemplate": _LAUNCH_TEMPLATE,
        "capacityType": string(enum=["onDemand", "spot"]),
        "diskSize": integer(),
        "eksNodegroupName": string(),
        "instanceType": string(),
        "labels": string_map(),
        "lifecycleHooks": array(
            obj(
                {
                    "defaultResult": string(enum=["CONTINUE", "ABANDON"]),
                    "heartbeatTimeout": string(),
                    "lifecycleTransition": string(
                        enum=[
                            "autoscaling:EC2_INSTANCE_LAUNCHING",
                            "autoscaling:EC2_INSTANCE_TERMINATING",
                        ]
                    ),
                    "name": string(),
                    "notificationMetadata": string(),
                    "notificationTargetARN": string(),
                    "roleARN": string(),
                },
                "lifecycleTransition",
                "name",
            )
        ),
        "nodeRepairConfig": obj({"enabled": boolean()}),
        "providerIDList": string_list(),
        "remoteAccess": obj(
            {"public": boolean(), "sourceSecurityGroups": string_list(), "sshKeyName": string()}
        ),
        "roleAdditionalPolicies": string_list(),
        "roleName": string(),
        "rolePath": string(),
        "rolePermissionsBoundary": string(),
        "scaling": obj({"maxSize": integer(), "minSize": integer()}),
        "subnetIDs": string_list(),
        # Taint effects are EKS's spelling (no-schedule), not Kubernetes' (NoSchedule).
        "taints": array(
            obj(
                {
                    "effect": string(enum=["no-schedule", "no-execute", "prefer-no-schedule"]),
                    "key": string(),
                    "value": string(),
                },
                "effect",
                "key",
                "value",
            )
        ),
        "updateConfig": obj(
            {
                "maxUnavailable": integer(minimum=1, maximum=100),
                "maxUnavailablePercentage": integer(minimum=1, maximum=100),
            }
        ),
    }
)

AWS_MANAGED_MACHINE_POOL: Schema = resource(MACHINE_POOL_SPEC)

SCHEMAS: dict[tuple[str, str], Schema] = {
    (CONTROL_PLANE_API, "AWSManagedControlPlane"): AWS_MANAGED_CONTROL_PLANE,
    (INFRASTRUCTURE_API, "AWSManagedCluster"): AWS_MANAGED_CLUSTER,
    (INFRASTRUCTURE_API, "AWSManagedMachinePool"): AWS_MANAGED_MACHINE_POOL,
}
