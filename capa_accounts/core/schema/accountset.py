"""Schemas of the tool's own kinds: ``AccountSet`` (accounts.yaml) and ``Account`` (fn config).

One place for the form of every field: ``model`` validates with these schemas (a violation is
an input error, exit 2), ``capa-accounts schema`` prints them as JSON Schema for editors.
"""

from __future__ import annotations

from typing import Any

from capa_accounts.core import aws
from capa_accounts.core.eks_versions import SUPPORTED, TABLE_DATE
from capa_accounts.core.schema.flux import DURATION

API_VERSION = "capa-accounts.dev/v1alpha1"

# DNS-1123 label: overlay directory, namespace, Kubernetes object names (RFC 1123).
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
ACCOUNT_ID = aws.anchored(aws.ACCOUNT_ID)
# AWS region names: eu-west-1, us-gov-west-1, cn-north-1, ap-southeast-3, us-isob-east-1.
REGION = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$"
SESSION_NAME = aws.anchored(aws.SESSION_NAME)
EXTERNAL_ID = aws.anchored(aws.EXTERNAL_ID)
RULE_ID = r"^CAPA-[A-Z][0-9]{3}$"
IAM_NAME_PART = aws.anchored(aws.IAM_NAME_CHARS + "*")
OIDC_PROVIDER_ARN = aws.anchored(aws.OIDC_PROVIDER_ARN)
# <namespace>/<name> of a Kubernetes ServiceAccount (both DNS-1123 names).
SERVICE_ACCOUNT = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
WORKLOAD_IDENTITIES = ["instanceProfile", "irsa", "podIdentity"]
# A directory below the repository: no leading "/", no "." or ".." component.
RELATIVE_DIR = r"^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$"


def _str(pattern: str | None = None, description: str = "", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", "description": description, **extra}
    if pattern:
        out["pattern"] = pattern
    return out


# One of the versions the EKS calendar names (core/eks_versions.py), quoted "major.minor";
# whether EKS still supports it on the day is `check`'s question (CAPA-C009), not the schema's.
KUBERNETES_VERSION = _str(
    None,
    f'Kubernetes "major.minor", quoted; one of {", ".join(SUPPORTED)} (EKS release calendar '
    f"of {TABLE_DATE}); `capa-accounts check` reports a version past standard support "
    "(CAPA-C009)",
    enum=list(SUPPORTED),
)
NAME = _str(DNS_LABEL, "DNS-1123 label", maxLength=40)
METADATA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": _str(DNS_LABEL, "name", maxLength=63),
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}

PATCHES = {
    "type": "array",
    "description": "per-account (or per-cluster) settings: JSON merge patches (RFC 7386) that "
    "render applies to the rendered objects; fields capa-accounts derives (identity chain, "
    "names, namespace, region, version) cannot be patched",
    "items": {
        "type": "object",
        "required": ["target", "patch"],
        "properties": {
            "target": {
                "type": "object",
                "required": ["kind"],
                "properties": {
                    "kind": _str(r"^[A-Z][A-Za-z0-9]*$", "kind of the objects to patch"),
                    "name": _str(DNS_SUBDOMAIN, "rendered name (default: every object of kind)"),
                },
            },
            "patch": {
                "type": "object",
                "description": "merged into each target: mappings merge, lists and scalars "
                "replace, null removes a key",
            },
        },
    },
}

CLUSTER = {
    "type": "object",
    "description": "One EKS cluster of the account; region and version default to the account's.",
    "required": ["name"],
    "properties": {
        "name": _str(DNS_LABEL, "cluster name: the CAPI Cluster and the EKS cluster", maxLength=40),
        "region": _str(REGION, "AWS region of this cluster"),
        "kubernetesVersion": KUBERNETES_VERSION,
        "decommissioning": {
            "type": "boolean",
            "description": "true: render no objects of this cluster (Flux prunes it, CAPA deletes "
            "the EKS cluster); the acknowledgement CAPA-D005 asks for",
        },
        "patches": PATCHES,
    },
}

