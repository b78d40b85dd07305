"""The semantic comparison of ``import``: the tree's objects against render's, as patches
where a patch can close the difference and as listed items where it cannot."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from capa_accounts.core import layout, patches, yamldump, yamlio
from capa_accounts.core.resources import ResourceId
from capa_accounts.kustomize_plugin import render

SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields")


@dataclass
class Item:
    """Something of the tree that the import does not reproduce exactly."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def item(doc: yamlio.Document, path: tuple[str | int, ...], message: str) -> Item:
    return Item(doc.file, yamlio.position(doc.node, path)[0], message)


def meta(data: dict[str, Any]) -> dict[str, Any]:
    value = data.get("metadata")
    return value if isinstance(value, dict) else {}


def clean(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of the object without what the API server adds (status, uid, ...)."""
    out = copy.deepcopy({k: v for k, v in data.items() if k != "status"})
    fields = {k: v for k, v in meta(out).items() if k not in SERVER_FIELDS}
    annotations = {
        k: v
        for k, v in (fields.get("annotations") or {}).items()
        if k != "kubectl.kubernetes.io/last-applied-configuration"
    }
    fields.pop("annotations", None)
    if annotations:
        fields["annotations"] = annotations
    out["metadata"] = fields
    return out


def diff(old: Any, new: Any) -> Any:
    """The JSON merge patch (RFC 7386) that turns ``old`` into ``new``."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return new
    out: dict[str, Any] = {k: None for k in old if k not in new}
    for key, value in new.items():
        if key not in old:
            out[key] = value
        elif old[key] != value:
            out[key] = diff(old[key], value)
    return out


def _split(kind: str, patch: dict[str, Any], at: tuple[str, ...] = ()) -> Iterator[Any]:
    """(allowed sub-patch, None) or (None, (path, why)) pieces of a difference."""
    for key, value in patch.items():
        one: dict[str, Any] = {key: value}
        for part in reversed(at):
            one = {part: one}
        refused = patches.refusal({"target": {"kind": kind}, "patch": one})
        if refused is None:
            yield one, None
        elif isinstance(value, dict) and refused[0][1:] != (*at, key):
            yield from _split(kind, value, (*at, key))
        else:
            yield None, (refused[0][1:], refused[1])


def _merge_into(target: dict[str, Any], piece: dict[str, Any]) -> None:
    for key, value in piece.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = value


def rendered_objects(plan: render.Plan) -> dict[ResourceId, dict[str, Any]]:
    out = {}
    for path, text in plan.files.items():
        if path.startswith(f"{layout.OVERLAYS}/") and not path.endswith("kustomization.yaml"):
            for doc in yamlio.documents_from_text(text, path):
                if isinstance(doc.data, dict):
                    out[ResourceId.of(doc.data)] = doc.data
    return out


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


_MISSING = object()


def _difference(rendered: Any, original: Any, path: tuple[Any, ...], why: str) -> str:
    dotted = ".".join(str(p) for p in path)
    ours, theirs = _at(rendered, path), _at(original, path)
    if theirs is _MISSING:
        return f"render adds {dotted}: {_short(ours)} ({why})"
    if ours is _MISSING:
        return f"render leaves out {dotted}: {_short(theirs)} ({why})"
    return f"{dotted}: render writes {_short(ours)}, the tree has {_short(theirs)} ({why})"


def _short(value: Any) -> str:
    text = yamldump.dump(value).strip().replace("\n", " ") if isinstance(value, dict) else None
    text = text or repr(value)
    return text if len(text) <= 90 else text[:87] + "..."


def compare(
    originals: dict[ResourceId, yamlio.Document], rendered: dict[ResourceId, dict[str, Any]]
) -> tuple[dict[str, list[dict[str, Any]]], list[Item]]:
    """Per account namespace, the patches that close the differences; the rest as items."""
    found: dict[str, list[dict[str, Any]]] = {}
    items = []
    for rid, doc in originals.items():
        if rid not in rendered:
            items.append(item(doc, (), f"not reproduced by render: {rid}"))
            continue
        original = clean(doc.data)
        change = diff(rendered[rid], original)
        if not change:
            continue
        allowed: dict[str, Any] = {}
        for piece, refused in _split(rid.kind, change):
            if piece is not None:
                _merge_into(allowed, piece)
            else:
                path, why = refused
                why = "set by capa-accounts"
                if path and path[0] == "kind":  # the whole object is the tool's
                    path = ()
                    why = f"{rid.kind} is derived from accounts.yaml"
                for key in _leaves(change, tuple(path)):
                    message = _difference(rendered[rid], original, key, why)
                    items.append(item(doc, key, f"{rid}: {message}"))
        if allowed:
            target = {"kind": rid.kind, "name": rid.name}
            found.setdefault(rid.namespace, []).append({"target": target, "patch": allowed})
    for rid in sorted(set(rendered) - set(originals)):
        items.append(Item("(render)", 0, f"render adds {rid}, which the tree does not hold"))
    return found, items


def _leaves(change: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """The differing fields at or under ``path`` of a merge patch."""
    value = _at(change, path)
    if isinstance(value, dict) and value:
        for key in value:
            yield from _leaves(change, (*path, key))
    else:
        yield path
