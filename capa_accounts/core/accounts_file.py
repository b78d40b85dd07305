"""Reading ``accounts.yaml`` (and the function's ``Account`` config): validated against its
schema, every error of form at once with file:line, into ``model``'s ``AccountSet``.

The shapes are ``model``'s; this module builds them and nothing in ``model`` imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from capa_accounts.core import eks_versions, fluxsource, regions, yamlio
from capa_accounts.core.aws import DEFAULT_NAME_SUFFIX
from capa_accounts.core.errors import ConfigError
from capa_accounts.core.model import (
    ACCOUNTS_FILE,
    DEFAULT_CAPA_VERSION,
    DEFAULT_SERVICE_ACCOUNT,
    INSTANCE_PROFILE,
    IRSA,
    MANAGEMENT,
    OPERATOR,
    RESERVED_NAMES,
    ROLE_IDENTITY,
    Account,
    AccountSet,
    Cluster,
    Management,
    RuleSetting,
    Suppression,
)
from capa_accounts.core.patches import Patch, from_entries, refusal
from capa_accounts.core.schema.accountset import ACCOUNT_CONFIG, ACCOUNT_SET, API_VERSION
from capa_accounts.core.schema.validator import Check, Violation, compile_schema, validate


@cache
def compiled_schema(which: str) -> Check:
    return compile_schema(ACCOUNT_SET if which == "AccountSet" else ACCOUNT_CONFIG)


def raise_first_violation(doc: yamlio.Document, violations: list[Violation]) -> None:
    """Every violation at once, in file order, as one ConfigError (the rest in ``more``)."""
    if not violations:
        return
    # A misspelt `acountId` also makes `accountId` missing: the unknown key, with its "did you
    # mean", is what the user has to edit, so a missing field beside an unknown key is left out.
    unknown_at = {v.path[:-1] for v in violations if v.code == "unknown"}
    shown = [v for v in violations if not (v.code == "required" and v.path in unknown_at)]
    ordered = sorted(
        shown, key=lambda v: (yamlio.position(doc.node, v.path, at_key=v.at_key), v.message)
    )
    errors = [_violation_error(doc, v) for v in ordered]
    first = errors[0]
    first.more = tuple(errors[1:])
    raise first


def _violation_error(doc: yamlio.Document, v: Violation) -> ConfigError:
    line, col = yamlio.position(doc.node, v.path, at_key=v.at_key)
    where = _dotted(v.path)
    message = v.message
    value = _value_at(doc.data, v.path)
    if v.code == "enum" and v.path and v.path[-1] == "kubernetesVersion" and isinstance(value, str):
        message = eks_versions.refusal(value)
    if v.code == "type" and isinstance(value, int | float) and not isinstance(value, bool):
        shown = doc_text_at(doc, v.path)
        message += f" (quote it: YAML reads {shown} as a number)"
    return ConfigError(f"{where}: {message}" if where else message, doc.file, line, col)


def doc_text_at(doc: yamlio.Document, path: tuple[str | int, ...]) -> str:
    _key, node = yamlio.node_at(doc.node, path)
    return str(getattr(node, "value", ""))


def _value_at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_account_set(
    repo: Path, file: str = ACCOUNTS_FILE, *, conflicts: bool = True
) -> AccountSet:
    """Read and validate ``accounts.yaml``; any error of form is a ConfigError with file:line."""
    docs = yamlio.load_documents(repo / file, file, require=True)
    if len(docs) != 1:
        raise ConfigError(
            "must hold exactly one AccountSet document", file, docs[1].node.start_mark.line + 1
        )
    return parse_account_set(docs[0], conflicts=conflicts)


def parse_account_set(doc: yamlio.Document, *, conflicts: bool = True) -> AccountSet:
    """``conflicts=False``: accounts that share a namespace or an identity name are kept, for
    ``check`` to report as CAPA-X001 findings; render and add-account refuse them."""
    data = doc.data
    if not isinstance(data, dict):
        raise ConfigError("must be a mapping (an AccountSet)", doc.file, 1)
    if data.get("kind") != "AccountSet" or data.get("apiVersion") != API_VERSION:
        line, col = yamlio.position(doc.node, ("kind",))
        raise ConfigError(
            f"expected apiVersion {API_VERSION} and kind AccountSet", doc.file, line, col
        )
    raise_first_violation(doc, validate(compiled_schema("AccountSet"), data))
    spec = data["spec"]
    mgmt = spec["management"]
    partition = spec.get("partition", "aws")
    credentials = spec.get("credentials", ROLE_IDENTITY)
    capa_version = (spec.get("operator") or {}).get("capaVersion", DEFAULT_CAPA_VERSION)
    management = Management(
        account_id=mgmt["accountId"],
        principal=mgmt.get("principal", "controllersRole"),
        name_prefix=mgmt.get("namePrefix", ""),
        name_suffix=mgmt.get("nameSuffix", DEFAULT_NAME_SUFFIX),
        workload_identity=mgmt.get("workloadIdentity", INSTANCE_PROFILE),
        oidc_provider_arn=mgmt.get("oidcProviderARN"),
        service_account=mgmt.get("serviceAccount", DEFAULT_SERVICE_ACCOUNT),
        namespaces=tuple(mgmt.get("namespaces", ())),
    )
    _check_workload_identity(doc, management, partition, credentials)
    for i, entry in enumerate(spec["accounts"]):
        check_entry(doc, ("spec", "accounts", i), entry, partition)
    accounts = tuple(
        account_from_entry(
            entry["name"],
            entry,
            partition,
            i,
            credentials=credentials,
            capa_version=capa_version,
        )
        for i, entry in enumerate(spec["accounts"])
    )
    account_set = AccountSet(
        name=(data.get("metadata") or {}).get("name", "accounts"),
        partition=partition,
        management=management,
        credentials=credentials,
        accounts=accounts,
        check_exclude=tuple((spec.get("check") or {}).get("exclude", [])),
        capa_version=capa_version,
        flux=_flux_settings(doc),
        document=doc,
        check_rules=tuple(
            RuleSetting(r["rule"], r["severity"], r["reason"], i)
            for i, r in enumerate((spec.get("check") or {}).get("rules", []))
        ),
    )
    _check_unique(account_set, doc, conflicts)
    _check_management_namespaces(account_set, doc)
    return account_set


def check_entry(
    doc: yamlio.Document, at: tuple[str | int, ...], entry: dict[str, Any], partition: str
) -> None:
    """What the schema cannot say of one account's settings: its regions are real regions of
    its partition (``regions``), and its patches leave the tool's fields alone (``patches``)."""
    partition = entry.get("partition", partition)
    places: list[tuple[str | int, ...]] = [("region",)]
    places += [
        ("clusters", c, "region")
        for c, cl in enumerate(entry.get("clusters") or [])
        if isinstance(cl, dict) and "region" in cl
    ]
    for place in places:
        value = _value_at(entry, place)
        why = regions.refusal(value, partition)
        if why:
            line, col = yamlio.position(doc.node, (*at, *place))
            raise ConfigError(f"{_dotted((*at, *place))}: {why}", doc.file, line, col)
    lists: list[tuple[str | int, ...]] = [("patches",)]
    lists += [("clusters", c, "patches") for c in range(len(entry.get("clusters") or []))]
    for where in lists:
        for p, item in enumerate(_value_at(entry, where) or []):
            refused = refusal(item)
            if refused:
                path = (*at, *where, p, *refused[0])
                line, col = yamlio.position(doc.node, path)
                raise ConfigError(f"{_dotted(path)}: {refused[1]}", doc.file, line, col)