SUPPRESS = {
    "type": "object",
    "required": ["rule", "reason"],
    "properties": {
        "rule": _str(RULE_ID, "rule ID, such as CAPA-I004"),
        "reason": _str(None, "why this finding is accepted", minLength=1),
    },
}

# Settings of one target account, shared by accounts.yaml entries and the Account function config.
ACCOUNT_FIELDS: dict[str, dict[str, Any]] = {
    "accountId": _str(ACCOUNT_ID, "12-digit AWS account ID, quoted"),
    "region": _str(REGION, "AWS region of the account's clusters"),
    "kubernetesVersion": KUBERNETES_VERSION,
    "namespace": _str(
        DNS_LABEL, "namespace of the account's clusters (default: the account name)", maxLength=63
    ),
    "identityName": _str(
        DNS_SUBDOMAIN, "AWSClusterRoleIdentity name (default <account>-identity)", maxLength=253
    ),
    "namePrefix": _str(IAM_NAME_PART, "clusterawsadm namePrefix of the account's IAM stack"),
    "nameSuffix": _str(IAM_NAME_PART, "clusterawsadm nameSuffix of the account's IAM stack"),
    "sessionName": _str(SESSION_NAME, "STS session name, shown in CloudTrail"),
    "externalID": _str(
        EXTERNAL_ID, "sts:ExternalId the target role requires", maxLength=aws.EXTERNAL_ID_MAX
    ),
    "durationSeconds": {
        "type": "integer",
        "minimum": 900,
        "maximum": 43200,
        "description": "session duration; 3600 at most for chained roles",
    },
    "iamRoleCreation": {"type": "boolean", "description": "let EKS controllers create IAM roles"},
    "admissionPolicy": {
        "type": "boolean",
        "description": "false: the in-cluster admission policy skips this account",
    },
    "clusters": {"type": "array", "items": CLUSTER, "minItems": 1},
    "decommissioning": {
        "type": "boolean",
        "description": "true: keep the account's identity, grant and namespace, render no "
        "clusters (CAPA deletes them); required before removing the account",
    },
    "suppress": {"type": "array", "items": SUPPRESS},
    "patches": PATCHES,
}

ACCOUNT_ENTRY = {
    "type": "object",
    "required": ["name", "accountId", "region", "kubernetesVersion"],
    "properties": {"name": NAME, **ACCOUNT_FIELDS},
}

# spec.flux: how the Flux Kustomizations render writes reach the cluster (core/fluxsource.py).
FLUX = {
    "type": "object",
    "description": "Flux settings of the Kustomizations render writes; the defaults are "
    "those of `flux bootstrap`",
    "properties": {
        "path": _str(
            RELATIVE_DIR,
            "directory of the Flux Kustomizations, relative to accounts.yaml (default "
            "clusters/management): the --path the management cluster was bootstrapped with",
        ),
        "namespace": _str(
            DNS_LABEL, "namespace of the Kustomizations (default flux-system)", maxLength=63
        ),
        "sourceRef": {
            "type": "object",
            "description": "the Flux source that holds this repository (default "
            "GitRepository flux-system, as `flux bootstrap` names it)",
            "required": ["name"],
            "properties": {
                "kind": {
                    "type": "string",
                    "enum": ["GitRepository", "OCIRepository", "Bucket"],
                    "description": "source kind (default GitRepository)",
                },
                "name": _str(DNS_SUBDOMAIN, "source name", maxLength=253),
                "namespace": _str(
                    DNS_LABEL, "source namespace (default: the Kustomizations')", maxLength=63
                ),
            },
        },
        "sourcePath": _str(
            RELATIVE_DIR,
            "where accounts.yaml's directory is in the source artifact (default: its path "
            "below the top of the git work tree)",
        ),
        "interval": _str(DURATION, "reconciliation interval (default 10m)"),
        "retryInterval": _str(
            DURATION, "retry interval after a failure (default: Flux's, the interval)"
        ),
        "timeout": _str(DURATION, "timeout of build, apply and health checks (default Flux's)"),
    },
}

STATEMENT_PRINCIPAL = {"type": "string", "enum": ["controllersRole", "bootstrapUser"]}

