"""What an unknown key of a clusterawsadm configuration does: nothing, and whether that matters.

clusterawsadm decodes its ``--config`` file with the scheme's ``UniversalDecoder`` of a codec
factory made without ``serializer.EnableStrict`` (cluster-api-provider-aws
cmd/clusterawsadm/configreader/configreader.go, DecodeBootstrapConfiguration;
cmd/clusterawsadm/api/bootstrap/v1beta1/scheme/scheme.go, NewSchemeAndCodecs): an unknown key
is dropped without a word and the field the writer meant keeps its default. When the value
written equals that default (CAPA's docs write ``clusterAPIControllers.disabled: false``),
nothing changes; when it differs (``disabled: true``), the writer's intent is silently lost.
"""

from __future__ import annotations

from typing import Any

from capa_accounts.core.aws import BOOTSTRAP_USER, DEFAULT_NAME_SUFFIX
from capa_accounts.core.record import Record
from capa_accounts.core.schema import iam
from capa_accounts.core.schema.validator import closest

UNKNOWN_DEFAULT = object()  # a default that depends on other fields: never "the same"

# Defaults that are not Go's zero value, once the enclosing struct exists (the unknown key sits
# inside it, so it does): cmd/clusterawsadm/api/bootstrap/v1beta1/defaults.go,
# SetDefaults_AWSIAMConfigurationSpec and SetDefaults_BootstrapUser.
DEFAULTS: dict[tuple[str, ...], Any] = {
    ("spec", "partition"): "aws",
    ("spec", "stackName"): "cluster-api-provider-aws-sigs-k8s-io",
    ("spec", "nameSuffix"): DEFAULT_NAME_SUFFIX,
    ("spec", "bootstrapUser", "userName"): BOOTSTRAP_USER,
    ("spec", "bootstrapUser", "groupName"): BOOTSTRAP_USER,
    ("spec", "eks", "kmsAliasPrefix"): "cluster-api-provider-aws-*",
    ("spec", "s3Buckets", "namePrefix"): "cluster-api-provider-aws-",
    ("spec", "secureSecretBackends"): ["secrets-manager"],
    # true when eks is written and not disabled, else false: depends on another field
    ("spec", "nodes", "ec2ContainerRegistryReadOnly"): UNKNOWN_DEFAULT,
}
# v1alpha1's removed ``eks.enable`` meant the opposite of the ``eks.disable`` that remains.
INVERTED: dict[tuple[str, ...], str] = {("spec", "eks", "enable"): "disable"}
_ZERO = {"boolean": False, "string": "", "array": [], "object": {}, "integer": 0}


class Effect(Record):
    """An ignored key read as the field it most likely meant."""

    FIELDS = ("meant", "default", "value", "same")
    meant: str  # the field's name
    default: Any
    value: Any  # what the writer meant that field to be
    same: bool  # the ignored value equals the field's default: nothing changes

    def __init__(self, meant: str, default: Any, value: Any, same: bool) -> None:
        set_ = object.__setattr__
        set_(self, "meant", meant)
        set_(self, "default", default)
        set_(self, "value", value)
        set_(self, "same", same)

    def describe(self, key: str, written: Any) -> str:
        """The effect, after the "unknown field" (or "removed") message."""
        shown = _yaml(written)
        if self.same:
            return (
                f"`{self.meant}` defaults to {_yaml(self.default)} anyway, so "
                f"`{key}: {shown}` changes nothing; write `{self.meant}` or drop it"
            )
        keeps = (
            "" if self.default is UNKNOWN_DEFAULT else f" keeps its default {_yaml(self.default)}"
        )
        return f"`{self.meant}`{keeps} and `{key}: {shown}` is silently lost: write `{self.meant}`"


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _properties(schema: Any, path: tuple[Any, ...]) -> dict[str, Any] | None:
    """The properties of the object schema at ``path`` (list indices step into items)."""
    node = schema
    for part in path:
        if not isinstance(node, dict):
            return None
        if isinstance(part, int):
            node = node.get("items")
        else:
            node = (node.get("properties") or {}).get(part)
    props = node.get("properties") if isinstance(node, dict) else None
    return props if isinstance(props, dict) else None


def ignored_key(api_version: str, path: tuple[Any, ...], written: Any) -> Effect | None:
    """The field an unknown key at ``path`` most likely meant, its default and whether the
    written value equals it; None when no field is close enough to tell."""
    key = path[-1] if path else None
    if not isinstance(key, str):
        return None
    where = tuple(str(p) for p in path)
    inverted = INVERTED.get(where) if api_version == iam.V1ALPHA1 else None
    meant: str | None = inverted or _meant(api_version, path)
    value = (not written) if inverted and isinstance(written, bool) else written
    if meant is None:
        return None
    beta = iam.SCHEMAS[(iam.V1BETA1, "AWSIAMConfiguration")]
    field = (_properties(beta, path[:-1]) or {}).get(meant)
    if not isinstance(field, dict):
        return None
    default = DEFAULTS.get((*where[:-1], meant), _ZERO.get(str(field.get("type"))))
    same = default is not UNKNOWN_DEFAULT and type(value) is type(default) and value == default
    return Effect(meant, default, value, same)


def _meant(api_version: str, path: tuple[Any, ...]) -> str | None:
    key = str(path[-1])
    if api_version == iam.V1ALPHA1 and tuple(path) == ("spec", key) and key in iam.V1BETA1_ONLY:
        return key  # a v1beta1 field v1alpha1 never had: dropped, as if unknown
    schema = iam.SCHEMAS.get((api_version, "AWSIAMConfiguration"))
    return closest(key, list((_properties(schema, path[:-1]) or {}).keys()))
