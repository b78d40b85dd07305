"""The KRM function's config: an ``Account``, or a ``ConfigMap`` with the same keys in ``data``.

The function sees one account at a time; its settings are validated with the same schema and
turned into the same ``model.Account`` as an entry of accounts.yaml.
"""

from __future__ import annotations

import re
from typing import Any

from capa_accounts.core import yamlio
from capa_accounts.core.accounts_file import (
    account_from_entry,
    check_entry,
    compiled_schema,
    raise_first_violation,
)
from capa_accounts.core.errors import ConfigError
from capa_accounts.core.model import DEFAULT_CAPA_VERSION, ROLE_IDENTITY, Account
from capa_accounts.core.schema.accountset import API_VERSION
from capa_accounts.core.schema.validator import validate


def parse_function_config(doc: yamlio.Document) -> Account:
    """The function's config: an ``Account`` or a ``ConfigMap`` with the same keys in ``data``."""
    data = doc.data
    if not isinstance(data, dict):
        raise ConfigError("functionConfig must be a mapping", doc.file, 1)
    if data.get("kind") == "ConfigMap":
        data = _from_config_map(doc)
        doc = yamlio.Document(doc.file, doc.index, doc.node, data)
    elif data.get("kind") != "Account" or data.get("apiVersion") != API_VERSION:
        raise ConfigError(
            f"functionConfig must be kind Account (apiVersion {API_VERSION}) or a "
            f"ConfigMap, not {data.get('kind')!r}",
            doc.file,
        )
    credentials, capa_version = _mode_settings(doc)
    raise_first_violation(doc, validate(compiled_schema("Account"), _without_mode_settings(data)))
    spec = data["spec"]
    name = data["metadata"]["name"]
    check_entry(doc, ("spec",), spec, spec.get("partition", "aws"))
    return account_from_entry(
        name,
        spec,
        spec.get("partition", "aws"),
        0,
        credentials=credentials,
        capa_version=capa_version,
    )


# The function config's credentials mode and operator CAPA release, the same values as
# accounts.yaml's spec.credentials and spec.operator.capaVersion (schema.accountset).
_MODE_KEYS = {
    "credentials": r"^(roleIdentity|operator)$",
    "capaVersion": r"^v[0-9]+\.[0-9]+\.[0-9]+$",
}


def _mode_settings(doc: yamlio.Document) -> tuple[str, str]:
    spec = doc.data.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    values = {}
    for key, pattern in _MODE_KEYS.items():
        value = spec.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not re.match(pattern, value):
            line, col = yamlio.position(doc.node, ("spec", key))
            expected = (
                "roleIdentity or operator"
                if key == "credentials"
                else "a CAPA release such as v2.11.1"
            )
            raise ConfigError(f"spec.{key}: {value!r} is not {expected}", doc.file, line, col)
        values[key] = value
    return (
        values.get("credentials", ROLE_IDENTITY),
        values.get("capaVersion", DEFAULT_CAPA_VERSION),
    )


def _without_mode_settings(data: dict[str, Any]) -> dict[str, Any]:
    """The config as the Account schema knows it: the mode keys are checked above."""
    spec = data.get("spec")
    if not isinstance(spec, dict) or not any(k in spec for k in _MODE_KEYS):
        return data
    return {**data, "spec": {k: v for k, v in spec.items() if k not in _MODE_KEYS}}


_CONFIG_MAP_INT = {"durationSeconds"}
_CONFIG_MAP_BOOL = {"iamRoleCreation", "decommissioning"}


def _from_config_map(doc: yamlio.Document) -> dict[str, Any]:
    """kpt convention: the same keys as flat strings; ``clusters`` is a comma-separated list."""
    raw = doc.data.get("data") or {}
    if not isinstance(raw, dict):
        raise ConfigError("ConfigMap data must be a mapping of strings", doc.file)
    name = raw.get("name") or (doc.data.get("metadata") or {}).get("name")
    spec: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "name":
            continue
        if key in _CONFIG_MAP_INT:
            try:
                spec[key] = int(value)
            except (TypeError, ValueError):
                spec[key] = value
        elif key in _CONFIG_MAP_BOOL:
            spec[key] = str(value).lower() == "true"
        elif key == "clusters":
            spec[key] = [{"name": n.strip()} for n in str(value).split(",") if n.strip()]
        else:
            spec[key] = value
    return {"apiVersion": API_VERSION, "kind": "Account", "metadata": {"name": name}, "spec": spec}
