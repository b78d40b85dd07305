"""The input layer: every command reads YAML through here, and writes rendered YAML from here.

Reading composes nodes with PyYAML's C loader (``CSafeLoader``: safe tags only), whose marks
let findings point at a key or value; ``to_plain`` builds plain data the way Kubernetes
decodes YAML (sigs.k8s.io/yaml over go-yaml v2): a duplicate key is an error ("last one wins"
would silently change an ``allowedNamespaces``); keys become JSON strings (``1`` is "1",
``on`` is "true"); aliases expand within go-yaml's own bound; nesting stops at 100 levels, a
file at 500,000 nodes (counted before composing) and 8 MiB. The bytes must be UTF-8 without
NUL; a BOM and CRLF line ends are valid (YAML 1.1 §5.2, §5.4); a tab in indentation is named.

Empty documents (a bare ``---``, only comments, ``null``) are skipped between manifests as
kustomize skips them (kyaml/kio/byteio_reader.go, ``ByteReader.Read``: ``IsMissingOrNull``).
A file that must hold a document (accounts.yaml, a kustomization, the function's
ResourceList: ``require=True``) and holds none "holds no YAML document": an error, never "no
accounts". Only regular files are read (a FIFO would hang); a file whose repository-relative
name resolves outside the repository (a symlink) is refused by name, never read.
Every failure is an ``InputError`` naming the file and, where known, the line; files are
written through ``filewrite``.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
import yaml.constructor

from kustomize_plugin.errors import InputError

# Writing is the other half of the one YAML layer: callers dump through yamlio.
from kustomize_plugin.yamldump import dump as dump
from kustomize_plugin.yamldump import dump_documents as dump_documents
from kustomize_plugin.yamldump import dump_plain as dump_plain

MAX_FILE_BYTES = 8 * 1024 * 1024
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

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_TAGS: dict[str, str] = {}  # tag of a plain scalar, by its text


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe C loader, with the Python calls it makes for every node made cheap.

    libyaml parses, but the composer asks the Python resolver for every node: the tag of a
    plain scalar (a scan of regular expressions) and two path-resolver hooks. The safe loader
    has no path resolvers (yaml.add_path_resolver never targets it), so the hooks do nothing,
    and a plain scalar's tag depends on its text alone (resolver.py, BaseResolver.resolve):
    remembered, a fleet's repeated keys and values resolve once. Composing then costs about
    a fifth less than with CSafeLoader itself.
    """

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(value) <= 256 and len(_PLAIN_TAGS) < 200_000:
                    _PLAIN_TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)


_NULL, _MERGE = "tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"
_EMPTY = ("", "~", "null", "Null", "NULL")  # the documents kustomize skips
_constructor = yaml.constructor.SafeConstructor()
_CONSTRUCT = {"tag:yaml.org,2002:int": _constructor.construct_yaml_int,
              "tag:yaml.org,2002:bool": _constructor.construct_yaml_bool,
              "tag:yaml.org,2002:float": _constructor.construct_yaml_float}
# Every node after the first of a document starts after one of these (a flow or block
# indicator, or a line break in any of YAML's spellings), and brings at most one more (an
# implicit null value): twice their count bounds the nodes, in microseconds.
_NODE_STARTS = (",", "-", ":", "?", "[", "{", "\n", "\r", "\x85", "\u2028", "\u2029")
_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent,
                yaml.AliasEvent)


class OutsideRepositoryError(InputError):
    """A path, a resource entry or a symlink leads outside the repository."""


@dataclass(frozen=True)
class Document:
    """One YAML document of a file: its node tree (with marks) and its plain data."""

    file: str
    index: int
    node: yaml.Node
    data: Any
    # The text of the whole file, shared by its documents: ``check`` compares generated files
    # with what render writes (CAPA-R001) and scans for credentials without reading them again.
    text: str = field(default="", repr=False, compare=False)


# --- files ------------------------------------------------------------------------------------

