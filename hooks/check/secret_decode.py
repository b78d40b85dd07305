"""What a file's values say once decoded, for the credential scan (CAPA-S001).

A key need not be written as itself: YAML's double-quoted escapes (``"\\x41KIA..."``, an
escaped line break that folds two lines into one value; YAML 1.2, 5.7 "Escaped Characters" and
7.3.1 "Double-Quoted Style"), JSON's escapes inside a YAML string (``\\u0041``, ``\\/``; RFC 8259,
section 7), a gzip stream in base64 (``H4sI...``: the gzip magic 1f 8b 08, RFC 1952) and hex
all hide it from a text search, and every one of them is read back verbatim by whatever reads
the value. ``decoded_views`` yields, for each such token of a text, where it starts and what it
decodes to; the scan runs its detectors over each view as it does over the raw text.

Each decoder runs only where a cheap literal test says its encoding may be present, so a file
without escapes, gzip or long hex costs a few ``in`` tests.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Iterator

import yaml

# YAML double-quoted scalars that hold an escape: \x, \u, \U, \N, \_, \L, \P, \/ or a
# backslash before a line break (a folded continuation).
_DOUBLE_QUOTED = re.compile(r'"(?:[^"\\]|\\.|\\\r?\n)*"', re.S)
_ESCAPE = re.compile(r"\\(?:x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[/NLP_ ]|\r?\n)")
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_GZIP_B64 = re.compile(r"H4sI[A-Za-z0-9+/]{8,}={0,2}")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){10,}(?![0-9A-Fa-f])")
# Hex of "AKIA", "ASIA", "[default" and "secret" (either case of the hex digits): the only
# hex worth decoding.
_HEX_HINTS = tuple(
    h
    for word in (b"AKIA", b"ASIA", b"[default", b"secret", b"SECRET", b"Secret")
    for h in (word.hex(), word.hex().upper())
)
GUNZIP_LIMIT = 1 << 20  # bytes of decompressed text looked at: a key is in the first MiB
_MAX_DEPTH = 3


def decoded_views(text: str, depth: int = 0) -> Iterator[tuple[int, str, str]]:
    """(offset of the token in ``text``, its decoded text, how it was encoded)."""
    if depth >= _MAX_DEPTH:
        return
    if "\\" in text:
        yield from _escaped(text, depth)
    if "H4sI" in text:
        yield from _gzipped(text, depth)
    if any(h in text for h in _HEX_HINTS):
        yield from _hexed(text, depth)


def _nested(offset: int, value: str, how: str, depth: int) -> Iterator[tuple[int, str, str]]:
    yield offset, value, how
    for _inner, deeper, inner_how in decoded_views(value, depth + 1):
        yield offset, deeper, f"{how}, then {inner_how}"


def _line_prefix(text: str, offset: int) -> str:
    """The text from the start of the token's line up to it: the key a value belongs to."""
    return text[text.rfind("\n", 0, offset) + 1 : offset]


def _escaped(text: str, depth: int) -> Iterator[tuple[int, str, str]]:
    for match in _DOUBLE_QUOTED.finditer(text):
        token = match.group()
        if not _ESCAPE.search(token):
            continue
        value = _yaml_string(token) if depth == 0 else _json_string(token)
        if value is None:
            value = _json_string(token)
        if value is None:
            continue
        how = "YAML escapes" if depth == 0 else "JSON escapes"
        yield from _nested(match.start(), _line_prefix(text, match.start()) + value, how, depth)
    # JSON text inside a single-quoted or plain YAML value: its strings carry JSON escapes.
    if ("\\u" in text or "\\/" in text) and depth == 0:
        for match in _JSON_STRING.finditer(text):
            value = _json_string(match.group())
            if value is not None and value != match.group()[1:-1]:
                prefix = _line_prefix(text, match.start())
                yield from _nested(match.start(), prefix + value, "JSON escapes", depth)


def _yaml_string(token: str) -> str | None:
    try:
        value = yaml.load(token, Loader=yaml.CSafeLoader)  # noqa: S506 - the safe C loader
    except (yaml.YAMLError, ValueError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def _json_string(token: str) -> str | None:
    try:
        value = json.loads(token)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def _gzipped(text: str, depth: int) -> Iterator[tuple[int, str, str]]:
    for match in _GZIP_B64.finditer(text):
        token = match.group()
        token = token[: len(token) // 4 * 4]
        try:
            raw = base64.b64decode(token, validate=True)
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing
            plain = inflater.decompress(raw, GUNZIP_LIMIT)
        except (binascii.Error, ValueError, zlib.error):
            continue
        yield from _nested(match.start(), plain.decode("utf-8", "replace"), "gzip+base64", depth)


def _hexed(text: str, depth: int) -> Iterator[tuple[int, str, str]]:
    for match in _HEX.finditer(text):
        token = match.group()
        if not any(h in token for h in _HEX_HINTS):
            continue
        plain = bytes.fromhex(token).decode("utf-8", "replace")
        yield from _nested(match.start(), plain, "hex", depth)
