"""The credential scan: AWS keys in plain text (CAPA-S001), unencrypted credential Secrets (S002).

This module owns the question "does this file put AWS credentials into git?". It reads any
file as text, not only the YAML that a kustomization lists: pre-commit hands it every staged
file, ``.env`` and ``credentials`` files included. ``scan_text`` is total: it never raises, and
a file that is not valid YAML is still scanned as text for S001.

Speed matters (it runs on every commit over hundreds of files): the regular expressions are
compiled once, and a cheap pre-filter skips the expensive parts (base64 decoding, YAML parsing)
for the files that name nothing credential-like.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from bisect import bisect_right
from collections.abc import Callable
from typing import Any

import yaml

from capa_accounts.core.errors import InputError
from capa_accounts.core.finding import Finding, ResourceRef, Severity
from capa_accounts.core.yamlio import Document, documents_from_text, position
from capa_accounts.hooks.check import secret_decode
from capa_accounts.hooks.check.context import Context
from capa_accounts.hooks.rules import Reporter, rule

S001 = "CAPA-S001"
S001_SEVERITY: Severity = "error"
S002 = "CAPA-S002"
S002_SEVERITY: Severity = "error"
S003 = "CAPA-S003"
S003_SEVERITY: Severity = "error"

# Access key IDs: "AKIA" for an IAM user's long-term key, "ASIA" for an STS temporary key,
# then 16 upper-case letters or digits (IAM User Guide, "IAM identifiers", unique ID prefixes:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html).
_KEY_ID = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")
# A secret access key is 40 characters of the base64 alphabet with no marker of its own, so it
# is only recognised next to its name: ``aws_secret_access_key = `` (credentials file),
# ``AWS_SECRET_ACCESS_KEY=`` (env), ``SecretAccessKey:`` (CAPA's static identity Secret, STS
# JSON), ``secretAccessKey``; a YAML block scalar indicator may put the value on the next line.
_SECRET_KEY = re.compile(
    r"(?i:aws[_.-]?secret[_.-]?(?:access[_.-]?)?key|secret[_.-]?access[_.-]?key)"
    r"[\"']?[ \t]*(?:=>|[:=])[ \t]*(?:[|>][-+]?[ \t]*\r?\n[ \t]*)?[\"']?"
    r"(?P<value>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
)
# AWS_B64ENCODED_CREDENTIALS is what ``clusterawsadm bootstrap credentials encode-as-profile``
# prints: base64 of a credentials file made from AWSCredentialsTemplate, "[default]\n
# aws_access_key_id = ...\naws_secret_access_key = ..." (CAPA cmd/clusterawsadm/credentials/
# credentials.go). In a Secret's ``data`` it is base64 once more.
_B64_CREDENTIALS = re.compile(
    r"AWS_B64ENCODED_CREDENTIALS[\"']?[ \t]*[:=][ \t]*(?:[|>][-+]?[ \t]*\r?\n[ \t]*)?[\"']?"
    r"(?P<value>[A-Za-z0-9+/]{16,}={0,2})"
)
# Any base64 token that starts like "[" (base64 "W2"): a credentials file encoded under some
# other name, such as the ``credentials`` key of CAPA's capa-manager-bootstrap-credentials.
_B64_PROFILE = re.compile(r"(?<![A-Za-z0-9+/])(?P<value>W2[A-Za-z0-9+/]{30,}={0,2})")
# A value SOPS encrypted: AES256_GCM, base64 ciphertext, a 32-byte IV and a 16-byte tag
# (getsops/sops aes/cipher.go: encryptedValueRegex, nonce size 32), in a file that carries SOPS
# metadata (a top-level ``sops`` block with its ``mac``, getsops/sops stores/stores.go).
# Anything else wrapped in ``ENC[...]`` is plain text that only looks encrypted.
_SOPS_VALUE = re.compile(
    r"ENC\[AES256_GCM,data:[A-Za-z0-9+/]*={0,2},iv:[A-Za-z0-9+/]{43}=,"
    r"tag:[A-Za-z0-9+/]{22}==,type:(?:str|int|float|bool|bytes|comment)\]"
)
_SOPS_BLOCK = re.compile(r"""(?m)^[ \t]*["']?sops["']?[ \t]*:""")
_SOPS_MAC = re.compile(r"""["']?mac["']?[ \t]*:[ \t]*["']?ENC\[AES256_GCM,data:""")

# S002 needs the YAML parsed, so only text naming a credential key and the kind gets that far.
# "QUtJQ"/"QVNJQ" is how base64 of "AKIA"/"ASIA" starts (a key ID in a Secret's data).
_S002_PREFILTER = re.compile(
    r"AWS_B64ENCODED_CREDENTIALS|AccessKeyID|SecretAccessKey|SessionToken"
    r"|QUtJQ|QVNJQ|(?i:secret[_.-]?access[_.-]?key)"
)
_SECRET_KIND = re.compile(r"\bSecret\b")
# What every match of _S002_PREFILTER holds, searched for first without IGNORECASE (which keeps
# `re` from finding a literal fast), in the casefolded text: `re`'s IGNORECASE also matches the
# long s (U+017F) and the Kelvin sign (U+212A), which casefold to "s" and "k".
_S002_LITERALS = re.compile(r"AWS_B64ENCODED_CREDENTIALS|AccessKeyID|SessionToken|QUtJQ|QVNJQ")
_KEY_NAME_FOLDED = re.compile(r"secret[_.-]?(?:access[_.-]?)?key")


def _may_name_credential(text: str) -> bool:
    if not (_S002_LITERALS.search(text) or _KEY_NAME_FOLDED.search(text.casefold())):
        return False
    return _S002_PREFILTER.search(text) is not None


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
_FIX = (
    "deactivate the key in IAM, remove it from the file and from git history, use role identities"
)
_TEMPLATE = re.compile(r"^\s*(?:\$\{.*\}|\$\(.*\)|\$[A-Za-z_]\w*|<[^<>]*>|\{\{.*\}\}|%.*%)\s*$")


def check_s001(file: str, text: str, docs: list[Document] | None = None) -> list[Finding]:
    """An AWS access key ID or secret access key appears in plain text in a tracked file.

    Why: guards against long-lived AWS credentials in git, where every clone, fork and CI log keeps
    them even after a later commit removes them. Fires on an access key ID (``AKIA`` for an IAM
    user's key, ``ASIA`` for an STS session, then 16 upper-case letters or digits), on a 40
    character secret access key written next to its name (``aws_secret_access_key``,
    ``AWS_SECRET_ACCESS_KEY``, ``SecretAccessKey``, ``secretAccessKey``, in YAML, JSON, INI
    credentials files and env files), and on a base64 value (``AWS_B64ENCODED_CREDENTIALS``, or
    any base64 token) that decodes to a credentials profile holding such keys, which is what
    ``clusterawsadm bootstrap credentials encode-as-profile`` prints (CAPA
    cmd/clusterawsadm/credentials/credentials.go). Every file is scanned, YAML or not, listed
    by a kustomization or not. Upstream: IAM User Guide, "Manage access keys for IAM users" and
    "IAM identifiers" (https://docs.aws.amazon.com/IAM/latest/UserGuide/).

    Not flagged: AWS's documented example keys (``AKIAIOSFODNN7EXAMPLE``,
    ``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY``; any value containing ``EXAMPLE``),
    placeholders (``${AWS_SECRET_ACCESS_KEY}``, ``<secret>``, ``changeme``, ``REPLACE_ME``, one
    character repeated), values inside SOPS ``ENC[...]``, and a 40-character string with no key
    name next to it (a git SHA, a checksum).

    Bad:

        [default]
        aws_access_key_id = AKIA...            # a real key
        aws_secret_access_key = 9drTJvcXLB...  # 40 characters

    Good:

        # CAPA assumes a role per account; no key is stored anywhere
        kind: AWSClusterRoleIdentity
        spec:
          roleARN: arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io

    Fix: deactivate and delete the key in IAM first (it is compromised once pushed), remove it
    from the file and from git history, and use role identities; a Secret that must exist goes
    into git only SOPS-encrypted (see CAPA-S002).
    """
    found: dict[tuple[int, int], Finding] = {}
    lines: _Lines | None = None
    enc_spans: list[tuple[int, int]] | None = None

    def add(offset: int, what: str) -> None:
        nonlocal lines, enc_spans
        if enc_spans is None:
            enc_spans = [m.span() for m in _SOPS_VALUE.finditer(text)] if sops_file(text) else []
        # Inside a SOPS ``ENC[...]`` value the characters are ciphertext, whatever they spell.
        index = bisect_right([start for start, _end in enc_spans], offset) - 1
        if index >= 0 and offset < enc_spans[index][1]:
            return
        lines = lines or _Lines(text)
        line, column = lines.position(offset)
        message = f"{what}: {_FIX}"
        found.setdefault((line, column), Finding(S001, S001_SEVERITY, file, line, column, message))

    for offset, what in _detect(text):
        add(offset, what)
    # The same detectors over what escapes, gzip and hex decode to (hooks/check/secret_decode.py).
    for offset, view, how in secret_decode.decoded_views(text):
        for _inner, what in _detect(view):
            add(offset, f"{what.replace(' in plain text', '')}, written with {how}")
    return sorted(found.values(), key=Finding.sort_key)


def _detect(text: str) -> list[tuple[int, str]]:
    """(offset, what was found) for every key in ``text`` as written."""
    # Each detector runs only when its literal is in the text: ``in`` costs far less than a
    # regular expression scan, and most files hold none of them.
    has_key_id = "AKIA" in text or "ASIA" in text
    # Every match of _SECRET_KEY's name, casefolded, holds this (see _KEY_NAME_FOLDED).
    has_key_name = _KEY_NAME_FOLDED.search(text.casefold()) is not None
    b64_patterns = [
        p
        for p, literal in ((_B64_CREDENTIALS, "AWS_B64ENCODED_CREDENTIALS"), (_B64_PROFILE, "W2"))
        if literal in text
    ]
    if not (has_key_id or has_key_name or b64_patterns):
        return []
    out: list[tuple[int, str]] = []
    for match in _KEY_ID.finditer(text) if has_key_id else ():
        key_id = match.group()
        if not _is_placeholder(key_id[4:], min_distinct=5):
            kind = "temporary (STS)" if key_id.startswith("ASIA") else "long-term"
            out.append((match.start(), f"AWS {kind} access key ID {_mask(key_id)} in plain text"))
    for match in _SECRET_KEY.finditer(text) if has_key_name else ():
        if _looks_like_secret_key(match.group("value")):
            out.append((match.start("value"), "AWS secret access key in plain text"))
    for pattern in b64_patterns:
        for match in pattern.finditer(text):
            if _decodes_to_credentials(match.group("value")):
                out.append(
                    (
                        match.start("value"),
                        "base64 value decodes to an AWS credentials profile "
                        "with real keys (base64 is an encoding, not encryption)",
                    )
                )
    return out


def check_s002(file: str, text: str, docs: list[Document] | None = None) -> list[Finding]:
    """A Secret holding `AWS_B64ENCODED_CREDENTIALS` (or static keys) is not SOPS-encrypted.

    Why: guards against a Kubernetes ``Secret`` committed with the keys CAPA reads as credentials:
    ``AWS_B64ENCODED_CREDENTIALS`` (the manager's credentials and the CAPI Operator's
    ``configSecret``) or ``AccessKeyID``/``SecretAccessKey``/``SessionToken`` (an
    ``AWSClusterStaticIdentity``'s Secret, pkg/cloud/identity/identity.go). A Secret's ``data``
    is base64, an encoding anyone can reverse, not encryption
    (https://kubernetes.io/docs/concepts/configuration/secret/). Flux decrypts SOPS-encrypted
    Secrets at apply time (https://fluxcd.io/flux/guides/mozilla-sops/), so the only safe form
    in git is one whose values are ``ENC[AES256_GCM,data:...,type:str]`` under a top-level
    ``sops:`` block. Each credential key is judged on its own: SOPS's ``encrypted_regex:
    ^(data)$`` leaves ``stringData`` in plain text although the file has a ``sops:`` block.
    Empty values and placeholders (``${AWS_B64ENCODED_CREDENTIALS}``, ``<key>``) pass, as do
    AWS's documented example keys. Every document of a multi-document file is read, and the
    items of a ``List``; a file that is not valid YAML is left to CAPA-S001's text scan.

    Bad:

        apiVersion: v1
        kind: Secret
        metadata: {name: aws-credentials, namespace: capa-staging}
        stringData:
          AWS_B64ENCODED_CREDENTIALS: W2RlZmF1bHRdCmF3c19hY2Nlc3Nf...

    Good:

        stringData:
          AWS_B64ENCODED_CREDENTIALS: ENC[AES256_GCM,data:...,iv:...,tag:...,type:str]
        sops:
          age: [...]
          lastmodified: "2025-01-01T00:00:00Z"
          mac: ENC[AES256_GCM,data:...,type:str]

    Fix: prefer role identities, which need no Secret. Otherwise encrypt the file with ``sops
    --encrypt --in-place`` (with ``encrypted_regex: ^(data|stringData)$``), configure the Flux
    Kustomization's ``decryption: {provider: sops}``, and rotate any key that was ever
    committed in plain text.
    """
    if docs is None:
        if not (_may_name_credential(text) and _SECRET_KIND.search(text)):
            return []
        docs = _documents(file, text)
    findings: list[Finding] = []
    for doc in docs:
        for path, obj in _objects(doc.data):
            findings.extend(_check_secret(file, doc, path, obj))
    return findings


# One place that lists the rules of this family, in catalogue order; ``explain`` prints a
# check's docstring.
CHECKS: dict[str, tuple[Severity, Callable[[str, str, list[Document] | None], list[Finding]]]] = {
    S001: (S001_SEVERITY, check_s001),
    S002: (S002_SEVERITY, check_s002),
}


def scan_text(file: str, text: str) -> list[Finding]:
    """Scan one file's text (any file type, not only YAML; ``file`` is the repository-relative
    path used in findings). Binary text (a NUL byte) is skipped. Never raises."""
    if "\0" in text:
        text = text.replace("\0", " ")  # one NUL byte does not make a leak binary
    docs: list[Document] = []
    if _may_name_credential(text) and _SECRET_KIND.search(text):
        docs = _documents(file, text)
    findings = check_s001(file, text, docs) + check_s002(file, text, docs)
    if _may_split_a_value(text):
        seen = {(f.line, f.column) for f in findings}
        findings += [
            f
            for f in _split_keys(file, docs or _documents(file, text))
            if (f.line, f.column) not in seen
        ]
    return sorted(findings, key=Finding.sort_key)


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


def _may_split_a_value(text: str) -> bool:
    """Whether ``_BLOCK_SCALAR`` matches ``text``."""
    return bool(
        _BLOCK_INDICATOR.search(text)
        or _CONTINUATION.search(text)
        or _FIRST_CONTINUATION.match(text)
    )


_KEY_NAME = re.compile(
    r"(?i:aws[_.-]?secret[_.-]?(?:access[_.-]?)?key"
    r"|secret[_.-]?access[_.-]?key)"
)


def _split_keys(file: str, docs: list[Document]) -> list[Finding]:
    found: list[Finding] = []

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
            key_id = _KEY_ID.fullmatch(compact)
            secret = (
                isinstance(key, str)
                and _KEY_NAME.search(key)
                and len(compact) == 40
                and re.fullmatch(r"[A-Za-z0-9/+=]{40}", compact)
                and _looks_like_secret_key(compact)
            )
            if (key_id and not _is_placeholder(compact[4:], min_distinct=5)) or secret:
                line, column = position(doc.node, (*path, key))
                what = "access key ID" if key_id else "secret access key"
                found.append(
                    Finding(
                        S001,
                        S001_SEVERITY,
                        file,
                        line,
                        column,
                        f"AWS {what} in plain text, split over lines of a YAML value: {_FIX}",
                    )
                )

    for doc in docs:
        walk(doc.data, (), doc)
    return found


# --- S002 helpers -----------------------------------------------------------------------------


def _documents(file: str, text: str) -> list[Document]:
    try:
        return documents_from_text(text, file)
    except (InputError, yaml.YAMLError, RecursionError, ValueError):
        # Not YAML (or not YAML Kubernetes would accept): S001's text scan still covers it.
        return []


def _objects(data: Any) -> list[tuple[tuple[str | int, ...], dict[Any, Any]]]:
    """The objects of one document: the document itself, or the items of a ``kind: List``."""
    if not isinstance(data, dict):
        return []
    items = data.get("items")
    kind = data.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        return [(("items", i), item) for i, item in enumerate(items) if isinstance(item, dict)]
    return [((), data)]


def _check_secret(
    file: str, doc: Document, path: tuple[str | int, ...], obj: dict[Any, Any]
) -> list[Finding]:
    if obj.get("kind") != "Secret" or obj.get("apiVersion", "v1") != "v1":
        return []
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    resource = ResourceRef("v1", "Secret", name, namespace)
    sops = sops_file(doc.text) if doc.text else isinstance(obj.get("sops"), dict)
    findings = []
    for field in ("data", "stringData"):
        values = obj.get(field)
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            if key not in CREDENTIAL_KEYS:
                # `kubectl create secret generic --from-literal=AWS_ACCESS_KEY_ID=...` and the
                # like: any key whose value (base64 once in `data`) is an AWS key.
                if _aws_key_value(key, value, field == "data", sops):
                    line, column = position(doc.node, path + (field, key), at_key=True)
                    shown = f"{namespace}/{name}" if namespace else name
                    findings.append(
                        Finding(
                            S002,
                            S002_SEVERITY,
                            file,
                            line,
                            column,
                            f"Secret {shown!r} holds an AWS key in {field}.{key} without SOPS "
                            "encryption (base64 is not encryption): encrypt it with sops or use "
                            "role identities",
                            resource,
                        )
                    )
                continue
            # Base64 layers over the credential: one in ``data``, one more for the profile.
            layers = (field == "data") + (key == "AWS_B64ENCODED_CREDENTIALS")
            if not _plain_credential(value, layers, sops):
                continue
            line, column = position(doc.node, path + (field, key), at_key=True)
            shown = f"{namespace}/{name}" if namespace else name
            findings.append(
                Finding(
                    S002,
                    S002_SEVERITY,
                    file,
                    line,
                    column,
                    f"Secret {shown!r} holds {key} in {field} without SOPS encryption (base64 is "
                    "not encryption): encrypt it with sops or use role identities",
                    resource,
                )
            )
    return findings


def _aws_key_value(key: Any, value: Any, encoded: bool, sops: bool) -> bool:
    if not isinstance(value, str) or (sops and _SOPS_VALUE.fullmatch(value.strip())):
        return False
    text = _b64decode(value) if encoded else value
    if text is None:
        return False
    text = text.strip()
    if _KEY_ID.fullmatch(text):
        return not _is_placeholder(text[4:], min_distinct=5)
    return (
        isinstance(key, str)
        and bool(_KEY_NAME.search(key))
        and len(text) == 40
        and bool(re.fullmatch(r"[A-Za-z0-9/+=]{40}", text))
        and _looks_like_secret_key(text)
    )


def sops_file(text: str) -> bool:
    """Whether ``text`` carries SOPS metadata (a ``sops`` block with an encrypted ``mac``)."""
    return (
        "ENC[AES256_GCM," in text
        and bool(_SOPS_MAC.search(text))
        and bool(_SOPS_BLOCK.search(text))
    )


def _plain_credential(value: Any, layers: int, sops: bool) -> bool:
    """True when a Secret value holds a credential in plain text: not ENC[...], not empty, not a
    placeholder, looking through ``layers`` of base64."""
    if value is None or isinstance(value, bool):
        return False
    text = str(value).strip()
    if not text or _SOPS_VALUE.fullmatch(text) and sops or _is_placeholder(text):
        return False
    # Look through base64 (``data``, and AWS_B64ENCODED_CREDENTIALS inside it): an encoded
    # placeholder or documented example profile is no more a secret than a plain one.
    for _layer in range(layers):
        decoded = _b64decode(text)
        if decoded is None:
            break
        text = decoded.strip()
        if not text or _is_placeholder(text):
            return False
    return True


# --- shared helpers ---------------------------------------------------------------------------


def _is_placeholder(value: str, *, min_distinct: int = 1) -> bool:
    upper = value.upper()
    if any(word in upper for word in _PLACEHOLDER_WORDS):
        return True
    if len(value) <= 256 and _TEMPLATE.match(value):
        return True
    # "XXXXXXXXXXXXXXXX", "0000...", "abcabc...": a random key uses many distinct characters.
    return len(set(value)) <= max(1, min_distinct)


def _looks_like_secret_key(value: str) -> bool:
    # A random 40-character base64 key lacks an upper-case or a lower-case letter with odds of
    # about one in a billion; a hex SHA-1 or checksum always lacks one of them.
    return (
        not _is_placeholder(value, min_distinct=10)
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
    )


def _decodes_to_credentials(value: str, depth: int = 0) -> bool:
    """True when ``value`` is base64 (once or, as in a Secret's ``data``, twice) of text that
    holds a real access key ID or a keyed secret access key."""
    decoded = _b64decode(value)
    if decoded is None or depth > 1:
        return False
    if any(not _is_placeholder(m.group()[4:], min_distinct=5) for m in _KEY_ID.finditer(decoded)):
        return True
    if any(_looks_like_secret_key(m.group("value")) for m in _SECRET_KEY.finditer(decoded)):
        return True
    token = decoded.strip()
    return bool(re.fullmatch(r"[A-Za-z0-9+/]{16,}={0,2}", token)) and _decodes_to_credentials(
        token, depth + 1
    )


def _b64decode(value: str) -> str | None:
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


def _mask(key_id: str) -> str:
    # Findings end up in CI logs: show enough to find the key in IAM, not the whole ID.
    return f"{key_id[:4]}...{key_id[-4:]}"


class _Lines:
    """1-based line and column of a character offset, computed once per file on demand."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] | None = None

    def position(self, offset: int) -> tuple[int, int]:
        if self._starts is None:
            self._starts = [0] + [m.end() for m in re.finditer("\n", self._text)]
        index = bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1


# --- registration: `check` scans every file of the repository (exclusions applied) ----------


def _repository_findings(ctx: Context) -> list[Finding]:
    """Every file scanned once per check run, for the three rules of this family."""
    return ctx.memo("credential-scan", lambda: _scan_repository(ctx))


def _scan_repository(ctx: Context) -> list[Finding]:
    from capa_accounts.hooks.check import secret_files

    found: list[Finding] = []
    # The loader listed every file (exclusions applied) and kept the text of each YAML file it
    # read: only the other files are read here, and the files git tracks in the directories
    # the loader skips (build/, venv/, node_modules/...): a key there is in git all the same.
    texts = ctx.loaded.texts
    listed = set(ctx.loaded.files)
    tracked = [rel for rel in secret_files.tracked_files(ctx.root) if rel not in listed]
    verified = ctx.loaded.verified  # render's own output, scanned with the plan
    for rel in [*ctx.loaded.files, *tracked]:
        if rel in verified:
            continue
        text = texts.get(rel)
        if text is None:
            path = ctx.root / rel
            if rel not in listed and not os.path.lexists(path):
                continue  # tracked, deleted in the working tree (as render removes files)
            text, skipped = secret_files.read_text(path)
            if text is None and skipped is None:
                try:
                    found.extend(secret_files.scan_chunks(path, rel, check_s001))
                except OSError as err:
                    skipped = f"cannot read ({err.strerror or err})"
            if skipped and secret_files.fails_closed(skipped):
                found.append(unscannable(rel, skipped))
            elif skipped and not skipped.startswith("a symlink"):
                ctx.loaded.warnings.append(f"{rel}: not scanned for credentials: {skipped}")
            if text is None:
                continue
        found.extend(scan_text(rel, text))
    return found


def _report(ctx: Context, report: Reporter) -> None:
    for finding in _repository_findings(ctx):
        if finding.rule == report.rule:
            report.raw(finding)


@rule(S001, S001_SEVERITY, name="PlainTextAwsKey", scope="files", doc=check_s001)
def check_plain_keys(ctx: Context, report: Reporter) -> None:
    _report(ctx, report)


@rule(S002, S002_SEVERITY, name="UnencryptedCredentialsSecret", scope="files", doc=check_s002)
def check_unencrypted_secrets(ctx: Context, report: Reporter) -> None:
    _report(ctx, report)


def unscannable(file: str, reason: str) -> Finding:
    """A file of the repository could not be scanned for credentials (CAPA-S001, CAPA-S002).

    Why: the scan fails closed. A file it cannot read (permissions, an I/O error) or one over
    its 1 GiB bound could hold an access key as well as any other, and a pull request that
    hides a key in such a file must not pass. Symlinks are scanned where their target is, and
    FIFOs, sockets and devices (which git cannot hold) are named as warnings.

    Bad:

        dump.sql   # 2 GiB, tracked in git

    Good:

        # the dump kept out of git; only Kubernetes objects and small text files committed

    Fix: remove the file from git (it is no Kubernetes object Flux applies), or make it
    readable. `spec.check.exclude` does not silence it: every file git tracks is scanned.
    """
    return Finding(
        S003,
        S003_SEVERITY,
        file,
        1,
        1,
        f"not scanned for credentials ({reason}): a key could hide in it; remove it "
        "from git or make it readable",
    )


@rule(S003, S003_SEVERITY, name="FileNotScanned", scope="files", doc=unscannable)
def check_unscannable_files(ctx: Context, report: Reporter) -> None:
    _report(ctx, report)