def _flux_settings(doc: yamlio.Document) -> fluxsource.FluxSettings:
    settings = fluxsource.parse(doc.data["spec"])
    if settings.path.split("/", 1)[0] in fluxsource.RESERVED_TOPS:
        line, col = yamlio.position(doc.node, ("spec", "flux", "path"))
        raise ConfigError(
            f"spec.flux.path: {settings.path!r} is inside a directory render manages "
            f"({', '.join(t + '/' for t in fluxsource.RESERVED_TOPS)}): give a directory of "
            "its own, such as clusters/management",
            doc.file,
            line,
            col,
        )
    return settings


def _check_management_namespaces(account_set: AccountSet, doc: yamlio.Document) -> None:
    """management.namespaces: the management account's clusters, apart from every account's."""
    accounts = {a.namespace: a.name for a in account_set.accounts}
    for i, namespace in enumerate(account_set.management.namespaces):
        message = ""
        if account_set.credentials == OPERATOR:
            message = (
                "credentials: operator runs one CAPA per target account, none with the "
                "management account's credentials, so nothing would reconcile a cluster there"
            )
        elif namespace in accounts:
            message = (
                f"{namespace!r} is account {accounts[namespace]!r}'s namespace: the management "
                "account's clusters need a namespace of their own"
            )
        if message:
            line, col = yamlio.position(doc.node, ("spec", "management", "namespaces", i))
            raise ConfigError(f"spec.management.namespaces[{i}]: {message}", doc.file, line, col)


def _check_workload_identity(
    doc: yamlio.Document, management: Management, partition: str, credentials: str
) -> None:
    """The settings of management.workloadIdentity that only make sense together."""
    mgmt = doc.data["spec"]["management"]

    def fail(key: str, message: str) -> None:
        line, col = yamlio.position(doc.node, ("spec", "management", key))
        raise ConfigError(f"spec.management.{key}: {message}", doc.file, line, col)

    chosen = management.workload_identity
    if chosen != INSTANCE_PROFILE and "workloadIdentity" in mgmt:
        if management.principal == "bootstrapUser":
            fail(
                "workloadIdentity",
                f"{chosen} gives CAPA the controllers role, but "
                "principal: bootstrapUser runs CAPA with the bootstrap user's keys; "
                "use principal: controllersRole",
            )
        if credentials == OPERATOR:
            fail(
                "workloadIdentity",
                f"{chosen} does not apply to credentials: operator, "
                "where each account's CAPA runs with that account's keys",
            )
    for key in ("oidcProviderARN", "serviceAccount"):
        if key in mgmt and chosen != IRSA:
            fail(key, "is used only with workloadIdentity: irsa")
    if chosen != IRSA:
        return
    arn = management.oidc_provider_arn
    if arn is None:
        fail(
            "workloadIdentity",
            "irsa needs oidcProviderARN: the management cluster's IAM "
            "OIDC provider, which the controllers role must trust",
        )
        return
    arn_partition, account = arn.split(":")[1], arn.split(":")[4]
    if account != management.account_id or arn_partition != partition:
        fail(
            "oidcProviderARN",
            f"names account {account} in partition {arn_partition}, but "
            f"the controllers role is in {management.account_id} ({partition}): a role can "
            "trust only an OIDC provider of its own account",
        )