def inside(root: Path, path: Path, shown: str | None = None) -> Path:
    """``path`` resolved, or OutsideRepositoryError when it (or a symlink on it) leaves ``root``."""
    name = shown or (path.relative_to(root).as_posix() if path.is_relative_to(root)
                     else path.name)
    try:
        resolved = path.resolve()
        top = root.resolve()
    except (OSError, RuntimeError) as err:  # Python 3.11 raises RuntimeError on a symlink loop
        raise InputError("is a symlink loop: not read", name) from err
    except ValueError as err:
        raise InputError("is not a valid path (a NUL character?)", name) from err
    if resolved != top and top not in resolved.parents:
        lexical = Path(os.path.normpath(path.absolute()))
        climbs = not lexical.is_relative_to(os.path.normpath(root.absolute()))
        raise OutsideRepositoryError("leads outside the repository" + (
            "" if climbs else " through a symlink"), name)
    return resolved


def _repository_root(path: Path, name: str) -> Path | None:
    """The root that ``name`` is relative to, when ``path`` ends with the relative ``name``."""
    parts = PurePosixPath(name).parts
    if not parts or parts[0] in ("/", "..") or ".." in parts or name.startswith("<") \
            or path.parts[-len(parts):] != parts:
        return None
    return Path(*path.parts[:-len(parts)]) if len(path.parts) > len(parts) else Path(".")


def read_text(path: Path, display: str | None = None, *, confine: bool = True) -> str:
    """A YAML file as text: a regular file inside the repository, bounded, UTF-8 without NUL.

    ``confine=False`` is for files the user names on the command line (``check --crd``),
    which may live anywhere.
    """
    name = display or str(path)
    root = _repository_root(path, name) if confine else None
    if root is not None:
        inside(root, path, name)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InputError("is a directory, not a YAML file" if stat.S_ISDIR(info.st_mode) else
                             "is not a regular file (a FIFO, socket or device): not read", name)
        with open(path, "rb") as handle:
            # What stat saw and one byte more, to notice a file that grew (up to one byte
            # over the limit, enough to refuse it): read(8 MiB) would allocate 8 MiB first,
            # which costs more than reading a manifest.
            raw = handle.read(min(info.st_size, MAX_FILE_BYTES) + 1)
            if len(raw) > info.st_size:
                raw += handle.read(MAX_FILE_BYTES + 1 - len(raw))
    except FileNotFoundError as err:
        hint = " (a symlink to a missing file)" if path.is_symlink() else ""
        raise InputError(f"no such file{hint}", name) from err
    except (OSError, ValueError) as err:  # ValueError: a NUL character in the path
        raise InputError(f"cannot read: {getattr(err, 'strerror', None) or err}", name) from err
    return decode(raw, name)


def decode(raw: bytes, name: str) -> str:
    """Decode bytes as UTF-8 YAML text (a BOM dropped), with a precise error for bad bytes."""
    if len(raw) > MAX_FILE_BYTES:
        raise InputError("is over the 8 MiB limit for YAML input (a Kubernetes object cannot "
                         "exceed about 1.5 MiB)", name)
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


# --- composing and plain data ------------------------------------------------------------------

def compose(text: str, name: str) -> list[yaml.Node]:
    """Every non-empty document of ``text`` as a node tree (see the module docstring)."""
    try:
        _bound_nodes(text, name)
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as err:
        raise _syntax_error(err, text, name) from err
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1 if isinstance(err.position, int) else None
        raise InputError(f"invalid YAML: character {err.character!r} is not allowed", name,
                         line) from err
    except yaml.YAMLError as err:
        raise InputError(f"invalid YAML: {one_line(err)}", name) from err
    return [n for n in nodes if not (n.tag == _NULL and n.value in _EMPTY)]


def _bound_nodes(text: str, name: str) -> None:
    if 2 * sum(text.count(c) for c in _NODE_STARTS) + 2 <= MAX_NODES:
        return
    count = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, _NODE_EVENTS):
            count += 1
            if count > MAX_NODES:
                line = event.start_mark.line + 1 if event.start_mark else None
                raise InputError(f"holds more than {MAX_NODES:,} YAML nodes: far larger than "
                                 "any Kubernetes object", name, line)


