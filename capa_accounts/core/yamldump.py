"""Writing rendered YAML: exactly the text PyYAML's safe C dumper writes, made fast.

render writes every account's files and ``check`` (CAPA-R001) plans them again, so dumping is
most of what both cost at fleet scale. Three ways lead to the same text, fastest first: a
block emitter of its own for plain data whose strings need no quoting beyond PyYAML's; nodes
built directly for the C emitter (PyYAML's representer costs several Python calls a node);
and PyYAML's ``dump_all`` for everything else (floats, subclasses, dates). Block style, keys
in the order given, no line folding (width 10,000), ``---`` before each of several documents
(before every document with ``explicit_start``: what render writes, yamllint's document-start).

What each pays (benchmarks/speedups.py, the 1,812 rendered files of 300 accounts, CPU time,
the same text byte for byte): the block emitter 1.95x as fast as PyYAML's ``dump_all`` with
the C dumper, the nodes built for the C emitter 1.40x.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_STR, _INT, _BOOL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool"
_NULL, _MAP, _SEQ = "tag:yaml.org,2002:null", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


def dump_documents(docs: list[Any], *, explicit_start: bool = False) -> str:
    """Rendered YAML, as PyYAML's C dumper writes it: block style, keys in the order given;
    ``---`` before each document when there are several or ``explicit_start``."""
    return _dump(docs, explicit_start=explicit_start or len(docs) > 1)


def dump(doc: Any) -> str:
    return _dump([doc], explicit_start=False)


def dump_plain(docs: list[Any], *, explicit_start: bool = False) -> str | None:
    """``dump_documents``'s text when the block emitter writes it, else None.

    The block emitter takes only plain data: string keys; dicts, lists, strings, ints,
    booleans and null; no collection twice. Its text therefore reads back as exactly ``docs``
    (no key turned into its text, no alias), which lets ``check`` take ``docs`` for a file
    whose text is this one without parsing it."""
    return _emit_block(docs, explicit_start or len(docs) > 1)


def _dump(docs: list[Any], *, explicit_start: bool) -> str:
    text = _emit_block(docs, explicit_start)
    if text is not None:
        return text
    nodes = _represent_all(docs)
    if nodes is not None:
        return yaml.serialize_all(
            nodes, Dumper=_Dumper, allow_unicode=True, width=10_000, explicit_start=explicit_start
        )
    return yaml.dump_all(
        docs,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=10_000,
        explicit_start=explicit_start,
    )


class _NotPlain(Exception):  # noqa: N818 - a signal: take the next, more general way
    pass


# --- the block emitter: PyYAML's output for plain data, without PyYAML ----------------------------
# Strings of these characters that do not end in ":" are written plain by PyYAML's emitter
# (emitter.py, analyze_scalar: no indicator at the start, no ": " or " #", no space, no line
# break), unless its resolver reads them as another type ("1.31", "true", "222222222222"): then
# single-quoted, and a single-quoted string of these characters needs no escape. Anything else
# (spaces, quotes, non-ASCII, keys of 128 characters and more) goes to PyYAML itself.
_SAFE_STRING = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./:-]*").fullmatch
_resolver = yaml.resolver.Resolver()
_string_texts: dict[str, str] = {"": "''"}


def _emit_block(docs: list[Any], explicit_start: bool) -> str | None:
    out: list[str] = []
    try:
        for doc in docs:
            if explicit_start:
                out.append("---\n")
            if type(doc) is dict and doc:
                _emit_mapping(doc, 0, out, None, set())
            elif type(doc) is list and doc:
                _emit_sequence(doc, 0, out, None, set())
            else:
                raise _NotPlain  # a scalar or empty document goes on the "---" line
    except (_NotPlain, RecursionError):
        return None
    return "".join(out)


def _emit_mapping(
    data: dict[Any, Any], indent: int, out: list[str], first: str | None, seen: set[int]
) -> None:
    _once(data, seen)
    pad = " " * indent
    for key, value in data.items():
        if type(key) is not str:
            raise _NotPlain
        head = f"{first if first is not None else pad}{_scalar_text(key)}:"
        first = None
        kind = type(value)
        if kind is dict:
            if value:
                out.append(head + "\n")
                _emit_mapping(value, indent + 2, out, None, seen)
            else:
                out.append(head + " {}\n")
        elif kind is list:
            if value:
                out.append(head + "\n")  # PyYAML indents no sequence inside a mapping
                _emit_sequence(value, indent, out, None, seen)
            else:
                out.append(head + " []\n")
        else:
            out.append(f"{head} {_scalar_text(value)}\n")


def _emit_sequence(
    data: list[Any], indent: int, out: list[str], first: str | None, seen: set[int]
) -> None:
    _once(data, seen)
    pad = " " * indent
    for value in data:
        head = f"{first if first is not None else pad}- "
        first = None
        kind = type(value)
        if kind is dict:
            if value:
                _emit_mapping(value, indent + 2, out, head, seen)
            else:
                out.append(head + "{}\n")
        elif kind is list:
            if value:
                _emit_sequence(value, indent + 2, out, head, seen)
            else:
                out.append(head + "[]\n")
        else:
            out.append(f"{head}{_scalar_text(value)}\n")


def _once(collection: Any, seen: set[int]) -> None:
    # A dict or list met twice in a document is an anchor and an alias in PyYAML's output.
    if id(collection) in seen:
        raise _NotPlain
    seen.add(id(collection))


def _scalar_text(value: Any) -> str:
    kind = type(value)
    if kind is str:
        text = _string_texts.get(value)
        if text is None:
            if len(value) >= 128 or not _SAFE_STRING(value) or value.endswith(":"):
                raise _NotPlain
            plain = _resolver.resolve(yaml.ScalarNode, value, (True, False)) == _STR
            text = value if plain else f"'{value}'"
            if len(_string_texts) < 100_000:
                _string_texts[value] = text
        return text
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    raise _NotPlain


# --- PyYAML's representer, without its per-node dispatch ----------------------------------------


def _represent_all(docs: list[Any]) -> list[yaml.Node] | None:
    """Nodes for plain data, as PyYAML's SafeRepresenter builds them with block style and
    unsorted keys, or None for anything else (subclasses, floats, dates): the C emitter then
    writes the same text."""
    try:
        return [_represent(doc, {}) for doc in docs]
    except (_NotPlain, RecursionError):
        return None


def _represent(data: Any, seen: dict[int, yaml.Node]) -> yaml.Node:
    kind = type(data)
    if kind is str:
        return yaml.ScalarNode(_STR, data)
    if kind is dict or kind is list:
        # The same dict or list twice in a document is an anchor and an alias, as in PyYAML
        # (represented_objects, reset per document).
        node = seen.get(id(data))
        if node is not None:
            return node
        if kind is dict:
            node = seen[id(data)] = yaml.MappingNode(_MAP, [], flow_style=False)
            node.value = [(_represent(k, seen), _represent(v, seen)) for k, v in data.items()]
        else:
            node = seen[id(data)] = yaml.SequenceNode(_SEQ, [], flow_style=False)
            node.value = [_represent(v, seen) for v in data]
        return node
    if kind is bool:
        return yaml.ScalarNode(_BOOL, "true" if data else "false")
    if kind is int:
        return yaml.ScalarNode(_INT, str(data))
    if data is None:
        return yaml.ScalarNode(_NULL, "null")
    raise _NotPlain
