"""The ``AWSIAMConfiguration`` files for clusterawsadm's ``create-cloudformation-stack``.

Field names and defaults: clusterawsadm cmd/clusterawsadm/api/bootstrap/v1beta1/types.go and
defaults.go. The decoder drops unknown keys silently (configreader.go uses a non-strict codec),
so only fields that exist are written; statement keys are capitalised (iam/api/v1beta1/types.go)
and ``Resource`` is always a list (it has no string unmarshaller).
"""

from __future__ import annotations

from typing import Any

from capa_accounts.core.aws import DEFAULT_NAME_SUFFIX
from capa_accounts.core.model import OPERATOR, Account, AccountSet

API_VERSION = "bootstrap.aws.infrastructure.cluster.x-k8s.io/v1beta1"
KIND = "AWSIAMConfiguration"


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
        "Action": ["sts:AssumeRole"],
        "Resource": sorted({a.role_arn for a in account_set.accounts}),
    }
    if management.principal == "bootstrapUser":
        # CAPA runs with the bootstrap user's keys: the grant goes on that user.
        spec["bootstrapUser"] = {"enable": True, "extraStatements": [grant]}
    else:
        spec["clusterAPIControllers"] = {"extraStatements": [grant]}
    return {"apiVersion": API_VERSION, "kind": KIND, "spec": spec}


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
    trust: dict[str, Any] = {
        "Sid": "CapaAccountsTrustManagement",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole"],
        "Principal": {"AWS": [account_set.management.principal_arn(account.partition)]},
    }
    if account.external_id is not None:
        trust["Condition"] = {"StringEquals": {"sts:ExternalId": account.external_id}}
    spec["clusterAPIControllers"] = {"trustStatements": [trust]}
    spec["eks"] = _eks(account)
    return {"apiVersion": API_VERSION, "kind": KIND, "spec": spec}


def _eks(account: Account) -> dict[str, Any]:
    # managedMachinePool defaults to disable: true (defaults.go); without it node groups fail
    # on the missing eks-nodegroup role (CAPA issue #2597).
    return {"iamRoleCreation": account.iam_role_creation, "managedMachinePool": {"disable": False}}
