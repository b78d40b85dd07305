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

import re
from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from capa_accounts.core.finding import Finding, ResourceRef, Severity
from capa_accounts.core.yamlio import Document, position
from capa_accounts.hooks.check import secret_decode
from capa_accounts.hooks.check.context import Context
from capa_accounts.hooks.check.secret_values import (
    CREDENTIAL_KEYS,
    KEY_ID,
    SECRET_KEY,
    SOPS_VALUE,
    Lines,
    aws_key_value,
    decodes_to_credentials,
    documents,
    is_placeholder,
    looks_like_secret_key,
    mask,
    may_split_a_value,
    objects,
    plain_credential,
    sops_file,
    split_keys,
)
from capa_accounts.hooks.rules import Reporter, rule

S001 = "CAPA-S001"
S001_SEVERITY: Severity = "error"
S002 = "CAPA-S002"
S002_SEVERITY: Severity = "error"
S003 = "CAPA-S003"
S003_SEVERITY: Severity = "error"

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


_FIX = (
    "deactivate the key in IAM, remove it from the file and from git history, use role identities"
)


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
    lines: Lines | None = None
    enc_spans: list[tuple[int, int]] | None = None

    def add(offset: int, what: str) -> None:
        nonlocal lines, enc_spans
        if enc_spans is None:
            enc_spans = [m.span() for m in SOPS_VALUE.finditer(text)] if sops_file(text) else []
        # Inside a SOPS ``ENC[...]`` value the characters are ciphertext, whatever they spell.
        index = bisect_right([start for start, _end in enc_spans], offset) - 1
        if index >= 0 and offset < enc_spans[index][1]:
            return
        lines = lines or Lines(text)
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
    # Every match of SECRET_KEY's name, casefolded, holds this (see _KEY_NAME_FOLDED).
    has_key_name = _KEY_NAME_FOLDED.search(text.casefold()) is not None
    b64_patterns = [
        p
        for p, literal in ((_B64_CREDENTIALS, "AWS_B64ENCODED_CREDENTIALS"), (_B64_PROFILE, "W2"))
        if literal in text
    ]
    if not (has_key_id or has_key_name or b64_patterns):
        return []
    out: list[tuple[int, str]] = []
    for match in KEY_ID.finditer(text) if has_key_id else ():
        key_id = match.group()
        if not is_placeholder(key_id[4:], min_distinct=5):
            kind = "temporary (STS)" if key_id.startswith("ASIA") else "long-term"
            out.append((match.start(), f"AWS {kind} access key ID {mask(key_id)} in plain text"))
    for match in SECRET_KEY.finditer(text) if has_key_name else ():
        if looks_like_secret_key(match.group("value")):
            out.append((match.start("value"), "AWS secret access key in plain text"))
    for pattern in b64_patterns:
        for match in pattern.finditer(text):
            if decodes_to_credentials(match.group("value")):
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
        docs = documents(file, text)
    findings: list[Finding] = []
    for doc in docs:
        for path, obj in objects(doc.data):
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
        docs = documents(file, text)
    findings = check_s001(file, text, docs) + check_s002(file, text, docs)
    if may_split_a_value(text):
        seen = {(f.line, f.column) for f in findings}
        findings += [
            f
            for f in _split_keys(file, docs or documents(file, text))
            if (f.line, f.column) not in seen
        ]
    return sorted(findings, key=Finding.sort_key)


def _split_keys(file: str, docs: list[Document]) -> list[Finding]:
    found = []
    for doc, path, what in split_keys(docs):
        line, column = position(doc.node, path)
        message = f"AWS {what} in plain text, split over lines of a YAML value: {_FIX}"
        found.append(Finding(S001, S001_SEVERITY, file, line, column, message))
    return found


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
                if aws_key_value(key, value, field == "data", sops):
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
            if not plain_credential(value, layers, sops):
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


# --- registration: `check` scans every file of the repository (exclusions applied) ----------


def _repository_findings(ctx: Context) -> list[Finding]:
    """Every file scanned once per check run, for the three rules of this family."""
    return ctx.memo("credential-scan", lambda: _scan_repository(ctx))


def _scan_repository(ctx: Context) -> list[Finding]:
    from capa_accounts.hooks.check import secret_files

    found: list[Finding] = []
    # The loader listed every file the scan reads (exclusions applied, then the files git
    # tracks in the directories its walk skips: build/, venv/, node_modules/...: a key there
    # is in git all the same), named those that are no file to scan, and kept the text of
    # each YAML file it read: only the other files are read here.
    texts = ctx.loaded.texts
    verified = ctx.loaded.verified  # render's own output, scanned with the plan
    for rel in ctx.loaded.scanned:
        if rel in verified:
            continue
        text = texts.get(rel)
        if text is None:
            path = ctx.root / rel
            text, skipped = secret_files.read_text(path)
            if text is None and skipped is None:
                try:
                    found.extend(secret_files.scan_chunks(path, rel, check_s001))
                except OSError as err:
                    skipped = f"cannot read ({err.strerror or err})"
            if skipped and secret_files.fails_closed(skipped):
                found.append(unscannable(rel, skipped))
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