ACCOUNT_SET: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "capa-accounts AccountSet (accounts.yaml)",
    "type": "object",
    "required": ["apiVersion", "kind", "spec"],
    "properties": {
        "apiVersion": {"type": "string", "const": API_VERSION},
        "kind": {"type": "string", "const": "AccountSet"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "required": ["management", "accounts"],
            "properties": {
                "partition": {
                    "type": "string",
                    "enum": ["aws", "aws-cn", "aws-us-gov"],
                    "description": "AWS partition of every account (default aws)",
                },
                "credentials": {
                    "type": "string",
                    "enum": ["roleIdentity", "operator"],
                    "description": "how CAPA gets each account's credentials",
                },
                "management": {
                    "type": "object",
                    "required": ["accountId"],
                    "properties": {
                        "accountId": _str(ACCOUNT_ID, "12-digit management account ID, quoted"),
                        "principal": {
                            **STATEMENT_PRINCIPAL,
                            "description": "AWS principal CAPA runs as",
                        },
                        "namePrefix": _str(IAM_NAME_PART, "clusterawsadm namePrefix"),
                        "nameSuffix": _str(IAM_NAME_PART, "clusterawsadm nameSuffix"),
                        "workloadIdentity": {
                            "type": "string",
                            "enum": WORKLOAD_IDENTITIES,
                            "description": "how CAPA's pods get the controllers role: "
                            "instanceProfile (default), irsa or podIdentity",
                        },
                        "oidcProviderARN": _str(
                            OIDC_PROVIDER_ARN,
                            "irsa: the management cluster's IAM OIDC provider ARN",
                        ),
                        "serviceAccount": _str(
                            SERVICE_ACCOUNT,
                            "irsa: <namespace>/<name> of CAPA's ServiceAccount "
                            "(default capa-system/capa-controller-manager)",
                        ),
                        "namespaces": {
                            "type": "array",
                            "description": "namespaces of the management account's own "
                            "clusters (the management cluster after clusterctl move): the "
                            "controller identity default admits them and the admission "
                            "policy lets them through; they use the management account's "
                            "credentials",
                            "items": _str(DNS_LABEL, "namespace", maxLength=63),
                            "uniqueItems": True,
                        },
                    },
                },
                "operator": {
                    "type": "object",
                    "description": "settings of operator mode (credentials: operator)",
                    "properties": {
                        "capaVersion": _str(
                            r"^v[0-9]+\.[0-9]+\.[0-9]+$",
                            "CAPA release the providers run, such as v2.11.1",
                        ),
                    },
                },
                "flux": FLUX,
                "check": {
                    "type": "object",
                    "properties": {
                        "exclude": {
                            "type": "array",
                            "items": {"type": "string", "minLength": 1},
                            "description": "globs of files check skips",
                        },
                    },
                },
                "accounts": {"type": "array", "minItems": 1, "items": ACCOUNT_ENTRY},
            },
        },
    },
}

ACCOUNT_CONFIG: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "capa-accounts Account (KRM function config)",
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"type": "string", "const": API_VERSION},
        "kind": {"type": "string", "const": "Account"},
        "metadata": {
            **METADATA,
            "required": ["name"],
            "properties": {**METADATA["properties"], "name": NAME},
        },
        "spec": {
            "type": "object",
            "required": ["accountId", "region", "kubernetesVersion"],
            "properties": {
                **ACCOUNT_FIELDS,
                "managementAccountId": _str(ACCOUNT_ID, "12-digit management account ID"),
                "credentials": {"type": "string", "enum": ["roleIdentity", "operator"]},
                "capaVersion": _str(r"^v[0-9]+\.[0-9]+\.[0-9]+$", "CAPA release (operator mode)"),
                "partition": {"type": "string", "enum": ["aws", "aws-cn", "aws-us-gov"]},
            },
        },
    },
}

SCHEMAS = {
    (API_VERSION, "AccountSet"): ACCOUNT_SET,
    (API_VERSION, "Account"): ACCOUNT_CONFIG,
}