def account_from_entry(
    name: str,
    entry: dict[str, Any],
    partition: str,
    index: int,
    *,
    credentials: str = ROLE_IDENTITY,
    capa_version: str = DEFAULT_CAPA_VERSION,
) -> Account:
    region = entry["region"]
    version = entry["kubernetesVersion"]
    entries = entry.get("clusters") or [{"name": name}]
    decommissioning = bool(entry.get("decommissioning", False))
    clusters = tuple(
        Cluster(c["name"], c.get("region", region), c.get("kubernetesVersion", version))
        for c in entries
        if not decommissioning and not c.get("decommissioning", False)
    )
    return Account(
        name=name,
        account_id=entry["accountId"],
        region=region,
        kubernetes_version=version,
        namespace=entry.get("namespace", name),
        identity_name=entry.get("identityName", f"{name}-identity"),
        partition=entry.get("partition", partition),
        name_prefix=entry.get("namePrefix", ""),
        name_suffix=entry.get("nameSuffix", DEFAULT_NAME_SUFFIX),
        # STS allows 64 characters; the prefix tells CloudTrail readers who assumed the role.
        session_name=entry.get("sessionName", f"capa-{name}"[:64]),
        external_id=entry.get("externalID"),
        duration_seconds=entry.get("durationSeconds"),
        iam_role_creation=bool(entry.get("iamRoleCreation", False)),
        clusters=clusters,
        decommissioning=decommissioning,
        decommissioned=tuple(c["name"] for c in entries if c.get("decommissioning", False)),
        admission_policy=bool(entry.get("admissionPolicy", True)),
        suppress=tuple(Suppression(s["rule"], s["reason"]) for s in entry.get("suppress", [])),
        patches=_patches(entry, index),
        index=index,
        credentials=credentials,
        capa_version=capa_version,
    )


def _patches(entry: dict[str, Any], index: int) -> tuple[Patch, ...]:
    at: tuple[str | int, ...] = ("spec", "accounts", index)
    out = from_entries(entry.get("patches"), (*at, "patches"))
    for c, cluster in enumerate(entry.get("clusters") or []):
        out += from_entries(
            cluster.get("patches"), (*at, "clusters", c, "patches"), cluster["name"]
        )
    return out


def _check_unique(account_set: AccountSet, doc: yamlio.Document, conflicts: bool) -> None:
    """Names, namespaces and identity names are global: two accounts sharing one is CAPA-X001."""
    seen: dict[tuple[str, str], int] = {}
    for account in account_set.accounts:
        i = account.index
        if account.name in RESERVED_NAMES:
            line, col = yamlio.position(doc.node, ("spec", "accounts", i, "name"))
            raise ConfigError(
                f"account name {account.name!r} is reserved for overlays/{MANAGEMENT} and "
                "its Flux Kustomizations",
                doc.file,
                line,
                col,
            )
        checks: Iterable[tuple[str, str, tuple[str | int, ...]]] = (
            ("name", account.name, ("spec", "accounts", i, "name")),
            (
                "namespace",
                account.namespace,
                ("spec", "accounts", i, "namespace" if "namespace" in _entry(doc, i) else "name"),
            ),
            (
                "identity name",
                account.identity_name,
                (
                    "spec",
                    "accounts",
                    i,
                    "identityName" if "identityName" in _entry(doc, i) else "name",
                ),
            ),
        )
        for what, value, path in checks:
            if (what, value) in seen and (conflicts or what == "name"):
                line, col = yamlio.position(doc.node, path)
                other = account_set.accounts[seen[(what, value)]].name
                raise ConfigError(
                    f"[CAPA-X001] {what} {value!r} is already used by account "
                    f"{other!r}: accounts must not share a {what}",
                    doc.file,
                    line,
                    col,
                )
            seen[(what, value)] = i
        names: set[object] = set()
        entries = _entry(doc, i).get("clusters") or []
        for c, cluster in enumerate(entries):
            name = cluster.get("name") if isinstance(cluster, dict) else None
            if name in names:
                line, col = yamlio.position(
                    doc.node, ("spec", "accounts", i, "clusters", c, "name")
                )
                raise ConfigError(
                    f"cluster {name!r} appears twice in account {account.name!r}",
                    doc.file,
                    line,
                    col,
                )
            names.add(name)


def _entry(doc: yamlio.Document, index: int) -> dict[str, Any]:
    entry = doc.data["spec"]["accounts"][index]
    return entry if isinstance(entry, dict) else {}
