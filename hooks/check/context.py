"""The index rules read: every object once, keyed the ways cross-resource rules need.

Objects are judged as the API server would store them: keys the schema does not know are an
R004 finding and are absent here (a misspelt ``allowedNamespaces.lists`` reads as an empty
``allowedNamespaces``, which admits every namespace).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from capa_accounts.core import layout, yamlio
from capa_accounts.core.finding import Finding, Location, ResourceRef, Severity
from capa_accounts.core.model import Account, AccountSet
from capa_accounts.core.record import Mutable
from capa_accounts.core.resources import (
    CONTROL_PLANE,
    CONTROLLER_IDENTITY,
    CONTROLPLANE_GROUP,
    IAM_CONFIG_GROUP,
    IDENTITY_USERS,
    INFRA_GROUP,
    ROLE_IDENTITY,
    STATIC_IDENTITY,
    ResourceId,
    group_of,
)
from capa_accounts.core.schema.validator import Violation
from capa_accounts.hooks.check.repository import Loaded, Source

PathT = tuple[str | int, ...]


class Obj(Mutable):
    """One Kubernetes object (or clusterawsadm config) with where it came from."""

    FIELDS = ("doc", "source", "data", "id", "violations")
    doc: yamlio.Document
    source: Source
    data: dict[str, Any]  # as stored: unknown fields pruned
    id: ResourceId
    violations: list[Violation]

    def __init__(
        self,
        doc: yamlio.Document,
        source: Source,
        data: dict[str, Any],
        id: ResourceId,
        violations: list[Violation] | None = None,
    ) -> None:
        self.doc = doc
        self.source = source
        self.data = data
        self.id = id
        self.violations = [] if violations is None else violations

    @property
    def file(self) -> str:
        return self.doc.file

    @property
    def kind(self) -> str:
        return self.id.kind

    @property
    def name(self) -> str:
        return self.id.name

    @property
    def namespace(self) -> str:
        return self.id.namespace

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.data.get("spec")
        return spec if isinstance(spec, dict) else {}

    def get(self, *path: str | int) -> Any:
        value: Any = self.data
        for part in path:
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
                value = value[part]
            else:
                return None
        return value

    def has(self, *path: str | int) -> bool:
        value: Any = self.data
        for part in path:
            # Two branches, so that mypy narrows ``part`` for each container.
            if isinstance(value, dict) and part in value:  # noqa: SIM114
                value = value[part]
            elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
                value = value[part]
            else:
                return False
        return True

    def ref(self) -> ResourceRef:
        return ResourceRef(
            str(self.data.get("apiVersion") or ""), self.kind, self.name, self.namespace
        )

    def location(self, path: PathT = (), *, at_key: bool = False) -> Location:
        line, column = yamlio.position(self.doc.node, path, at_key=at_key)
        return Location(self.file, line, column)


def _prune(data: Any, violations: list[Violation]) -> Any:
    unknown = [v.path for v in violations if v.code == "unknown"]
    if not unknown:
        return data
    data = copy.deepcopy(data)
    for path in unknown:
        parent = data
        for part in path[:-1]:
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                parent = None
                break
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    return data


T = TypeVar("T")


def _stem(file: str) -> str:
    """``Path(file).stem`` without a Path: called for every bootstrap object, many times."""
    name = file.rpartition("/")[2]
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


class Context:
    """Objects of one repository, indexed once; rules only read it. What several rules share
    and compute once (render's plan, the credential scan's findings) goes through ``memo``,
    never through attributes a rule sets."""

    def __init__(self, loaded: Loaded, schema: Any = None, shared: Context | None = None) -> None:
        """``shared``: another state of the repository judged with the same kind of schema
        (``check --base``'s working tree): a document it holds from the same source is the
        same object, not validated again."""
        self._memo: dict[str, Any] = {}
        self.schema = schema
        self.root: Path = loaded.root
        self.loaded = loaded
        self.account_set: AccountSet | None = loaded.account_set
        self.base_ref: str | None = None
        # The objects at ``base_ref``, judged as stored (pruned): read once, by the engine.
        self.base: Context | None = None
        self.crds: tuple[Path, ...] = ()
        # Whether what is judged is the whole set: a repository is; a stream (``check -``) is
        # one build unless the user declares it complete, and what it does not show may be
        # applied elsewhere.
        self.stream: bool = False
        # Declared by the user (`--management-account`) where no accounts.yaml says it.
        self.management_account: str | None = None
        self.complete: bool = True
        self.objects: list[Obj] = []
        self.by_kind: dict[str, list[Obj]] = defaultdict(list)
        self.by_id: dict[ResourceId, list[Obj]] = defaultdict(list)
        known: dict[tuple[int, Source], Obj] = {}
        if shared is not None and (shared.schema is None) == (schema is None):
            known = {(id(o.doc), o.source): o for o in shared.objects}
        for doc, source in loaded.documents:
            if not isinstance(doc.data, dict):
                continue
            obj = known.get((id(doc), source))  # the same document object: alive in both
            if obj is None:
                # Render's own output, judged with the plan, is not judged again (verified.py).
                judged = getattr(doc, "verified", False)
                violations = schema(doc.data) if schema and not judged else []
                obj = Obj(
                    doc, source, _prune(doc.data, violations), ResourceId.of(doc.data), violations
                )
            self.objects.append(obj)
            self.by_kind[obj.kind].append(obj)
            self.by_id[obj.id].append(obj)
        self.accounts_by_namespace: dict[str, Account] = {}
        self.accounts_by_identity: dict[str, Account] = {}
        self.accounts_by_overlay: dict[str, Account] = {}
        self.accounts_by_name: dict[str, Account] = {}
        if self.account_set:
            for account in self.account_set.accounts:
                self.accounts_by_name.setdefault(account.name, account)
                self.accounts_by_namespace.setdefault(account.namespace, account)
                self.accounts_by_identity.setdefault(account.identity_name, account)
                self.accounts_by_overlay[layout.overlay(account.name)] = account

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per check run, shared by every rule that asks for ``key``."""
        if key not in self._memo:
            self._memo[key] = compute()
        value: T = self._memo[key]
        return value

    # --- lookups ----------------------------------------------------------------------------

    def applied(self, kind: str, group: str | None = None) -> Iterator[Obj]:
        """Objects of a kind that Flux applies (from an overlay or a loose file)."""
        for obj in self.by_kind.get(kind, ()):
            if group is None or obj.id.group == group:
                yield obj

    def identities(self, kind: str | None = None) -> Iterator[Obj]:
        for k in (CONTROLLER_IDENTITY, ROLE_IDENTITY, STATIC_IDENTITY):
            if kind is None or kind == k:
                yield from self.applied(k, INFRA_GROUP)

    def identity(self, kind: str, name: str) -> Obj | None:
        found = self.by_id.get(ResourceId(INFRA_GROUP, kind, "", name))
        return found[0] if found else None

    def control_planes(self) -> Iterator[Obj]:
        return self.applied(CONTROL_PLANE, CONTROLPLANE_GROUP)

    def identity_users(self) -> Iterator[Obj]:
        """Every object whose ``spec.identityRef`` picks CAPA's credentials (IDENTITY_USERS)."""
        for group, kind in IDENTITY_USERS:
            yield from self.applied(kind, group)

    def iam_configs(self) -> Iterator[Obj]:
        for obj in self.by_kind.get("AWSIAMConfiguration", ()):
            if group_of(obj.data.get("apiVersion")) == IAM_CONFIG_GROUP:
                yield obj

    def account_of(self, obj: Obj) -> Account | None:
        """The declared account an object belongs to: by overlay, bootstrap file or namespace."""
        if obj.source.overlay and obj.source.overlay in self.accounts_by_overlay:
            return self.accounts_by_overlay[obj.source.overlay]
        if obj.kind == ROLE_IDENTITY and obj.name in self.accounts_by_identity:
            return self.accounts_by_identity[obj.name]
        if self.account_set and obj.file.startswith(f"{layout.BOOTSTRAP}/"):
            return self.accounts_by_name.get(_stem(obj.file))
        return self.accounts_by_namespace.get(obj.namespace) if obj.namespace else None

    @property
    def whole(self) -> str:
        """How messages name what is judged."""
        return "this stream" if self.stream else "the repository"

    # --- findings ---------------------------------------------------------------------------

    def finding(
        self,
        rule: str,
        severity: Severity,
        obj: Obj,
        path: PathT,
        message: str,
        *,
        at_key: bool = False,
        related: tuple[Location, ...] = (),
    ) -> Finding:
        loc = obj.location(path, at_key=at_key)
        return Finding(rule, severity, loc.file, loc.line, loc.column, message, obj.ref(), related)

    def config_finding(
        self,
        rule: str,
        severity: Severity,
        path: PathT,
        message: str,
        *,
        at_key: bool = False,
        related: tuple[Location, ...] = (),
    ) -> Finding:
        """A finding in accounts.yaml at ``path``."""
        line, column = self.account_set.locate(path, at_key=at_key) if self.account_set else (1, 1)
        return Finding(rule, severity, "accounts.yaml", line, column, message, None, related)

    def config_location(self, path: PathT) -> Location:
        if self.account_set is None:
            return Location("accounts.yaml")
        line, column = self.account_set.locate(path)
        return Location("accounts.yaml", line, column)
