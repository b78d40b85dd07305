"""AWS facts in one place: account IDs, partitions, ARNs, STS values and CAPA's default names.

Every pattern here is the one AWS documents; the schemas (``schema/accountset.py``), the IAM
reading (``capa_accounts/core/iam_policy.py``) and the rules import them, so one fact has one home.
"""

from __future__ import annotations

import re

# A 12-digit AWS account ID (AWS Account Management Reference, "Viewing account identifiers").
ACCOUNT_ID = r"[0-9]{12}"
# Partitions: aws, aws-cn, aws-us-gov, the isolated aws-iso, aws-iso-b, aws-iso-e, aws-iso-f,
# and aws-eusc (AWS General Reference, "Amazon Resource Names", partition).
PARTITION = r"aws(?:-cn|-us-gov|-iso(?:-[a-z])?|-eusc)?"
# IAM role and user name characters (IAM API Reference, CreateRole ``RoleName``).
IAM_NAME_CHARS = r"[\w+=,.@-]"
# A role ARN: no region, a 12-digit account, ``role/`` + optional path + name. Paths are
# ``/`` or ``/`` + printable ASCII + ``/``; names are 1-64 of ``\w+=,.@-`` (IAM API Reference,
# CreateRole ``Path`` and ``RoleName``).
ROLE_ARN = re.compile(
    rf"arn:(?P<partition>{PARTITION}):iam::(?P<account>{ACCOUNT_ID}):role/"
    rf"(?P<path>(?:[!-~]+/)?)(?P<name>{IAM_NAME_CHARS}{{1,64}})",
    re.ASCII,
)
ROOT_ARN = re.compile(rf"arn:{PARTITION}:iam::(?P<account>{ACCOUNT_ID}):root")
PRINCIPAL_ARN = re.compile(
    rf"arn:{PARTITION}:iam::(?P<account>{ACCOUNT_ID}):"
    rf"(?P<type>role|user)/(?:[!-~]*/)?(?P<name>{IAM_NAME_CHARS}+)",
    re.ASCII,
)
# An IAM OIDC identity provider: arn:<partition>:iam::<account>:oidc-provider/<issuer host/path>
# (IAM API Reference, CreateOpenIDConnectProvider; for EKS the issuer is
# oidc.eks.<region>.amazonaws.com/id/<id>).
OIDC_PROVIDER_ARN = (
    rf"arn:{PARTITION}:iam::{ACCOUNT_ID}:oidc-provider/"
    r"[A-Za-z0-9][-A-Za-z0-9.]*(?:/[-A-Za-z0-9._~]+)*"
)
# The account of any IAM ARN, however malformed the rest (for messages only).
ARN_ACCOUNT = re.compile(rf"^arn:[^:]*:iam::({ACCOUNT_ID}):")

# STS AssumeRole RoleSessionName: [\w+=,.@-]{2,64} (AWS STS API Reference, AssumeRole).
SESSION_NAME = r"[\w+=,.@-]{2,64}"
# STS AssumeRole ExternalId: [\w+=,.@:/-]{2,1224} (same page).
# The length is a separate fact: RE2, as Go's regexp, refuses a repetition over 1000
# (re2/parse.cc), so schemas put it in maxLength.
EXTERNAL_ID = r"[\w+=,.@:/-]{2,}"
EXTERNAL_ID_MAX = 1224
# STS AssumeRole Policy: a JSON policy document of at most 2,048 characters (same page).
SESSION_POLICY_MAX = 2048
# EKS CreateCluster ``name``: 1-100 characters, pattern ^[0-9A-Za-z][A-Za-z0-9\-_]*
# (Amazon EKS API Reference, CreateCluster, Request Syntax "name").
EKS_CLUSTER_NAME = r"[0-9A-Za-z][A-Za-z0-9_-]*"
EKS_CLUSTER_NAME_MAX = 100

# clusterawsadm's default nameSuffix (iam/api/v1beta1/types.go:80) and role base name
# (cmd/clusterawsadm/cloudformation/bootstrap/template.go: NewManagedName = prefix+name+suffix).
DEFAULT_NAME_SUFFIX = ".cluster-api-provider-aws.sigs.k8s.io"
CONTROLLERS = "controllers"
# clusterawsadm's fixed default user name, not prefix + name + suffix
# (cmd/clusterawsadm/api/bootstrap/v1beta1/defaults.go, DefaultBootstrapUserName).
BOOTSTRAP_USER = "bootstrapper.cluster-api-provider-aws.sigs.k8s.io"


def anchored(pattern: str) -> str:
    """A pattern for JSON Schema ``pattern``, which searches: anchor it at both ends."""
    return f"^{pattern}$"


def role_arn(partition: str, account_id: str, name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{name}"


def user_arn(partition: str, account_id: str, name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:user/{name}"


def is_account_id(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(ACCOUNT_ID, value) is not None
