"""Converting CustomResourceDefinitions into validator schemas (``check --crd PATH``).

A CRD's ``openAPIV3Schema`` (one per served version) is already a structural schema; the
conversion keeps the keywords that decide validity and applies the API server's semantics
that plain JSON schema lacks (k8s.io/apiextensions-apiserver ``pkg/apiserver/schema``):

- objects are closed: a key not in ``properties`` is pruned, and rejected under strict field
  validation (server-side apply, as Flux does), unless ``x-kubernetes-preserve-unknown-fields``
  is set; an object with neither ``properties`` nor ``additionalProperties`` keeps no key;
- the root ``metadata`` is ObjectMeta, validated by the server whatever the CRD says;
- defaults are applied before validation, so a ``required`` key that has a ``default`` can
  never be missing;
- ``description``, ``default``, ``example``, ``format``, ``x-kubernetes-list-type`` and
  ``x-kubernetes-validations`` do not enter the structural check (formats such as
  ``date-time`` and list uniqueness are not checked; CEL rules live in ``cel_rules``).

``load_crds`` reads files or directories of CRDs, multi-document files included (a CAPA
release's ``infrastructure-components.yaml``), and skips every document that is not a CRD.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from capa_accounts.core import yamlio
from capa_accounts.core.errors import InputError
from capa_accounts.core.schema.core import OBJECT_META
from capa_accounts.core.schema.validator import Check, compile_schema

Key = tuple[str, str]
Schema = dict[str, Any]

# Keywords the validator checks with the same meaning as in the CRD.
_KEPT = (
    "type",
    "nullable",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
)
_JUNCTORS = ("anyOf", "oneOf", "allOf")
_CRD_API_GROUP = "apiextensions.k8s.io/"


def convert(schema: Schema) -> Schema:
    """Convert one version's ``openAPIV3Schema`` into a validator schema dict."""
    out = _convert(schema, in_junctor=False)
    properties = out.setdefault("properties", {})
    # apiVersion, kind and metadata are implicit at the root of every custom resource.
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    properties["metadata"] = OBJECT_META
    return out


def _convert(schema: Schema, *, in_junctor: bool) -> Schema:
    out: Schema = {k: schema[k] for k in _KEPT if k in schema}
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {
            name: _convert(sub, in_junctor=False)
            for name, sub in properties.items()
            if isinstance(sub, dict)
        }
        required = [
            name
            for name in schema.get("required") or []
            if not (isinstance(properties.get(name), dict) and "default" in properties[name])
        ]
        if required:
            out["required"] = required
    elif schema.get("required"):
        out["required"] = list(schema["required"])
    items = schema.get("items")
    if isinstance(items, dict):
        out["items"] = _convert(items, in_junctor=in_junctor)
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        out["additionalProperties"] = _convert(additional, in_junctor=in_junctor)
    elif isinstance(additional, bool):
        out["additionalProperties"] = additional
    for key in _JUNCTORS:
        if isinstance(schema.get(key), list):
            out[key] = [_convert(branch, in_junctor=True) for branch in schema[key]]
    if in_junctor:
        # Inside anyOf/oneOf/allOf, ``properties`` constrain values but declare no fields:
        # pruning follows the enclosing schema only (structural schema rules).
        if "properties" in out:
            out["x-kubernetes-preserve-unknown-fields"] = True
    elif (
        out.get("type") == "object"
        and "properties" not in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
        and not out.get("x-kubernetes-embedded-resource")
    ):
        out["additionalProperties"] = False
    return out


def crd_schemas(document: Any) -> dict[Key, Schema]:
    """The converted schema of every served version of one CRD document ({} if not a CRD)."""
    if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
        return {}
    if not str(document.get("apiVersion", "")).startswith(_CRD_API_GROUP):
        return {}
    spec = document.get("spec")
    if not isinstance(spec, dict):
        raise ValueError("CustomResourceDefinition without spec")
    group = spec.get("group")
    kind = (spec.get("names") or {}).get("kind")
    if not isinstance(group, str) or not isinstance(kind, str):
        raise ValueError("CustomResourceDefinition without spec.group or spec.names.kind")
    # apiextensions.k8s.io/v1beta1 allowed one schema for all versions in spec.validation.
    shared = (spec.get("validation") or {}).get("openAPIV3Schema")
    versions = spec.get("versions") or [{"name": spec.get("version"), "served": True}]
    out: dict[Key, Schema] = {}
    for version in versions:
        if not isinstance(version, dict) or not version.get("served", True):
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema") or shared
        if not isinstance(schema, dict):
            schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        out[(f"{group}/{version.get('name')}", kind)] = convert(schema)
    return out


def _files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            )
        elif path.exists():
            files.append(path)
        else:
            raise InputError("no such file or directory", str(path))
    return files


def load_crd_schemas(paths: Iterable[str | Path]) -> dict[Key, Schema]:
    """Converted schemas of every CRD in the given files and directories."""
    out: dict[Key, Schema] = {}
    for path in _files(paths):
        # The input layer's bounds and safe loading; the user names these files on the command
        # line, so they may live outside the repository (confine=False).
        for document in yamlio.load_documents(path, str(path), confine=False):
            try:
                out.update(crd_schemas(document.data))
            except (ValueError, TypeError, AttributeError) as err:
                raise InputError(
                    f"malformed CustomResourceDefinition: {err}",
                    str(path),
                    document.node.start_mark.line + 1,
                ) from err
    return out


def load_crds(paths: Iterable[str | Path]) -> dict[Key, Check]:
    """Compiled checks of every served CRD version in the given files and directories."""
    checks: dict[Key, Check] = {}
    for key, schema in load_crd_schemas(paths).items():
        try:
            checks[key] = compile_schema(schema)
        except re.error as err:
            raise InputError(f"CRD {key[1]} ({key[0]}) has an invalid pattern: {err}") from err
    return checks