def _syntax_error(err: yaml.MarkedYAMLError, text: str, name: str) -> InputError:
    mark = err.problem_mark or err.context_mark
    problem = err.problem or err.context or "invalid YAML"
    if mark is not None and "cannot start any token" in problem:
        line = (text.split("\n")[mark.line:mark.line + 1] or [""])[0]
        if line[mark.column:mark.column + 1] == "\t" or line.lstrip(" ").startswith("\t"):
            problem = "a tab character: YAML indents with spaces"
    if "maximum nesting depth" in problem:
        problem = "nested too deeply (libyaml stops at 1000 levels)"
    return InputError(f"invalid YAML: {problem}", name, mark.line + 1 if mark else None,
                      mark.column + 1 if mark else None)


def load_documents(path: Path, display: str | None = None, *, require: bool = False,
                   confine: bool = True) -> list[Document]:
    """Read a file into documents with plain data; ``require`` refuses a file with none."""
    name = display or str(path)
    return documents_from_text(read_text(path, name, confine=confine), name, require=require)


def documents_from_text(text: str, name: str, *, require: bool = False) -> list[Document]:
    nodes = compose(text, name)
    if require and not nodes:
        raise InputError("holds no YAML document", name, 1)
    # Without an anchor ("&") no alias can repeat a node: the common case skips the alias
    # bookkeeping (the node count was bounded before composing).
    anchors = "&" in text
    return [Document(name, i, n, to_plain(n, name, anchors=anchors), text)
            for i, n in enumerate(nodes)]


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
    """``to_plain`` of an alias-free tree whose keys are strings, or _NeedsDecoder."""
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


@dataclass
class _Decoder:
    name: str
    decoded: int = 0
    aliased: int = 0
    built: set[int] = field(default_factory=set)  # collections already built once
    open: set[int] = field(default_factory=set)  # collections being built (the current path)

    def fail(self, message: str, node: yaml.Node, *, column: bool = False) -> InputError:
        mark = node.start_mark
        return InputError(message, self.name, mark.line + 1, mark.column + 1 if column else None)

    def plain(self, node: yaml.Node, depth: int, in_alias: bool) -> Any:
        self.decoded += 1
        self.aliased += in_alias
        if (self.aliased > 100 and self.decoded > 1000
                and self.aliased / self.decoded > _allowed_alias_ratio(self.decoded)):
            raise self.fail("aliases expand too much (an alias bomb): refused as Kubernetes "
                            "refuses it", node)
        if self.decoded > MAX_DECODED_NODES or depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH} levels" if depth > MAX_DEPTH
                            else f"expands to more than {MAX_DECODED_NODES:,} nodes", node)
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
                raise self.fail("a mapping key must be a string, not a list or mapping",
                                key_node, column=True)
            key = json_key(self.plain(key_node, depth + 1, in_alias))
            if key is None:
                raise self.fail("a mapping key must be a string, not null", key_node, column=True)
            if key in out:
                raise self.fail(f"duplicate key {key!r} (YAML does not allow a key twice; the "
                                "API server would refuse it)", key_node, column=True)
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
        raise InputError(f"{node.value[:40]!r} is not a valid {kind}", name,
                         node.start_mark.line + 1, node.start_mark.column + 1) from err


def one_line(err: BaseException | str) -> str:
    """A message on one line, as every failure is printed."""
    return " ".join(str(err).split())


# --- locating a path of a document ------------------------------------------------------------

PathPart = str | int


def node_at(root: yaml.Node, path: tuple[PathPart, ...]) -> tuple[yaml.Node | None, yaml.Node]:
    """The (key node, value node) deepest along ``path``; the key is None for list items."""
    key_node: yaml.Node | None = None
    node = root
    for part in path:
        found: tuple[yaml.Node | None, yaml.Node] | None
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value
                          if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            found = (None, node.value[part]) if 0 <= part < len(node.value) else None
        else:
            found = None
        if found is None:
            break
        key_node, node = found
    return key_node, node


def position(root: yaml.Node, path: tuple[PathPart, ...], *,
             at_key: bool = False) -> tuple[int, int]:
    """1-based (line, column) of the value at ``path`` (or of its key), or of its nearest parent."""
    key_node, value_node = node_at(root, path)
    node = key_node if (at_key and key_node is not None) else value_node
    return node.start_mark.line + 1, node.start_mark.column + 1
