"""The account model: ``AccountSet`` (accounts.yaml) and one ``Account``'s settings, the shapes
that ``accounts_file`` reads them into.

Every name the tool derives (namespace, identity name, role name and ARN, session name,
principal ARN) is computed here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from capa_accounts.core import aws, fluxsource, yamlio
from capa_accounts.core.aws import BOOTSTRAP_USER, CONTROLLERS, DEFAULT_NAME_SUFFIX
from capa_accounts.core.patches import Patch

ACCOUNTS_FILE = "accounts.yaml"
MANAGEMENT = "management"  # reserved: overlays/management holds the controller identity
# Reserved too: the Flux Kustomization of the admission policy is capa-<this>, as an account's
# would be (kustomize_plugin/flux.py, ADMISSION_KUSTOMIZATION).
RESERVED_NAMES = (MANAGEMENT, f"{MANAGEMENT}-admission-policy")
ROLE_IDENTITY = "roleIdentity"
OPERATOR = "operator"
DEFAULT_CAPA_VERSION = "v2.11.1"
# How CAPA's pods get the management controllers role (accounts.yaml management.workloadIdentity).
INSTANCE_PROFILE = "instanceProfile"
IRSA = "irsa"
POD_IDENTITY = "podIdentity"
# CAPA's manager ServiceAccount as its components install it, and the default of
# `clusterawsadm controller use-pod-identity` (cmd/clusterawsadm/cmd/controller/credentials/
# use_pod_identity.go: --namespace capa-system, --service-account capa-controller-manager).
DEFAULT_SERVICE_ACCOUNT = "capa-system/capa-controller-manager"


@dataclass(frozen=True)
class Suppression:
    """An account's ``suppress`` entry: a rule silenced for that account, with the reason."""

    rule: str
    reason: str


@dataclass(frozen=True)
class RuleSetting:
    """``spec.check.rules[]``: a rule turned off (``ignore``) or given another severity for the
    whole repository, with the reason; ``index`` locates it in accounts.yaml."""

    rule: str
    severity: str  # ignore | warning | error
    reason: str
    index: int = 0


@dataclass(frozen=True)
class Cluster:
    """One EKS cluster of an account, as accounts.yaml lists it."""

    name: str
    region: str
    kubernetes_version: str


@dataclass(frozen=True)
class Account:
    """One target account: where its clusters live and how CAPA reaches it."""

    name: str
    account_id: str
    region: str
    kubernetes_version: str
    namespace: str
    identity_name: str
    partition: str = "aws"
    name_prefix: str = ""
    name_suffix: str = DEFAULT_NAME_SUFFIX
    session_name: str = ""
    external_id: str | None = None
    duration_seconds: int | None = None
    iam_role_creation: bool = False
    admission_policy: bool = True  # False: the in-cluster policy admits this account unchecked
    clusters: tuple[Cluster, ...] = ()  # the clusters render writes (none while decommissioning)
    decommissioning: bool = False  # identity, grant and namespace stay; no cluster is rendered
    decommissioned: tuple[str, ...] = ()  # clusters listed with `decommissioning: true`
    suppress: tuple[Suppression, ...] = ()
    # accounts.yaml `patches` of the account and of its clusters, in that order (core/patches)
    patches: tuple[Patch, ...] = ()
    index: int = 0  # position in accounts.yaml, to locate findings
    # The set's credentials mode (DESIGN.md "Credentials modes") and, in operator mode, the CAPA
    # release each account's provider runs: the transformation needs both, and the KRM function
    # sees one Account only.
    credentials: str = ROLE_IDENTITY
    capa_version: str = DEFAULT_CAPA_VERSION

    @property
    def role_name(self) -> str:
        return f"{self.name_prefix}{CONTROLLERS}{self.name_suffix}"

    @property
    def role_arn(self) -> str:
        return aws.role_arn(self.partition, self.account_id, self.role_name)


@dataclass(frozen=True)
class Management:
    """The management account: where CAPA runs, and the principal every target trusts."""

    account_id: str
    principal: str = "controllersRole"
    name_prefix: str = ""
    name_suffix: str = DEFAULT_NAME_SUFFIX
    workload_identity: str = INSTANCE_PROFILE
    oidc_provider_arn: str | None = None
    service_account: str = DEFAULT_SERVICE_ACCOUNT
    # Namespaces of the management account's own clusters (the management cluster itself after
    # `clusterctl move`): `default` admits them, the admission policy skips them.
    namespaces: tuple[str, ...] = ()

    @property
    def role_name(self) -> str:
        return f"{self.name_prefix}{CONTROLLERS}{self.name_suffix}"

    def principal_arn(self, partition: str) -> str:
        """The AWS principal CAPA runs as, which every target account trusts."""
        if self.principal == "bootstrapUser":
            # The user's name is fixed, unlike the roles: namePrefix/nameSuffix do not apply
            # (clusterawsadm api/bootstrap/v1beta1/defaults.go DefaultBootstrapUserName).
            return aws.user_arn(partition, self.account_id, BOOTSTRAP_USER)
        return aws.role_arn(partition, self.account_id, self.role_name)


@dataclass(frozen=True)
class AccountSet:
    """accounts.yaml: the management account, the target accounts and the fleet's settings."""

    name: str
    partition: str
    management: Management
    credentials: str
    accounts: tuple[Account, ...]
    check_exclude: tuple[str, ...] = ()
    capa_version: str = DEFAULT_CAPA_VERSION
    flux: fluxsource.FluxSettings = field(default_factory=fluxsource.FluxSettings)
    document: yamlio.Document | None = field(default=None, compare=False, repr=False)
    check_rules: tuple[RuleSetting, ...] = ()

    def account(self, name: str) -> Account | None:
        return next((a for a in self.accounts if a.name == name), None)

    def locate(self, path: tuple[str | int, ...], *, at_key: bool = False) -> tuple[int, int]:
        if self.document is None:
            return 1, 1
        return yamlio.position(self.document.node, path, at_key=at_key)


def shared_account_ids(account_set: AccountSet) -> list[tuple[Account, Account]]:
    """Pairs (first user, later account) of accounts that share an AWS account ID (CAPA-X004)."""
    first: dict[str, Account] = {}
    pairs = []
    for account in account_set.accounts:
        if account.account_id in first:
            pairs.append((first[account.account_id], account))
        else:
            first.setdefault(account.account_id, account)
    return pairs


def shared_id_warning(first: Account, later: Account) -> str:
    return (
        f"warning: [CAPA-X004] accounts {first.name!r} and {later.name!r} share AWS account "
        f"{later.account_id}: the environments are not isolated"
    )
