"""Schemas (CAPA-R004, R011): every object against its schema and its CRD's served versions,
and the stored view other rules judge.

The schemas are the project's own (``capa_accounts.core.schema``), compiled once per process;
``check --crd PATH`` adds user-supplied CRDs, which take precedence for their kinds. A key the
schema does not know is a finding here and is pruned from the object before any other rule
reads it, as the API server would store it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from capa_accounts.core.finding import Severity
from capa_accounts.core.iam_policy import dig
from capa_accounts.core.resources import is_iam_config
from capa_accounts.core.schema.cel_rules import BUILTIN_RULES, _nodes, cel_rules
from capa_accounts.core.schema.iam_effect import Effect, ignored_key
from capa_accounts.core.schema.registry import removed_reason, schema_check
from capa_accounts.core.schema.served import CAPA_RELEASE, builtin_unserved, served_versions
from capa_accounts.core.schema.validator import Check, Violation
from capa_accounts.hooks.check.context import Context, Obj
from capa_accounts.hooks.rules import Reporter, rule

Validate = Callable[[dict[str, Any]], list[Violation]]


@functools.lru_cache(maxsize=4)
def _user_crds(crds: tuple[Path, ...], _stamp: tuple[tuple[str, int], ...]) -> dict[Any, Check]:
    from capa_accounts.core.schema.crd import load_crds

    return load_crds(crds)


def user_crds(crds: tuple[Path, ...]) -> dict[tuple[str, str], Check]:
    """The compiled served versions of ``check --crd`` files, read once per check (CAPA-R004
    validates with them, R011 asks which versions they serve)."""
    if not crds:
        return {}
    stamp = tuple((str(p), p.stat().st_mtime_ns if p.exists() else -1) for p in crds)
    return _user_crds(crds, stamp)


def stored_view_validator(crds: tuple[Path, ...] = ()) -> Validate:
    user = user_crds(crds)

    def validate(data: dict[str, Any]) -> list[Violation]:
        key = (str(data.get("apiVersion") or ""), str(data.get("kind") or ""))
        check = user.get(key) or schema_check(*key)
        out: list[Violation] = []
        if check is not None:
            check(data, (), out)
        rules = BUILTIN_RULES.get(key)
        # cel-python is imported only when an object holds a field a CEL rule binds to.
        if rules and not out and any(next(_nodes(data, r.path), None) for r in rules):
            cel = cel_rules(*key)
            if cel is not None:
                out.extend(cel(data))
        return out

    return validate


@rule("CAPA-R004", name="SchemaViolation")
def check_r004(ctx: Context, report: Reporter) -> None:
    """A resource violates its schema: unknown field, wrong type, bad enum or pattern.

    Why: an unknown field makes Flux's server-side apply reject the whole Kustomization (every
    object of that account stops reconciling), while a client-side `kubectl apply` prunes it
    without a word; clusterawsadm decodes AWSIAMConfiguration without strict mode
    (cmd/clusterawsadm/configreader/configreader.go), so a misspelt key such as the CAPA docs'
    `clusterAPIControllers.disabled` silently does nothing. Every other rule judges the object
    without the unknown key, as the API server would store it: `allowedNamespaces: {lists: [a]}`
    is stored as `{}`, which admits every namespace (CAPA-I002).

    In a clusterawsadm configuration an unknown key is judged by its effect: where it most
    likely means a known field and the value written equals that field's default
    (`clusterAPIControllers.disabled: false`, v1alpha1 `eks.enable: true`), nothing changes,
    so it is a warning with the field to write; where the value differs (`disabled: true`),
    the intent is silently lost: an error.

    Bad:
        spec:
          identityref:            # unknown: the control plane has no identityRef (CAPA-C001)
            kind: AWSClusterRoleIdentity
            name: staging-identity

    Good:
        spec:
          identityRef:
            kind: AWSClusterRoleIdentity
            name: staging-identity

    Fix: correct the key or value the finding names (the message suggests the nearest known
    key); `check --crd infrastructure-components.yaml` validates against your CAPA release.
    """
    for obj in ctx.objects:
        for violation in obj.violations:
            where = ".".join(str(p) for p in violation.path)
            message = f"{where}: {violation.message}" if where else violation.message
            removed = (
                removed_reason(str(obj.data.get("apiVersion") or ""), obj.kind, violation.path)
                if violation.code == "unknown"
                else None
            )
            if removed:
                message = f"{where}: {removed}"
            severity: Severity | None = None
            effect = _ignored_by_clusterawsadm(obj, violation)
            if effect is not None:
                key = str(violation.path[-1])
                written = dig(obj.doc.data, *violation.path)
                ignored = (
                    "" if removed else ": clusterawsadm ignores it (its decoder is not strict)"
                )
                message = f"{message}{ignored}; {effect.describe(key, written)}"
                severity = "warning" if effect.same else "error"
            report.at(obj, violation.path, message, at_key=violation.at_key, severity=severity)


def _ignored_by_clusterawsadm(obj: Obj, violation: Violation) -> Effect | None:
    """What an unknown key of a clusterawsadm configuration does (nothing), judged by whether
    the field it meant keeps the value the writer wanted anyway."""
    if violation.code != "unknown" or not is_iam_config(obj.data):
        return None
    written = dig(obj.doc.data, *violation.path)
    return ignored_key(str(obj.data.get("apiVersion")), tuple(violation.path), written)


def _unserved(user: dict[tuple[str, str], Check], api_version: str, kind: str) -> str | None:
    """Why ``api_version`` of ``kind`` is refused, or None if it is served (or unknown)."""
    if user:
        served = served_versions(user, api_version, kind)
        if served:
            if (api_version, kind) in user:
                return None
            return f"the CRDs given with --crd serve {kind} only as {', '.join(served)}"
    instead = builtin_unserved(api_version, kind)
    if instead is None:
        return None
    return f"CAPA serves {kind} only as {instead} since {CAPA_RELEASE} (v1beta1 is served: false)"


@rule("CAPA-R011", name="UnservedApiVersion")
def check_unserved_version(ctx: Context, report: Reporter) -> None:
    """A resource is written in an API version its CRD no longer serves.

    Why: the API server answers "no matches for kind ... in version ...", so Flux's
    server-side dry-run of the Kustomization fails and none of its objects is applied. CAPA
    v2.4.0 stopped serving every v1beta1 type (commit 827ee1d1, "Stop serving v1beta1 API
    types": the CRDs in config/crd/bases/ list v1beta1 with `served: false`), yet CAPA's
    multitenancy docs still write `infrastructure.cluster.x-k8s.io/v1beta1` identities.
    Cluster API's own kinds in the same groups (`KubeadmControlPlane`) still serve v1beta1 and
    are not reported. With `check --crd`, the served flags of the given CRDs decide for the
    kinds they define.

    Bad:
        apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
        kind: AWSClusterRoleIdentity

    Good:
        apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
        kind: AWSClusterRoleIdentity

    Fix: write the served version; the identities' v1beta2 fields are the same as v1beta1's.
    """
    user = user_crds(ctx.crds)
    for obj in ctx.objects:
        api_version = obj.data.get("apiVersion")
        if not isinstance(api_version, str):
            continue
        why = _unserved(user, api_version, obj.kind)
        if why:
            report.at(
                obj,
                ("apiVersion",),
                f"apiVersion {api_version} is not served: {why}; the API server refuses "
                f"this {obj.kind} and Flux fails the whole Kustomization",
            )
