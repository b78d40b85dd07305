"""What AWS credentials look like as values, for the credential scan (CAPA-S001, S002): an
access key ID, a secret access key beside its name, a value SOPS encrypted, a placeholder or
AWS's documented example, base64 layers over any of them; and the YAML objects of a scanned
text. The rules (``hooks/rules/secrets.py``) decide what a match means."""

from __future__ import annotations

import base64
import binascii
import re
from bisect import bisect_right
from typing import Any

import yaml

from capa_accounts.core.errors import InputError
from capa_accounts.core.yamlio import Document, documents_from_text

# Access key IDs: "AKIA" for an IAM user's long-term key, "ASIA" for an STS temporary key,
# then 16 upper-case letters or digits (IAM User Guide, "IAM identifiers", unique ID prefixes:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html).
KEY_ID = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")
# A secret access key is 40 characters of the base64 alphabet with no marker of its own, so it
# is only recognised next to its name: ``aws_secret_access_key = `` (credentials file),
# ``AWS_SECRET_ACCESS_KEY=`` (env), ``SecretAccessKey:`` (CAPA's static identity Secret, STS
# JSON), ``secretAccessKey``; a YAML block scalar indicator may put the value on the next line.
SECRET_KEY = re.compile(
    r"(?i:aws[_.-]?secret[_.-]?(?:access[_.-]?)?key|secret[_.-]?access[_.-]?key)"
    r"[\"']?[ \t]*(?:=>|[:=])[ \t]*(?:[|>][-+]?[ \t]*\r?\n[ \t]*)?[\"']?"
    r"(?P<value>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
)
# A value SOPS encrypted: AES256_GCM, base64 ciphertext, a 32-byte IV and a 16-byte tag
# (getsops/sops aes/cipher.go: encryptedValueRegex, nonce size 32), in a file that carries SOPS
# metadata (a top-level ``sops`` block with its ``mac``, getsops/sops stores/stores.go).
# Anything else wrapped in ``ENC[...]`` is plain text that only looks encrypted.
SOPS_VALUE = re.compile(
    r"ENC\[AES256_GCM,data:[A-Za-z0-9+/]*={0,2},iv:[A-Za-z0-9+/]{43}=,"
    r"tag:[A-Za-z0-9+/]{22}==,type:(?:str|int|float|bool|bytes|comment)\]"
)
_SOPS_BLOCK = re.compile(r"""(?m)^[ \t]*["']?sops["']?[ \t]*:""")
_SOPS_MAC = re.compile(r"""["']?mac["']?[ \t]*:[ \t]*["']?ENC\[AES256_GCM,data:""")

# The Secret keys CAPA reads: AccessKeyID, SecretAccessKey and the optional SessionToken for an
# AWSClusterStaticIdentity (pkg/cloud/identity/identity.go), AWS_B64ENCODED_CREDENTIALS for the
# manager's own credentials and the CAPI Operator's configSecret.
CREDENTIAL_KEYS = ("AWS_B64ENCODED_CREDENTIALS", "AccessKeyID", "SecretAccessKey", "SessionToken")

# Words that mark a value as a placeholder, upper-cased. AWS documents AKIAIOSFODNN7EXAMPLE and
# wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY as example keys; a random 16- or 40-character key
# contains one of these words with a probability below one in 100,000.
_PLACEHOLDER_WORDS = (
    "EXAMPLE",
    "CHANGEME",
    "CHANGE_ME",
    "REPLACEME",
    "REPLACE_ME",
    "PLACEHOLDER",
    "REDACTED",
)
_TEMPLATE = re.compile(r"^\s*(?:\$\{.*\}|\$\(.*\)|\$[A-Za-z_]\w*|<[^<>]*>|\{\{.*\}\}|%.*%)\s*$")


KEY_NAME = re.compile(
    r"(?i:aws[_.-]?secret[_.-]?(?:access[_.-]?)?key"
    r"|secret[_.-]?access[_.-]?key)"
)


def documents(file: str, text: str) -> list[Document]:
    try:
        return documents_from_text(text, file)
    except (InputError, yaml.YAMLError, RecursionError, ValueError):
        # Not YAML (or not YAML Kubernetes would accept): S001's text scan still covers it.
        return []


def objects(data: Any) -> list[tuple[tuple[str | int, ...], dict[Any, Any]]]:
    """The objects of one document: the document itself, or the items of a ``kind: List``."""
    if not isinstance(data, dict):
        return []
    items = data.get("items")
    kind = data.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        return [(("items", i), item) for i, item in enumerate(items) if isinstance(item, dict)]
    return [((), data)]


def aws_key_value(key: Any, value: Any, encoded: bool, sops: bool) -> bool:
    if not isinstance(value, str) or (sops and SOPS_VALUE.fullmatch(value.strip())):
        return False
    text = b64decode(value) if encoded else value
    if text is None:
        return False
    text = text.strip()
    if KEY_ID.fullmatch(text):
        return not is_placeholder(text[4:], min_distinct=5)
    return (
        isinstance(key, str)
        and bool(KEY_NAME.search(key))
        and len(text) == 40
        and bool(re.fullmatch(r"[A-Za-z0-9/+=]{40}", text))
        and looks_like_secret_key(text)
    )


def sops_file(text: str) -> bool:
    """Whether ``text`` carries SOPS metadata (a ``sops`` block with an encrypted ``mac``)."""
    return (
        "ENC[AES256_GCM," in text
        and bool(_SOPS_MAC.search(text))
        and bool(_SOPS_BLOCK.search(text))
    )


