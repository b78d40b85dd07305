"""The kustomization fields ``check`` understands: exact key names and types, an allow-list.

Names and types follow kustomize api/types/kustomization.go (``Kustomization``, ``Patch``,
``ReplacementField``, ``GeneratorArgs``, ``Image``, ``Label``, ``FieldSpec``, ``Selector``) and
the builtin plugin configs of plugin/builtin/*/ (the ``*Plugin`` structs). A spec is a Python
type (str, bool, int), a dict of field to spec (exact keys; any other key is refused), a
one-element list ``[spec]`` (a list of it), ``{str: spec}`` (a map with any string keys), or a
``Paths`` kind (a string naming a file or directory, proven inside by
``capa_accounts.core.confinement``).
"""

from __future__ import annotations

from typing import Any

from capa_accounts.core.record import Record


class Paths(Record):
    """A string naming a file or directory: ``root`` (resources, components, bases: a file or
    a kustomization directory), ``file`` (an existing file), ``keyfile`` (``key=path`` or a
    path), ``config`` (a generator/transformer/validator entry), ``patch`` (a file or an
    inline patch)."""

    FIELDS = ("kind",)
    kind: str

    def __init__(self, kind: str) -> None:
        set_ = object.__setattr__
        set_(self, "kind", kind)


STRMAP = {str: str}  # a map of strings to strings (labels, annotations)
SELECTOR = {
    k: str
    for k in (
        "group",
        "version",
        "kind",
        "name",
        "namespace",
        "labelSelector",
        "annotationSelector",
    )
}
FIELDSPEC = {"group": str, "version": str, "kind": str, "path": str, "create": bool}
META = {"name": str, "namespace": str, "labels": STRMAP, "annotations": STRMAP}
GENERATOR_OPTIONS = {
    "labels": STRMAP,
    "annotations": STRMAP,
    "disableNameSuffixHash": bool,
    "immutable": bool,
}
GENERATOR_ARGS: dict[Any, Any] = {
    "name": str,
    "namespace": str,
    "behavior": str,
    "literals": [str],
    "files": [Paths("keyfile")],
    "envs": [Paths("file")],
    "env": Paths("file"),
    "options": GENERATOR_OPTIONS,
    "type": str,
}
PATCH = {
    "path": Paths("file"),
    "patch": str,
    "target": SELECTOR,
    "options": {"allowNameChange": bool, "allowKindChange": bool},
}
REPLACEMENT_OPTIONS = {"delimiter": str, "index": int, "create": bool}
REPLACEMENT = {
    "path": Paths("file"),
    "source": {**SELECTOR, "fieldPath": str, "options": REPLACEMENT_OPTIONS},
    "targets": [
        {
            "select": SELECTOR,
            "reject": [SELECTOR],
            "fieldPaths": [str],
            "options": REPLACEMENT_OPTIONS,
        }
    ],
}
IMAGE = {"name": str, "newName": str, "newTag": str, "digest": str, "tagSuffix": str}
KUSTOMIZATION: dict[Any, Any] = {
    "apiVersion": str,
    "kind": str,
    "metadata": META,
    "namespace": str,
    "namePrefix": str,
    "nameSuffix": str,
    "commonLabels": STRMAP,
    "commonAnnotations": STRMAP,
    "labels": [
        {"pairs": STRMAP, "includeSelectors": bool, "includeTemplates": bool, "fields": [FIELDSPEC]}
    ],
    "resources": [Paths("root")],
    "components": [Paths("root")],
    "bases": [Paths("root")],
    "crds": [Paths("file")],
    "configurations": [Paths("file")],
    "openapi": {"path": Paths("file"), "version": str},
    "patches": [PATCH],
    "patchesJson6902": [PATCH],
    "patchesStrategicMerge": [Paths("patch")],
    "replacements": [REPLACEMENT],
    "images": [IMAGE],
    "replicas": [{"name": str, "count": int}],
    "configMapGenerator": [GENERATOR_ARGS],
    "secretGenerator": [GENERATOR_ARGS],
    "generatorOptions": GENERATOR_OPTIONS,
    "generators": [Paths("config")],
    "transformers": [Paths("config")],
    "validators": [Paths("config")],
    "buildMetadata": [str],
    "sortOptions": {"order": str, "legacySortOptions": {"orderFirst": [str], "orderLast": [str]}},
}
_BUILTIN = {"apiVersion": str, "kind": str, "metadata": META}
_FIELDSPECS = {"fieldSpecs": [FIELDSPEC]}
# The builtin generators and transformers a config entry may name (apiVersion: builtin).
BUILTINS: dict[str, dict[Any, Any]] = {
    "ConfigMapGenerator": {**_BUILTIN, **GENERATOR_ARGS},
    "SecretGenerator": {**_BUILTIN, **GENERATOR_ARGS},
    "PatchTransformer": {**_BUILTIN, **PATCH},
    "ReplacementTransformer": {**_BUILTIN, "replacements": [REPLACEMENT]},
    "LabelTransformer": {**_BUILTIN, "labels": STRMAP, **_FIELDSPECS},
    "AnnotationsTransformer": {**_BUILTIN, "annotations": STRMAP, **_FIELDSPECS},
    "NamespaceTransformer": {
        **_BUILTIN,
        **_FIELDSPECS,
        "unsetOnly": bool,
        "setRoleBindingSubjects": str,
    },
    "PrefixSuffixTransformer": {**_BUILTIN, "prefix": str, "suffix": str, **_FIELDSPECS},
    "PrefixTransformer": {**_BUILTIN, "prefix": str, **_FIELDSPECS},
    "SuffixTransformer": {**_BUILTIN, "suffix": str, **_FIELDSPECS},
    "ImageTagTransformer": {**_BUILTIN, "imageTag": IMAGE, **_FIELDSPECS},
    "ReplicaCountTransformer": {
        **_BUILTIN,
        "replica": {"name": str, "count": int},
        **_FIELDSPECS,
    },
}
TYPE_NAMES = {str: "a string", bool: "true or false", int: "an integer"}
