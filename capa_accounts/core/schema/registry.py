"""The registry of built-in schemas: which ``(apiVersion, kind)`` has one, compiled once.

Rule CAPA-R004 asks ``schema_check(api_version, kind)`` for every object it reads. Schemas
are gathered from the per-family modules (each exports ``SCHEMAS``), plus two modules owned
elsewhere that are picked up when present: ``accountset`` (the project's own AccountSet and
Account) and ``k8s_admission`` (ValidatingAdmissionPolicy and its binding). A kind without a
schema gets ``None``: it is passed, not failed, as the API server would judge it by a CRD
this tool does not know.
"""

from __future__ import annotations

import importlib
from typing import Any

from capa_accounts.core.schema import (
    awscluster,
    capi,
    core,
    eks,
    flux,
    iam,
    identities,
    operator,
    rosa,
)
from capa_accounts.core.schema.validator import Check, compile_schema

Key = tuple[str, str]

_OPTIONAL_MODULES = (
    "capa_accounts.core.schema.accountset",
    "capa_accounts.core.schema.k8s_admission",
)

_schemas: dict[Key, dict[str, Any]] | None = None
_compiled: dict[Key, Check] = {}


def _load_optional(name: str) -> dict[Key, dict[str, Any]]:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:
        # Only the module's own absence is expected; a broken import inside it is a bug
        # that must surface, not a silently missing schema.
        if err.name == name:
            return {}
        raise
    return dict(getattr(module, "SCHEMAS", {}))


def schemas() -> dict[Key, dict[str, Any]]:
    """Every built-in schema dict by ``(apiVersion, kind)`` (read-only by convention)."""
    global _schemas
    if _schemas is None:
        merged: dict[Key, dict[str, Any]] = {}
        for module in (core, identities, eks, awscluster, rosa, capi, flux, operator, iam):
            merged.update(module.SCHEMAS)
        for name in _OPTIONAL_MODULES:
            merged.update(_load_optional(name))
        _schemas = merged
    return _schemas


def removed_reason(api_version: str, kind: str, path: tuple[Any, ...]) -> str | None:
    """Why a key upstream removed is no longer read (``REMOVED`` of a schema module), if it
    is one."""
    return iam.REMOVED.get((api_version, kind), {}).get(tuple(path))


def schema_for(api_version: str, kind: str) -> dict[str, Any] | None:
    return schemas().get((api_version, kind))


def schema_check(api_version: str, kind: str) -> Check | None:
    """The compiled check for a kind, or None when the kind has no built-in schema."""
    key = (api_version, kind)
    check = _compiled.get(key)
    if check is None:
        schema = schemas().get(key)
        if schema is None:
            return None
        check = _compiled[key] = compile_schema(schema)
    return check
