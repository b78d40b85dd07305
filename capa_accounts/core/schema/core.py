"""Schema building blocks shared by every built-in schema, and core ``v1 Namespace``.

The built-in schemas are small hand-written dicts in the structural-schema subset that
``validator.compile_schema`` understands. This module owns the pieces every kind repeats:
Kubernetes ``ObjectMeta``, label selectors, string maps, object references, and the top-level
shape of a resource (``apiVersion``, ``kind``, ``metadata``, ``spec``, ``status``).
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# An object whose contents this project does not describe: any keys, any values. Used for
# ``status`` (controllers write it, users never should) and for the deep internals of large
# CAPA fields, where a hand copy would drift from upstream faster than it would help.
OPEN: Schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def string(**constraints: Any) -> Schema:
    return {"type": "string", **constraints}


def integer(**constraints: Any) -> Schema:
    return {"type": "integer", **constraints}


def boolean() -> Schema:
    return {"type": "boolean"}


def array(items: Schema, **constraints: Any) -> Schema:
    return {"type": "array", "items": items, **constraints}


def obj(properties: dict[str, Schema], *required: str, **constraints: Any) -> Schema:
    """A closed object: unknown keys are violations, as with strict field validation."""
    schema: Schema = {"type": "object", "properties": properties, **constraints}
    if required:
        schema["required"] = list(required)
    return schema


def string_map(values: Schema | None = None) -> Schema:
    return {"type": "object", "additionalProperties": values or {"type": "string"}}


def string_list(**constraints: Any) -> Schema:
    return array(string(), **constraints)


# metav1.ObjectMeta (k8s.io/apimachinery/pkg/apis/meta/v1/types.go). The API server decodes
# metadata into the Go struct, so unknown keys are dropped rather than rejected and ``null``
# is read as "unset" for every field; only a wrong type fails to decode.
# ``creationTimestamp: null`` is what kubectl and kustomize print for new objects.
OBJECT_META: Schema = {
    "type": "object",
    "x-kubernetes-preserve-unknown-fields": True,
    "properties": {
        "name": {"type": "string", "nullable": True},
        "generateName": {"type": "string", "nullable": True},
        "namespace": {"type": "string", "nullable": True},
        "selfLink": {"type": "string", "nullable": True},
        "uid": {"type": "string", "nullable": True},
        "resourceVersion": {"type": "string", "nullable": True},
        "generation": {"type": "integer", "nullable": True},
        "creationTimestamp": {"type": "string", "nullable": True},
        "deletionTimestamp": {"type": "string", "nullable": True},
        "deletionGracePeriodSeconds": {"type": "integer", "nullable": True},
        "labels": {**string_map(), "nullable": True},
        "annotations": {**string_map(), "nullable": True},
        "finalizers": {**string_list(), "nullable": True},
        "ownerReferences": {
            "type": "array",
            "nullable": True,
            "items": obj(
                {
                    "apiVersion": string(),
                    "kind": string(),
                    "name": string(),
                    "uid": string(),
                    "controller": {"type": "boolean", "nullable": True},
                    "blockOwnerDeletion": {"type": "boolean", "nullable": True},
                },
                "apiVersion",
                "kind",
                "name",
                "uid",
            ),
        },
        "managedFields": {"type": "array", "nullable": True, "items": OPEN},
    },
}

# metav1.LabelSelector as controller-gen renders it (matchExpressions items close, with key
# and operator required; operator is a free string in the schema, checked only in Go code).
LABEL_SELECTOR: Schema = obj(
    {
        "matchExpressions": array(
            obj(
                {
                    "key": string(),
                    "operator": string(),
                    "values": string_list(),
                },
                "key",
                "operator",
            )
        ),
        "matchLabels": string_map(),
    }
)

# corev1.ObjectReference: CAPI v1beta1's infrastructureRef, controlPlaneRef, configRef.
OBJECT_REFERENCE: Schema = obj(
    {
        "apiVersion": string(),
        "fieldPath": string(),
        "kind": string(),
        "name": string(),
        "namespace": string(),
        "resourceVersion": string(),
        "uid": string(),
    }
)

# A LocalObjectReference-style ``{name}`` (Flux secretRef, configMapRef, ...).
NAME_REF: Schema = obj({"name": string()}, "name")


def resource(
    spec: Schema | None,
    *,
    status: bool = True,
    spec_required: bool = False,
    extra: dict[str, Schema] | None = None,
) -> Schema:
    """The top level of a Kubernetes object: ``apiVersion``, ``kind``, ``metadata``, ...

    ``status`` is open (written by controllers). It is left out for kinds whose CRD has no
    ``status`` (the CAPA identities), so that a stray ``status:`` is flagged as the API
    server would.
    """
    properties: dict[str, Schema] = {
        "apiVersion": string(),
        "kind": string(),
        "metadata": OBJECT_META,
    }
    if spec is not None:
        properties["spec"] = spec
    if status:
        properties["status"] = OPEN
    properties.update(extra or {})
    return obj(properties, *(["spec"] if spec_required else []))


# core/v1 Namespace (k8s.io/api/core/v1/types.go NamespaceSpec): only ``finalizers``.
NAMESPACE: Schema = resource(obj({"finalizers": string_list()}))

SCHEMAS: dict[tuple[str, str], Schema] = {
    ("v1", "Namespace"): NAMESPACE,
}
