"""The input layer: every command reads YAML through here, and writes rendered YAML from here.

Reading composes nodes with PyYAML's C loader (``CSafeLoader``: safe tags only), whose marks
let findings point at a key or value; ``to_plain`` (``yamlplain``) builds plain data the way
Kubernetes decodes YAML (sigs.k8s.io/yaml over go-yaml v2): a duplicate key is an error
("last one wins" would silently change an ``allowedNamespaces``); keys become JSON strings
(``1`` is "1", ``on`` is "true"); aliases expand within go-yaml's own bound; nesting stops at
100 levels, a file at 500,000 nodes (counted before composing) and 8 MiB. The bytes must be
UTF-8 without NUL; a BOM and CRLF line ends are valid (YAML 1.1 §5.2, §5.4); a tab in
indentation is named.

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

import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from capa_accounts.core.errors import InputError
from capa_accounts.core.record import Record

# Writing is the other half of the one YAML layer: callers dump through yamlio.
from capa_accounts.core.yamldump import dump as dump
from capa_accounts.core.yamldump import dump_documents as dump_documents
from capa_accounts.core.yamldump import dump_plain as dump_plain

# Plain data, the way Kubernetes decodes it, is yamlplain's; read through yamlio.
from capa_accounts.core.yamlplain import MAX_NODES, to_plain
from capa_accounts.core.yamlplain import json_key as json_key

MAX_FILE_BYTES = 8 * 1024 * 1024
YAML_SUFFIXES = (".yaml", ".yml")  # the files read as YAML

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_TAGS: dict[str, str] = {}  # tag of a plain scalar, by its text


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe C loader, with the Python calls it makes for every node made cheap.

    libyaml parses, but the composer asks the Python resolver for every node: the tag of a
    plain scalar (a scan of regular expressions) and two path-resolver hooks. The safe loader
    has no path resolvers (yaml.add_path_resolver never targets it), so the hooks do nothing,
    and a plain scalar's tag depends on its text alone (resolver.py, BaseResolver.resolve):
    remembered, a fleet's repeated keys and values resolve once. Composing is then 1.06x to
    1.22x as fast as with CSafeLoader itself at 300 accounts, 1.19x at 1,000
    (benchmarks/speedups.py, CPU time, the tags forgotten before each round).
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


_NULL = "tag:yaml.org,2002:null"
_EMPTY = ("", "~", "null", "Null", "NULL")  # the documents kustomize skips
# Every node after the first of a document starts after one of these (a flow or block
# indicator, or a line break in any of YAML's spellings), and brings at most one more (an
# implicit null value): twice their count bounds the nodes, in microseconds.
_NODE_STARTS = (",", "-", ":", "?", "[", "{", "\n", "\r", "\x85", "\u2028", "\u2029")
_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)


class OutsideRepositoryError(InputError):
    """A path, a resource entry or a symlink leads outside the repository."""


class Document(Record):
    """One YAML document of a file: its node tree (with marks) and its plain data."""

    FIELDS = ("file", "index", "node", "data", "text")
    COMPARED = SHOWN = ("file", "index", "node", "data")  # the text is the file's, shared
    file: str
    index: int
    node: yaml.Node
    data: Any
    # The text of the whole file, shared by its documents: ``check`` compares generated files
    # with what render writes (CAPA-R001) and scans for credentials without reading them again.
    text: str

    def __init__(
        self,
        file: str,
        index: int,
        node: yaml.Node,
        data: Any,
        text: str = "",
    ) -> None:
        set_ = object.__setattr__
        set_(self, "file", file)
        set_(self, "index", index)
        set_(self, "node", node)
        set_(self, "data", data)
        set_(self, "text", text)


def inside(root: Path, path: Path, shown: str | None = None) -> Path:
    """``path`` resolved, or OutsideRepositoryError when it (or a symlink on it) leaves ``root``."""
    name = shown or (path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name)
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
        raise OutsideRepositoryError(
            "leads outside the repository" + ("" if climbs else " through a symlink"), name
        )
    return resolved


def _repository_root(path: Path, name: str) -> Path | None:
    """The root that ``name`` is relative to, when ``path`` ends with the relative ``name``."""
    parts = PurePosixPath(name).parts
    if (
        not parts
        or parts[0] in ("/", "..")
        or ".." in parts
        or name.startswith("<")
        or path.parts[-len(parts) :] != parts
    ):
        return None
    return Path(*path.parts[: -len(parts)]) if len(path.parts) > len(parts) else Path(".")


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
            raise InputError(
                "is a directory, not a YAML file"
                if stat.S_ISDIR(info.st_mode)
                else "is not a regular file (a FIFO, socket or device): not read",
                name,
            )
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


# O_NOFOLLOW refuses a symlink as the last part of the path, O_NONBLOCK keeps a FIFO from
# blocking the open (open(2)); Windows has neither, and read_regular says None there.
_REGULAR_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    if hasattr(os, "O_NOFOLLOW")
    else None
)


def read_regular(path: str, name: str) -> str | None:
    """The text of ``path`` when it is a regular file and no symlink, with one open and one
    fstat (a symlink or anything else: None, for the caller's ordinary way). Bounded and
    decoded as ``read_text``; the caller has proven the path inside the repository."""
    if _REGULAR_FLAGS is None:
        return None
    try:
        handle = os.open(path, _REGULAR_FLAGS)
    except OSError:
        return None  # a symlink (ELOOP), gone, unreadable: the ordinary way names why
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            return None
        raw = os.read(handle, min(info.st_size, MAX_FILE_BYTES) + 1)
        while len(raw) <= info.st_size and len(raw) <= MAX_FILE_BYTES:
            more = os.read(handle, MAX_FILE_BYTES + 1 - len(raw))
            if not more:
                break
            raw += more
    except OSError:
        return None
    finally:
        os.close(handle)
    return decode(raw, name)


def decode(raw: bytes, name: str) -> str:
    """Decode bytes as UTF-8 YAML text (a BOM dropped), with a precise error for bad bytes."""
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(
            "is over the 8 MiB limit for YAML input (a Kubernetes object cannot "
            "exceed about 1.5 MiB)",
            name,
        )
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
        raise InputError(
            f"invalid YAML: character {err.character!r} is not allowed", name, line
        ) from err
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
                raise InputError(
                    f"holds more than {MAX_NODES:,} YAML nodes: far larger than "
                    "any Kubernetes object",
                    name,
                    line,
                )


def _syntax_error(err: yaml.MarkedYAMLError, text: str, name: str) -> InputError:
    mark = err.problem_mark or err.context_mark
    problem = err.problem or err.context or "invalid YAML"
    if mark is not None and "cannot start any token" in problem:
        line = (text.split("\n")[mark.line : mark.line + 1] or [""])[0]
        if line[mark.column : mark.column + 1] == "\t" or line.lstrip(" ").startswith("\t"):
            problem = "a tab character: YAML indents with spaces"
    if "maximum nesting depth" in problem:
        problem = "nested too deeply (libyaml stops at 1000 levels)"
    return InputError(
        f"invalid YAML: {problem}",
        name,
        mark.line + 1 if mark else None,
        mark.column + 1 if mark else None,
    )


def load_documents(
    path: Path, display: str | None = None, *, require: bool = False, confine: bool = True
) -> list[Document]:
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
    return [
        Document(name, i, n, to_plain(n, name, anchors=anchors), text) for i, n in enumerate(nodes)
    ]


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
            found = next(
                (
                    (k, v)
                    for k, v in node.value
                    if isinstance(k, yaml.ScalarNode) and k.value == part
                ),
                None,
            )
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            found = (None, node.value[part]) if 0 <= part < len(node.value) else None
        else:
            found = None
        if found is None:
            break
        key_node, node = found
    return key_node, node


def position(
    root: yaml.Node, path: tuple[PathPart, ...], *, at_key: bool = False
) -> tuple[int, int]:
    """1-based (line, column) of the value at ``path`` (or of its key), or of its nearest parent."""
    key_node, value_node = node_at(root, path)
    node = key_node if (at_key and key_node is not None) else value_node
    return node.start_mark.line + 1, node.start_mark.column + 1
