"""Base items as the function reads and fills them: mappings that may be plain dicts or
ruamel.yaml's round-trip maps, and user input, so every read tolerates a missing or odd field
and every write keeps comments and key order."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

Item = MutableMapping[str, Any]


def ensure_meta(item: Item) -> Item:
    meta = item.get("metadata")
    if not isinstance(meta, MutableMapping):
        meta = item["metadata"] = {}
    return meta


def as_mapping(value: Any) -> Item:
    """``value`` when it is a mapping, else an empty one: base items are user input."""
    return value if isinstance(value, MutableMapping) else {}


def ensure_spec(item: Item) -> Item:
    spec = item.get("spec")
    if not isinstance(spec, MutableMapping):
        spec = item["spec"] = {}
    return spec


def assign(mapping: Item, key: str, value: Any) -> None:
    """Assign only when different, so a round-trip map keeps its comments and key order."""
    if mapping.get(key) != value:
        mapping[key] = value


def assign_after(mapping: Item, key: str, value: Any, after: str) -> None:
    """Assign ``key`` right after ``after`` when it is new (``namespace`` beside ``name``)."""
    if key in mapping or after not in mapping:
        assign(mapping, key, value)
        return
    position = list(mapping).index(after) + 1
    insert = getattr(mapping, "insert", None)
    if insert is not None:  # ruamel.yaml's CommentedMap keeps comments this way
        insert(position, key, value)
        return
    tail = [(k, mapping.pop(k)) for k in list(mapping)[position:]]
    mapping[key] = value
    mapping.update(tail)


def set_label(item: Item, key: str, value: str) -> None:
    meta = ensure_meta(item)
    labels = meta.get("labels")
    if not isinstance(labels, MutableMapping):
        labels = meta["labels"] = {}
    assign(labels, key, value)


def name_of(item: Item) -> str:
    return str(ensure_meta(item).get("name") or "")
