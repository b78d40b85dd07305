"""The account model: ``AccountSet`` (accounts.yaml) and one ``Account``'s settings, the shapes
that ``accounts_file`` reads them into.

Every name the tool derives (namespace, identity name, role name and ARN, session name,
principal ARN) is computed here and nowhere else.
"""

from __future__ import annotations

from capa_accounts.core import aws, fluxsource, yamlio
from capa_accounts.core.aws import BOOTSTRAP_USER, CONTROLLERS, DEFAULT_NAME_SUFFIX
from capa_accounts.core.patches import Patch
from capa_accounts.core.record import Record

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


class Suppression(Record):
    """An account's ``suppress`` entry: a rule silenced for that account, with the reason."""

    FIELDS = ("rule", "reason")
    rule: str
    reason: str

    def __init__(
        self,
        rule: str,
        reason: str,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "rule", rule)
        set_(self, "reason", reason)


class RuleSetting(Record):
    """``spec.check.rules[]``: a rule turned off (``ignore``) or given another severity for the
    whole repository, with the reason; ``index`` locates it in accounts.yaml."""

    FIELDS = ("rule", "severity", "reason", "index")
    rule: str
    # ignore | warning | error
    severity: str
    reason: str
    index: int

    def __init__(
        self,
        rule: str,
        severity: str,
        reason: str,
        index: int = 0,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "rule", rule)
        set_(self, "severity", severity)
        set_(self, "reason", reason)
        set_(self, "index", index)


class Cluster(Record):
    """One EKS cluster of an account, as accounts.yaml lists it."""

    FIELDS = ("name", "region", "kubernetes_version")
    name: str
    region: str
    kubernetes_version: str

    def __init__(
        self,
        name: str,
        region: str,
        kubernetes_version: str,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "region", region)
        set_(self, "kubernetes_version", kubernetes_version)


class Account(Record):
    """One target account: where its clusters live and how CAPA reaches it."""

    FIELDS = (
        "name",
        "account_id",
        "region",
        "kubernetes_version",
        "namespace",
        "identity_name",
        "partition",
        "name_prefix",
        "name_suffix",
        "session_name",
        "external_id",
        "duration_seconds",
        "iam_role_creation",
        "admission_policy",
        "clusters",
        "decommissioning",
        "decommissioned",
        "suppress",
        "patches",
        "index",
        "credentials",
        "capa_version",
    )
    name: str
    account_id: str
    region: str
    kubernetes_version: str
    namespace: str
    identity_name: str
    partition: str
    name_prefix: str
    name_suffix: str
    session_name: str
    external_id: str | None
    duration_seconds: int | None
    iam_role_creation: bool
    # False: the in-cluster policy admits this account unchecked
    admission_policy: bool
    # the clusters render writes (none while decommissioning)
    clusters: tuple[Cluster, ...]
    # identity, grant and namespace stay; no cluster is rendered
    decommissioning: bool
    # clusters listed with `decommissioning: true`
    decommissioned: tuple[str, ...]
    suppress: tuple[Suppression, ...]
    # accounts.yaml `patches` of the account and of its clusters, in that order (core/patches)
    patches: tuple[Patch, ...]
    # position in accounts.yaml, to locate findings
    index: int
    # The set's credentials mode (DESIGN.md "Credentials modes") and, in operator mode, the CAPA
    # release each account's provider runs: the transformation needs both, and the KRM function
    # sees one Account only.
    credentials: str
    capa_version: str

    def __init__(
        self,
        name: str,
        account_id: str,
        region: str,
        kubernetes_version: str,
        namespace: str,
        identity_name: str,
        partition: str = "aws",
        name_prefix: str = "",
        name_suffix: str = DEFAULT_NAME_SUFFIX,
        session_name: str = "",
        external_id: str | None = None,
        duration_seconds: int | None = None,
        iam_role_creation: bool = False,
        admission_policy: bool = True,
        clusters: tuple[Cluster, ...] = (),
        decommissioning: bool = False,
        decommissioned: tuple[str, ...] = (),
        suppress: tuple[Suppression, ...] = (),
        patches: tuple[Patch, ...] = (),
        index: int = 0,
        credentials: str = ROLE_IDENTITY,
        capa_version: str = DEFAULT_CAPA_VERSION,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "account_id", account_id)
        set_(self, "region", region)
        set_(self, "kubernetes_version", kubernetes_version)
        set_(self, "namespace", namespace)
        set_(self, "identity_name", identity_name)
        set_(self, "partition", partition)
        set_(self, "name_prefix", name_prefix)
        set_(self, "name_suffix", name_suffix)
        set_(self, "session_name", session_name)
        set_(self, "external_id", external_id)
        set_(self, "duration_seconds", duration_seconds)
        set_(self, "iam_role_creation", iam_role_creation)
        set_(self, "admission_policy", admission_policy)
        set_(self, "clusters", clusters)
        set_(self, "decommissioning", decommissioning)
        set_(self, "decommissioned", decommissioned)
        set_(self, "suppress", suppress)
        set_(self, "patches", patches)
        set_(self, "index", index)
        set_(self, "credentials", credentials)
        set_(self, "capa_version", capa_version)

    @property
    def role_name(self) -> str:
        return f"{self.name_prefix}{CONTROLLERS}{self.name_suffix}"

    @property
    def role_arn(self) -> str:
        return aws.role_arn(self.partition, self.account_id, self.role_name)


