"""SARIF 2.1.0: findings for GitHub code scanning and other static-analysis dashboards.

One run whose ``tool.driver.rules`` holds the rules that fired, each with its short name, its
title, why it matters, the fix and a ``helpUri`` to its page on the documentation site (the full
documentation is there, not repeated in every report), and one result per finding. GitHub
code scanning reads a subset of SARIF 2.1.0 (docs.github.com, "SARIF support for code
scanning"): ``ruleId``, ``level``, ``message.text``, a ``physicalLocation`` with a
repository-relative ``artifactLocation.uri`` and a ``region``, and ``partialFingerprints`` to
follow an alert from commit to commit.
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from collections import Counter
from importlib import metadata
from typing import Any
from urllib.parse import quote

from capa_accounts.core.finding import Finding, Location
from capa_accounts.hooks.check.engine import Report
from capa_accounts.hooks.report import rule_pages
from capa_accounts.hooks.rules import Rule, all_rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL = "capa-accounts"
INFORMATION_URI = "https://github.com/capa-accounts/capa-accounts"
SRCROOT = "%SRCROOT%"
FINGERPRINT = "capaFinding/v1"
# D rules head their examples "Bad (at REF ...):"; the aside is dropped from the section name.
_SECTION = re.compile(r"^(Why|Bad|Good|Fix)(?: \([^)]*\))?:[ \t]*", re.MULTILINE)
# semver.org 2.0.0, the form SARIF's semanticVersion asks for (SARIF 2.1.0 §3.19.6).
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
# "file:12" or "line 12" inside a message: not part of the fingerprint, so that an alert is
# the same alert when lines above it move.
_LINE_REF = re.compile(r"(?P<file>\.ya?ml)(?::\d+){1,2}\b|\blines? \d+")


def sections(doc: str) -> dict[str, str]:
    """A rule docstring's parts: ``title`` (first line), then Why, Bad, Good and Fix."""
    title, _, rest = doc.partition("\n")
    out = {"title": title.strip()}
    parts = _SECTION.split(rest)
    if parts[0].strip():
        out["intro"] = _dedent(parts[0])
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        out[name] = _dedent(body)
    return out


def _dedent(body: str) -> str:
    # "Why: text" continues on unindented lines; "Bad:" and "Good:" hold indented YAML.
    return textwrap.dedent(body).strip("\n").rstrip()


def rule_name(title: str) -> str:
    """A CamelCase name from a rule's title: its words up to the first ": " or ". " outside
    backticks, parenthesised asides left out."""
    head = re.sub(r"\([^)]*\)", "", title)
    spans = head.split("`")
    for i in range(0, len(spans), 2):  # even spans are outside backticks
        cut = re.search(r"[:.](\s|$)", spans[i])
        if cut:
            spans = [*spans[:i], spans[i][: cut.start()]]
            break
    words = re.findall(r"[A-Za-z0-9]+", " ".join(spans).replace("'", ""))
    return "".join(w[:1].upper() + w[1:] for w in words) or "Rule"


def _help(rule: Rule, parts: dict[str, str], uri: str | None) -> dict[str, str]:
    fix = " ".join(parts.get("Fix", "").split())
    text = [parts["title"], *([f"Fix: {fix}"] if fix else [])]
    markdown = [f"**{rule.id}**: {parts['title']}", *([f"**Fix:** {fix}"] if fix else [])]
    if uri:
        text.append(f"Documentation: {uri}")
        markdown.append(f"[{rule.id} in the documentation]({uri})")
    return {"text": "\n\n".join(text), "markdown": "\n\n".join(markdown)}


def _parts(rule: Rule) -> dict[str, str]:
    parts = sections(rule.doc)
    # A docstring that repeats its ID ("CAPA-S001: an AWS access key ...") keeps the rest.
    title = parts["title"].removeprefix(f"{rule.id}:").strip()
    parts["title"] = title[:1].upper() + title[1:]
    return parts


