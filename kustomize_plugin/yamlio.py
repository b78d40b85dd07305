"""The input layer: every command reads YAML through here, and writes rendered YAML from here.

Reading composes nodes with PyYAML's C loader (``CSafeLoader``): the nodes carry line and
column marks, so findings can point at the offending key or value, and composing is the
cheapest safe way to read the bytes. Plain data is built from the nodes by ``to_plain`` with
the rules Kubernetes applies when it decodes YAML: duplicate keys are an error (the API
server's strict decoding and ``kubectl`` refuse them; "last one wins" would silently change an
``allowedNamespaces``), alias expansion and nesting are bounded, files over 8 MiB are refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
import yaml.constructor

from kustomize_plugin.errors import InputError

MAX_FILE_BYTES = 8 * 1024 * 1024
# Nodes built for one document, aliases counted each time they are expanded. The largest real
# Kubernetes object (about 1.5 MiB) has far fewer; an alias bomb reaches it in microseconds.
MAX_EXPANDED_NODES = 2_000_000
# libyaml itself stops at 1000 levels of nesting; this bound is for the plain-data walk.
MAX_DEPTH = 1000

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_constructor = yaml.constructor.SafeConstructor()


@dataclass(frozen=True)
class Document:
    """One YAML document of a file: its node tree (with marks) and its plain data."""

    file: str
    index: int
    node: yaml.Node
    data: Any


def read_text(path: Path, display: str | None = None) -> str:
    """Read a YAML file as text: bounded size, UTF-8 (a BOM is dropped), no NUL bytes."""
    name = display or str(path)
    try:
        if path.is_symlink() or not path.is_file():
            if not path.exists():
                raise InputError("no such file", name)
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"file is {size / 1048576:.1f} MiB, over the 8 MiB limit for YAML input "
                "(a Kubernetes object cannot exceed about 1.5 MiB)", name)
        raw = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", name) from err
    return decode(raw, name)


def decode(raw: bytes, name: str) -> str:
    """Decode bytes as UTF-8 YAML text, with a precise error for bad bytes."""
    if len(raw) > MAX_FILE_BYTES:
        raise InputError("input is over the 8 MiB limit for YAML input", name)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise InputError(f"not UTF-8 text (byte 0x{raw[err.start]:02x})", name, line) from err
    nul = text.find("\0")
    if nul >= 0:
        raise InputError("contains a NUL byte: not a text file", name, text.count("\n", 0, nul) + 1)
    return text


def compose(text: str, name: str) -> list[yaml.Node]:
    """Compose every document of ``text``; empty documents (a bare ``---``) are dropped."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "invalid YAML"
        if "\t" in text and "cannot start any token" in problem:
            problem += " (a tab in indentation? YAML indents with spaces)"
        raise InputError(f"invalid YAML: {problem}", name,
                         mark.line + 1 if mark else None, mark.column + 1 if mark else None) from err
    except yaml.YAMLError as err:
        raise InputError(f"invalid YAML: {_one_line(err)}", name) from err
    return [n for n in nodes if not (n.tag == _NULL and n.value in ("", "~", "null"))]


def load_documents(path: Path, display: str | None = None, *,
                   require: bool = False) -> list[Document]:
    """Read a file into documents with plain data; ``require`` refuses a file with none."""
    name = display or str(path)
    return documents_from_text(read_text(path, name), name, require=require)


def documents_from_text(text: str, name: str, *, require: bool = False) -> list[Document]:
    nodes = compose(text, name)
    if require and not nodes:
        raise InputError("holds no YAML document", name, 1)
    return [Document(name, i, n, to_plain(n, name)) for i, n in enumerate(nodes)]


def to_plain(node: yaml.Node, name: str) -> Any:
    """Plain Python data of a node: duplicate keys refused, aliases and depth bounded."""
    budget = [MAX_EXPANDED_NODES]
    return _plain(node, name, budget, 0)


def _plain(node: yaml.Node, name: str, budget: list[int], depth: int) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise InputError(
            f"alias expansion exceeds {MAX_EXPANDED_NODES:,} nodes (an alias bomb?)",
            name, node.start_mark.line + 1)
    if depth > MAX_DEPTH:
        raise InputError(f"nesting deeper than {MAX_DEPTH} levels", name, node.start_mark.line + 1)
    if isinstance(node, yaml.ScalarNode):
        return scalar_value(node, name)
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, name, budget, depth + 1) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.update(_merge_value(value_node, name, budget, depth))
                continue
            key = _plain(key_node, name, budget, depth + 1)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise InputError("a mapping key must be a scalar", name,
                                 key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in out:
                raise InputError(f"duplicate key {key!r} (YAML does not allow a key twice; "
                                 "the API server would refuse it)", name,
                                 key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _plain(value_node, name, budget, depth + 1)
        if merged:
            return {**merged, **out}
        return out
    raise InputError(f"unsupported YAML node {node.tag}", name, node.start_mark.line + 1)


def _merge_value(node: yaml.Node, name: str, budget: list[int], depth: int) -> dict[Any, Any]:
    value = _plain(node, name, budget, depth + 1)
    parts = value if isinstance(value, list) else [value]
    merged: dict[Any, Any] = {}
    for part in reversed(parts):
        if not isinstance(part, dict):
            raise InputError("a merge key (<<) must name a mapping", name, node.start_mark.line + 1)
        merged.update(part)
    return merged


def scalar_value(node: yaml.ScalarNode, name: str = "<input>") -> Any:
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _NULL:
        return None
    try:
        if tag == _INT:
            return _constructor.construct_yaml_int(node)
        if tag == _BOOL:
            return _constructor.construct_yaml_bool(node)
        if tag == _FLOAT:
            return _constructor.construct_yaml_float(node)
    except (ValueError, yaml.YAMLError) as err:
        raise InputError(f"bad scalar {node.value!r}", name, node.start_mark.line + 1) from err
    # Timestamps, binary and custom tags stay the text the user wrote: Kubernetes sees strings.
    if tag.startswith("tag:yaml.org,2002:") or tag.startswith("!"):
        return node.value
    return node.value


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


# --- locating a path of a document ------------------------------------------------------------

PathPart = str | int


def node_at(root: yaml.Node, path: tuple[PathPart, ...]) -> tuple[yaml.Node | None, yaml.Node]:
    """The (key node, value node) deepest along ``path``; the key is None for list items."""
    key_node: yaml.Node | None = None
    node = root
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == part:
                    key_node, node = k, v
                    break
            else:
                return key_node, node
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                key_node, node = None, node.value[part]
            else:
                return key_node, node
        else:
            return key_node, node
    return key_node, node


def position(root: yaml.Node, path: tuple[PathPart, ...], *, at_key: bool = False) -> tuple[int, int]:
    """1-based (line, column) of the value at ``path`` (or of its key), or of its nearest parent."""
    key_node, value_node = node_at(root, path)
    node = key_node if (at_key and key_node is not None) else value_node
    return node.start_mark.line + 1, node.start_mark.column + 1


def mapping_keys(node: yaml.Node) -> Iterator[tuple[str, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        for k, _v in node.value:
            if isinstance(k, yaml.ScalarNode):
                yield k.value, k


# --- writing ----------------------------------------------------------------------------------

def dump_documents(docs: list[Any]) -> str:
    """Rendered YAML with the C dumper: block style, keys in the order given."""
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=10_000, explicit_start=len(docs) > 1)


def dump(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=10_000)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it over: old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.capa-accounts-tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