class Management(Record):
    """The management account: where CAPA runs, and the principal every target trusts."""

    FIELDS = (
        "account_id",
        "principal",
        "name_prefix",
        "name_suffix",
        "workload_identity",
        "oidc_provider_arn",
        "service_account",
        "namespaces",
    )
    account_id: str
    principal: str
    name_prefix: str
    name_suffix: str
    workload_identity: str
    oidc_provider_arn: str | None
    service_account: str
    # Namespaces of the management account's own clusters (the management cluster itself after
    # `clusterctl move`): `default` admits them, the admission policy skips them.
    namespaces: tuple[str, ...]

    def __init__(
        self,
        account_id: str,
        principal: str = "controllersRole",
        name_prefix: str = "",
        name_suffix: str = DEFAULT_NAME_SUFFIX,
        workload_identity: str = INSTANCE_PROFILE,
        oidc_provider_arn: str | None = None,
        service_account: str = DEFAULT_SERVICE_ACCOUNT,
        namespaces: tuple[str, ...] = (),
    ) -> None:
        set_ = object.__setattr__
        set_(self, "account_id", account_id)
        set_(self, "principal", principal)
        set_(self, "name_prefix", name_prefix)
        set_(self, "name_suffix", name_suffix)
        set_(self, "workload_identity", workload_identity)
        set_(self, "oidc_provider_arn", oidc_provider_arn)
        set_(self, "service_account", service_account)
        set_(self, "namespaces", namespaces)

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


class AccountSet(Record):
    """accounts.yaml: the management account, the target accounts and the fleet's settings."""

    FIELDS = (
        "name",
        "partition",
        "management",
        "credentials",
        "accounts",
        "check_exclude",
        "capa_version",
        "flux",
        "document",
        "check_rules",
    )
    # The parsed document only locates findings: not part of the value.
    COMPARED = SHOWN = tuple(f for f in FIELDS if f != "document")
    name: str
    partition: str
    management: Management
    credentials: str
    accounts: tuple[Account, ...]
    check_exclude: tuple[str, ...]
    capa_version: str
    flux: fluxsource.FluxSettings
    document: yamlio.Document | None
    check_rules: tuple[RuleSetting, ...]

    def __init__(
        self,
        name: str,
        partition: str,
        management: Management,
        credentials: str,
        accounts: tuple[Account, ...],
        check_exclude: tuple[str, ...] = (),
        capa_version: str = DEFAULT_CAPA_VERSION,
        flux: fluxsource.FluxSettings | None = None,
        document: yamlio.Document | None = None,
        check_rules: tuple[RuleSetting, ...] = (),
    ) -> None:
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "partition", partition)
        set_(self, "management", management)
        set_(self, "credentials", credentials)
        set_(self, "accounts", accounts)
        set_(self, "check_exclude", check_exclude)
        set_(self, "capa_version", capa_version)
        set_(self, "flux", fluxsource.FluxSettings() if flux is None else flux)
        set_(self, "document", document)
        set_(self, "check_rules", check_rules)

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