def plain_credential(value: Any, layers: int, sops: bool) -> bool:
    """True when a Secret value holds a credential in plain text: not ENC[...], not empty, not a
    placeholder, looking through ``layers`` of base64."""
    if value is None or isinstance(value, bool):
        return False
    text = str(value).strip()
    if not text or SOPS_VALUE.fullmatch(text) and sops or is_placeholder(text):
        return False
    # Look through base64 (``data``, and AWS_B64ENCODED_CREDENTIALS inside it): an encoded
    # placeholder or documented example profile is no more a secret than a plain one.
    for _layer in range(layers):
        decoded = b64decode(text)
        if decoded is None:
            break
        text = decoded.strip()
        if not text or is_placeholder(text):
            return False
    return True


def is_placeholder(value: str, *, min_distinct: int = 1) -> bool:
    upper = value.upper()
    if any(word in upper for word in _PLACEHOLDER_WORDS):
        return True
    if len(value) <= 256 and _TEMPLATE.match(value):
        return True
    # "XXXXXXXXXXXXXXXX", "0000...", "abcabc...": a random key uses many distinct characters.
    return len(set(value)) <= max(1, min_distinct)


def looks_like_secret_key(value: str) -> bool:
    # A random 40-character base64 key lacks an upper-case or a lower-case letter with odds of
    # about one in a billion; a hex SHA-1 or checksum always lacks one of them.
    return (
        not is_placeholder(value, min_distinct=10)
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
    )


def decodes_to_credentials(value: str, depth: int = 0) -> bool:
    """True when ``value`` is base64 (once or, as in a Secret's ``data``, twice) of text that
    holds a real access key ID or a keyed secret access key."""
    decoded = b64decode(value)
    if decoded is None or depth > 1:
        return False
    if any(not is_placeholder(m.group()[4:], min_distinct=5) for m in KEY_ID.finditer(decoded)):
        return True
    if any(looks_like_secret_key(m.group("value")) for m in SECRET_KEY.finditer(decoded)):
        return True
    token = decoded.strip()
    return bool(re.fullmatch(r"[A-Za-z0-9+/]{16,}={0,2}", token)) and decodes_to_credentials(
        token, depth + 1
    )


def b64decode(value: str) -> str | None:
    """Base64 text decoded as UTF-8, cut to whole 4-character groups (a wrapped value's first
    line decodes on its own), or None when it is not base64 of text."""
    compact = "".join(value.split())
    if len(compact) % 4:
        compact = compact.rstrip("=")
        compact = compact[: len(compact) // 4 * 4]
    if not compact:
        return None
    try:
        return base64.b64decode(compact, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def mask(key_id: str) -> str:
    # Findings end up in CI logs: show enough to find the key in IAM, not the whole ID.
    return f"{key_id[:4]}...{key_id[-4:]}"


class Lines:
    """1-based line and column of a character offset, computed once per file on demand."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] | None = None

    def position(self, offset: int) -> tuple[int, int]:
        if self._starts is None:
            self._starts = [0] + [m.end() for m in re.finditer("\n", self._text)]
        index = bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1


# A value that a folded (">") or literal ("|") block scalar, or a multi-line plain scalar,
# spreads over lines: the text scan sees no 20 or 40 characters in a row, the parsed value
# holds them with spaces or line breaks that a reader of the value strips.
_BLOCK_SCALAR = re.compile(r"(?m):[ \t]*[|>][-+1-9]*[ \t]*(?:#.*)?$|^[ \t]+[A-Za-z0-9/+=]{4,}$")
# The same two branches searched apart, each from a literal `re` finds fast (":" and the line
# break before a continuation line; the first line is matched where it starts): one alternation
# starting at `^` is tried at every offset of the text.
_BLOCK_INDICATOR = re.compile(r"(?m):[ \t]*[|>][-+1-9]*[ \t]*(?:#.*)?$")
_CONTINUATION = re.compile(r"(?m)\n[ \t]+[A-Za-z0-9/+=]{4,}$")
_FIRST_CONTINUATION = re.compile(r"(?m)[ \t]+[A-Za-z0-9/+=]{4,}$")


def may_split_a_value(text: str) -> bool:
    """Whether ``_BLOCK_SCALAR`` matches ``text``."""
    return bool(
        _BLOCK_INDICATOR.search(text)
        or _CONTINUATION.search(text)
        or _FIRST_CONTINUATION.match(text)
    )


def split_keys(docs: list[Document]) -> list[tuple[Document, tuple[str | int, ...], str]]:
    """The values of ``docs`` that hold a key split over lines (a folded or literal block
    scalar, a multi-line plain scalar): (document, path, "access key ID" or "secret access
    key")."""
    found: list[tuple[Document, tuple[str | int, ...], str]] = []

    def walk(data: Any, path: tuple[str | int, ...], doc: Document) -> None:
        items = (
            data.items()
            if isinstance(data, dict)
            else enumerate(data)
            if isinstance(data, list)
            else ()
        )
        for key, value in items:
            if isinstance(value, (dict, list)):
                walk(value, (*path, key), doc)
                continue
            if not isinstance(value, str) or not any(c.isspace() for c in value.strip()):
                continue
            compact = "".join(value.split())
            key_id = KEY_ID.fullmatch(compact)
            secret = (
                isinstance(key, str)
                and KEY_NAME.search(key)
                and len(compact) == 40
                and re.fullmatch(r"[A-Za-z0-9/+=]{40}", compact)
                and looks_like_secret_key(compact)
            )
            if (key_id and not is_placeholder(compact[4:], min_distinct=5)) or secret:
                found.append(
                    (doc, (*path, key), "access key ID" if key_id else "secret access key")
                )

    for doc in docs:
        walk(doc.data, (), doc)
    return found
