"""Plain data from YAML nodes, the way Kubernetes decodes YAML (sigs.k8s.io/yaml over go-yaml v2).

A duplicate key is an error ("last one wins" would silently change an ``allowedNamespaces``);
keys become JSON strings (``1`` is "1", ``on`` is "true"); aliases expand within go-yaml's own
bound; nesting stops at 100 levels. Scalars take their YAML 1.1 types; timestamps, binary and
custom tags stay the text written. ``yamlio`` composes the nodes and calls ``to_plain``.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
import yaml.constructor

from capa_accounts.core.errors import InputError

# Composing costs microseconds a node (PyYAML's resolver is Python): 500,000 nodes take a few
# seconds. A whole CAPA release's CRDs hold about 100,000 (capa-reference/: ~30 bytes a node);
# an 8 MiB flow sequence `[1,1,...]` would hold four million. Aliases count at each expansion.
MAX_NODES = 500_000
MAX_DECODED_NODES = 2 * MAX_NODES
# The deepest object in capa-reference/ (a CRD schema) nests 30 levels; rules, the schema
# validator and deepcopy recurse on plain data, and 100 keeps them far from the stack limit.
MAX_DEPTH = 100
# go-yaml v2 decode.go, allowedAliasRatio and decoder.unmarshal: once more than 100 nodes came
# from aliases and 1000 were decoded, aliases may make up 99% of a document up to 400,000
# decoded nodes, sliding down to 10% at 4,000,000. A billion-laughs document fails at once.
_ALIAS_RATIO_LOW, _ALIAS_RATIO_HIGH = 400_000, 4_000_000

_NULL, _MERGE = "tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"
_constructor = yaml.constructor.SafeConstructor()
_CONSTRUCT = {
    "tag:yaml.org,2002:int": _constructor.construct_yaml_int,
    "tag:yaml.org,2002:bool": _constructor.construct_yaml_bool,
    "tag:yaml.org,2002:float": _constructor.construct_yaml_float,
}


def to_plain(node: yaml.Node, name: str, *, anchors: bool = True) -> Any:
    """Plain Python data of a node: duplicate keys refused, aliases and depth bounded.

    ``anchors=False`` promises a tree without aliases (its text has no anchor).
    """
    if not anchors:
        try:
            return _plain_tree(node, name, 0)
        except _NeedsDecoder:
            pass  # the decoder below handles it, or names the problem
    return _Decoder(name).plain(node, 0, False)


class _NeedsDecoder(Exception):  # noqa: N818 - a signal, never shown
    pass


def _plain_tree(node: yaml.Node, name: str, depth: int) -> Any:
    """``to_plain`` of an alias-free tree whose keys are strings, or _NeedsDecoder.

    2.11x as fast as the general decoder on the 3,018 documents of 300 accounts (and 3.4x
    PyYAML's SafeConstructor): benchmarks/speedups.py, CPU time, the same data."""
    if depth > MAX_DEPTH:
        raise _NeedsDecoder
    kind = node.__class__
    if kind is yaml.ScalarNode:
        # node.__class__ is ScalarNode (faster than isinstance, which would narrow for mypy)
        return node.value if node.tag == _STR else scalar_value(node, name)  # type: ignore[arg-type]
    if kind is yaml.SequenceNode:
        return [_plain_tree(item, name, depth + 1) for item in node.value]
    if kind is not yaml.MappingNode:
        raise _NeedsDecoder
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = key_node.value
        if key_node.__class__ is not yaml.ScalarNode or key_node.tag != _STR or key in out:
            raise _NeedsDecoder
        out[key] = _plain_tree(value_node, name, depth + 1)
    return out


def _allowed_alias_ratio(decoded: int) -> float:
    slide = (decoded - _ALIAS_RATIO_LOW) / (_ALIAS_RATIO_HIGH - _ALIAS_RATIO_LOW)
    return max(0.10, min(0.99, 0.99 - 0.89 * slide))


class _Decoder:
    """The state of one tree's decoding: what it built, and how many aliases it followed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.decoded = 0
        self.aliased = 0
        self.built: set[int] = set()  # collections already built once
        self.open: set[int] = set()  # collections being built (the current path)

    def fail(self, message: str, node: yaml.Node, *, column: bool = False) -> InputError:
        mark = node.start_mark
        return InputError(message, self.name, mark.line + 1, mark.column + 1 if column else None)

    def plain(self, node: yaml.Node, depth: int, in_alias: bool) -> Any:
        self.decoded += 1
        self.aliased += in_alias
        if (
            self.aliased > 100
            and self.decoded > 1000
            and self.aliased / self.decoded > _allowed_alias_ratio(self.decoded)
        ):
            raise self.fail(
                "aliases expand too much (an alias bomb): refused as Kubernetes refuses it", node
            )
        if self.decoded > MAX_DECODED_NODES or depth > MAX_DEPTH:
            raise self.fail(
                f"nested deeper than {MAX_DEPTH} levels"
                if depth > MAX_DEPTH
                else f"expands to more than {MAX_DECODED_NODES:,} nodes",
                node,
            )
        if isinstance(node, yaml.ScalarNode):
            return scalar_value(node, self.name)
        key = id(node)
        if key in self.open:
            raise self.fail("an alias refers to the collection that contains it", node)
        in_alias = in_alias or key in self.built
        self.built.add(key)
        self.open.add(key)
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.plain(item, depth + 1, in_alias) for item in node.value]
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, depth, in_alias)
        finally:
            self.open.discard(key)
        raise self.fail(f"unsupported YAML node {node.tag}", node)

    def mapping(self, node: yaml.MappingNode, depth: int, in_alias: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.update(self.merge(value_node, depth, in_alias))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(
                    "a mapping key must be a string, not a list or mapping", key_node, column=True
                )
            key = json_key(self.plain(key_node, depth + 1, in_alias))
            if key is None:
                raise self.fail("a mapping key must be a string, not null", key_node, column=True)
            if key in out:
                raise self.fail(
                    f"duplicate key {key!r} (YAML does not allow a key twice; the "
                    "API server would refuse it)",
                    key_node,
                    column=True,
                )
            out[key] = self.plain(value_node, depth + 1, in_alias)
        return {**merged, **out} if merged else out

    def merge(self, node: yaml.Node, depth: int, in_alias: bool) -> dict[str, Any]:
        value = self.plain(node, depth + 1, in_alias)
        parts = value if isinstance(value, list) else [value]
        if not all(isinstance(part, dict) for part in parts):
            raise self.fail("a merge key (<<) must name a mapping or a list of them", node)
        return {k: v for part in reversed(parts) for k, v in part.items()}


def json_key(key: Any) -> str | None:
    """A mapping key as sigs.k8s.io/yaml makes it a JSON key (yaml.go, convertToJSONableObject):
    strings stay, numbers and booleans become their text; None for a key JSON cannot hold."""
    if isinstance(key, bool):
        return str(key).lower()
    if isinstance(key, float) and not math.isfinite(key):
        return ".nan" if math.isnan(key) else (".inf" if key > 0 else "-.inf")
    if isinstance(key, str | int | float):
        return repr(key).removesuffix(".0") if isinstance(key, float) else str(key)
    return None


def scalar_value(node: yaml.ScalarNode, name: str = "<input>") -> Any:
    """A scalar as YAML 1.1 types it; timestamps, binary and custom tags stay the text written
    (Kubernetes sees strings)."""
    if node.tag == _NULL:
        return None
    construct = _CONSTRUCT.get(node.tag)
    if construct is None:
        return node.value
    try:
        return construct(node)
    except (ValueError, KeyError, IndexError, yaml.YAMLError) as err:
        kind = node.tag.rsplit(":", 1)[-1]
        raise InputError(
            f"{node.value[:40]!r} is not a valid {kind}",
            name,
            node.start_mark.line + 1,
            node.start_mark.column + 1,
        ) from err
