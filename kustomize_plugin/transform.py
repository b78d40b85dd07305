"""The transformation at the heart of the KRM function: base items + one Account → its items.

One function over mappings, shared by every path: ``render`` passes plain dicts, the ``fn``
path passes ruamel.yaml's round-trip maps (dict subclasses that keep comments). It fills only
the fields it owns and passes everything else through in order; it is deterministic and
idempotent (``transform(transform(x)) == transform(x)``).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

from capa_accounts.core import patches
from capa_accounts.core.finding import INPUT_ERROR, Finding, Location, ResourceRef
from capa_accounts.core.model import ACCOUNTS_FILE, OPERATOR, Account
from capa_accounts.core.resources import (
    ACCOUNT_LABEL,
    CONTROLLER_IDENTITY,
    DEFAULT_IDENTITY,
    INFRA_GROUP,
    ROLE_IDENTITY,
    STATIC_IDENTITY,
    group_of,
    is_cluster_scoped,
    is_identity,
)
from capa_accounts.kustomize_plugin import clusters, operator_mode
from capa_accounts.kustomize_plugin.items import (
    Item,
    as_mapping,
    assign,
    assign_after,
    ensure_meta,
    ensure_spec,
    set_label,
)

# Where render reports a base problem: the function's refusals name no file of their own.
BASE = "base"
Locate = Callable[[patches.Path], Location]


def _refusal(message: str, item: Item | None = None) -> Finding:
    """A refusal of the base (render raises it for ``base``; the KRM function returns it in
    ``results``), about ``item`` when one object is at fault."""
    return Finding(INPUT_ERROR, "error", BASE, 1, 1, message, _ref(item) if item else None)


def _ref(item: Item) -> ResourceRef:
    meta = as_mapping(item.get("metadata"))
    return ResourceRef(
        *(
            "" if value is None else str(value)
            for value in (
                item.get("apiVersion"),
                item.get("kind"),
                meta.get("name"),
                meta.get("namespace"),
            )
        )
    )


def _in_accounts_file(path: patches.Path) -> Location:
    return Location(ACCOUNTS_FILE)


class Outcome:
    """What the KRM function returns: the items, and the results it reports."""

    def __init__(self, items: list[Item], results: list[Finding] | None = None) -> None:
        self.items = items
        self.results: list[Finding] = [] if results is None else results

    def __repr__(self) -> str:
        return f"Outcome(items={self.items!r}, results={self.results!r})"

    @property
    def failed(self) -> bool:
        return any(r.severity == "error" for r in self.results)


def transform(items: list[Item], account: Account, locate: Locate = _in_accounts_file) -> Outcome:
    """Fill one account's settings into base items; errors refuse unsafe input.

    In operator mode (``account.credentials``) the account's CAPA provider comes along and the
    role identity stays behind (``operator_mode``). ``locate`` places a path of accounts.yaml
    (a patch that matches nothing is reported there).
    """
    operator = account.credentials == OPERATOR
    results: list[Finding] = []
    for item in items:
        if not isinstance(item, MutableMapping):
            return Outcome(items, [_refusal("every item must be a mapping")])
        if group_of(item.get("apiVersion")) == INFRA_GROUP:
            if item.get("kind") == STATIC_IDENTITY:
                results.append(
                    _refusal(
                        "AWSClusterStaticIdentity in the base: long-lived keys are refused "
                        "(CAPA-I008); use the account's role identity",
                        item,
                    )
                )
            elif item.get("kind") == CONTROLLER_IDENTITY:
                results.append(
                    _refusal(
                        "AWSClusterControllerIdentity in the base: `default` is a singleton that "
                        "render writes once into overlays/management",
                        item,
                    )
                )
    roles = [i for i in items if is_identity(i) and i.get("kind") == ROLE_IDENTITY]
    if len(roles) != 1 and not (operator and not roles):
        results.append(
            _refusal(f"the base must hold exactly one AWSClusterRoleIdentity, found {len(roles)}")
        )
    namespaces = [
        i
        for i in items
        if i.get("apiVersion") == "v1"
        and i.get("kind") == "Namespace"
        and not (operator and operator_mode.is_provider_item(i, account))
    ]
    if len(namespaces) > 1:
        results.append(_refusal("the base may hold at most one Namespace (the account's)"))
    if operator:
        items, refused = operator_mode.account_items(items, account)
        results += [_refusal(refused)] if refused else []
    if results:
        return Outcome(items, results)
    items, unmatched = clusters.instantiate(items, account)
    if unmatched:
        return Outcome(items, [_refusal(unmatched)])
    for item in items:
        if not (operator and operator_mode.is_provider_item(item, account)):
            _fill(item, account)
    patched = _apply_patches(items, account, locate)
    if patched:
        return Outcome(items, patched)
    return Outcome(operator_mode.with_provider(items, account) if operator else items, [])


def _apply_patches(items: list[Item], account: Account, locate: Locate) -> list[Finding]:
    """The account's and its clusters' ``patches`` (core/patches), after every field the
    function owns is filled: a patch that matches no object is an error, never ignored, at
    the patch in accounts.yaml."""
    results: list[Finding] = []
    for patch in account.patches:
        targets = [i for i in items if patches.matches(patch, i)]
        if not targets:
            at = locate(patch.at)
            message = f"{patch.describe()} matches no object of account {account.name!r}"
            results.append(Finding(INPUT_ERROR, "error", at.file, at.line, at.column, message))
        for item in targets:
            patches.merge(item, patch.patch)
    return results


def _fill(item: Item, account: Account) -> None:
    kind = item.get("kind")
    if not is_cluster_scoped(item.get("apiVersion"), kind):
        assign_after(ensure_meta(item), "namespace", account.namespace, "name")
    if kind == "Namespace" and item.get("apiVersion") == "v1":
        assign(ensure_meta(item), "name", account.namespace)
        set_label(item, ACCOUNT_LABEL, account.name)
    elif kind == ROLE_IDENTITY and is_identity(item):
        _fill_role_identity(item, account)


def _fill_role_identity(item: Item, account: Account) -> None:
    meta = ensure_meta(item)
    meta.pop("namespace", None)  # cluster-scoped (awsidentity_types.go:109)
    assign(meta, "name", account.identity_name)
    spec = ensure_spec(item)
    assign(spec, "roleARN", account.role_arn)
    assign(spec, "sourceIdentityRef", {"kind": CONTROLLER_IDENTITY, "name": DEFAULT_IDENTITY})
    assign(spec, "allowedNamespaces", {"list": [account.namespace]})
    assign(spec, "sessionName", account.session_name)
    if account.external_id is not None:
        assign(spec, "externalID", account.external_id)
    if account.duration_seconds is not None:
        assign(spec, "durationSeconds", account.duration_seconds)