def _bounded(text: str, limit: int) -> str:
    # GitHub code scanning's limits: rule names 255 characters, descriptions 1024 ("SARIF
    # support for code scanning", reportingDescriptor object).
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _descriptor(rule: Rule) -> dict[str, Any]:
    parts = _parts(rule)
    full = parts.get("Why") or parts.get("intro") or parts["title"]
    uri = rule_pages.help_uri(rule)
    out: dict[str, Any] = {
        "id": rule.id,
        "name": _bounded(rule.name or rule_name(parts["title"]), 255),
        "shortDescription": {"text": _bounded(parts["title"], 1024)},
        "fullDescription": {"text": _bounded(full, 1024)},
        "help": _help(rule, parts, uri),
        "defaultConfiguration": {"level": rule.severity},
        "properties": {"tags": ["security", rule_pages.family(rule)]},
    }
    if uri:
        out["helpUri"] = uri
    return out


def _uri(file: str) -> str:
    # A URI reference (RFC 3986): spaces and other reserved characters percent-encoded.
    return quote(file, safe="/")


def _location(loc: Location) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(loc.file), "uriBaseId": SRCROOT},
            "region": {"startLine": max(loc.line, 1), "startColumn": max(loc.column, 1)},
        }
    }


def _line_free(message: str) -> str:
    return _LINE_REF.sub(lambda m: m["file"] or "", message)


def fingerprint(finding: Finding, occurrence: int = 1) -> str:
    """Stable across commits: rule, file and message, never the line it sits on."""
    message = _line_free(finding.message)
    key = "\0".join((finding.rule, finding.file, message, str(occurrence)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _results(report: Report, index: dict[str, int]) -> list[dict[str, Any]]:
    seen: Counter[tuple[str, str, str]] = Counter()
    out = []
    for f in report.findings:
        seen[(f.rule, f.file, _line_free(f.message))] += 1
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": f.severity,
            "message": {"text": f.message},
            "locations": [_location(Location(f.file, f.line, f.column))],
            "partialFingerprints": {
                FINGERPRINT: fingerprint(f, seen[(f.rule, f.file, _line_free(f.message))])
            },
        }
        if f.related:
            result["relatedLocations"] = [
                {"id": i, **_location(r), "message": {"text": "the other side of this finding"}}
                for i, r in enumerate(f.related, 1)
            ]
        out.append(result)
    return out


def _version() -> str:
    try:
        return metadata.version(TOOL)
    except metadata.PackageNotFoundError:
        return "0.0.0"


def document(report: Report) -> dict[str, Any]:
    catalogue = all_rules()
    # Only the rules that fired, in ID order; a loader problem may carry a rule no module
    # registers.
    ids = sorted({f.rule for f in report.findings})
    descriptors = [
        _descriptor(catalogue[i]) if i in catalogue else {"id": i, "shortDescription": {"text": i}}
        for i in ids
    ]
    version = _version()
    driver: dict[str, Any] = {
        "name": TOOL,
        "informationUri": INFORMATION_URI,
        "version": version,
        "rules": descriptors,
    }
    if _SEMVER.match(version):
        driver["semanticVersion"] = version
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "columnKind": "unicodeCodePoints",  # PyYAML marks count code points
        "results": _results(report, {rule_id: i for i, rule_id in enumerate(ids)}),
        "invocations": [
            {
                # A file that could not be read: the run is not a whole verdict.
                "executionSuccessful": not report.input_errors,
                "toolExecutionNotifications": [
                    {"level": "warning", "message": {"text": w}} for w in report.warnings_loading
                ]
                + [
                    {
                        "level": "error",
                        "message": {"text": f.message},
                        "locations": [_location(Location(f.file, f.line, f.column))],
                    }
                    for f in report.input_errors
                ],
            }
        ],
        "properties": {"suppressed": report.suppressed},
    }
    if report.kustomize is not None:  # what confined the kustomize builds
        run["properties"]["kustomize"] = report.kustomize
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def render(report: Report) -> str:
    return json.dumps(document(report), indent=2) + "\n"
