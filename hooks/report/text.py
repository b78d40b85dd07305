"""How findings are printed: text (coloured on a terminal), JSON, and the formats CI reads.

SARIF, for GitHub code scanning and other SARIF consumers, lives in ``hooks/report/sarif.py``; the
GitHub Actions workflow commands, which annotate a pull request's diff without code scanning, are
here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TextIO

from capa_accounts.core.finding import Finding
from capa_accounts.hooks.check.engine import Report

# ANSI SGR codes (ECMA-48): bold red, bold yellow, dim, reset.
_RED, _YELLOW, _DIM, _RESET = "\x1b[1;31m", "\x1b[1;33m", "\x1b[2m", "\x1b[0m"


COLOR_CHOICES = ("auto", "always", "never")


def color_wanted(stream: TextIO, environ: Mapping[str, str], choice: str = "auto") -> bool:
    """``--color``: ``always`` and ``never`` as said; ``auto`` colours a terminal, unless
    NO_COLOR is set to a non-empty value, and anything when FORCE_COLOR is (a CI log that
    renders ANSI, such as GitHub's and GitLab's).

    no-color.org: "when present and not an empty string (regardless of its value), prevents
    the addition of ANSI color"; force-color.org: "when present and not an empty string
    (regardless of its value), should force the addition of ANSI color". NO_COLOR wins when
    both are set: the user's refusal over the environment's offer.
    """
    if choice != "auto":
        return choice == "always"
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _paint(code: str, text: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def _line(f: Finding, color: bool) -> str:
    """``path:line:col: [RULE] message``, as yamllint and compilers print, 1-based."""
    if not color:
        return f.text() + ("" if f.severity == "error" else " (warning)")
    hue = _RED if f.severity == "error" else _YELLOW
    where = _paint(_DIM, f"{f.file}:{f.line}:{f.column}:", color)
    tail = "" if f.severity == "error" else " " + _paint(_YELLOW, "(warning)", color)
    return f"{where} {_paint(hue, f'[{f.rule}]', color)} {f.message}{tail}"


def text(report: Report, color: bool = False) -> str:
    lines = [_line(f, color) for f in report.findings]
    return "\n".join(lines) + ("\n" if lines else "")


def as_json(report: Report) -> str:
    return (
        json.dumps(
            {"findings": [f.to_json() for f in report.findings], "summary": report.summary()},
            indent=2,
        )
        + "\n"
    )


def summary_line(report: Report, color: bool = False) -> str:
    """``3 errors, 1 warning in 2 of 41 files (1 suppressed)``; ``0 errors, 0 warnings in 41
    files`` when clean (a stream on stdin has no files: ``in 2 files``, or nothing)."""

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    errors = _paint(_RED, plural(report.errors, "error"), color and report.errors > 0)
    warnings = _paint(_YELLOW, plural(report.warnings, "warning"), color and report.warnings > 0)
    line = f"{errors}, {warnings}"
    with_findings = len({f.file for f in report.findings})
    if with_findings and report.files > with_findings:
        line += f" in {with_findings} of {plural(report.files, 'file')}"
    elif with_findings:
        line += f" in {plural(with_findings, 'file')}"
    elif report.files:
        line += f" in {plural(report.files, 'file')}"
    if report.suppressed:
        line += f" ({report.suppressed} suppressed)"
    if report.kustomize is not None:
        line += f"; kustomize built in {report.kustomize}"
    return line


# --- GitHub Actions workflow commands ---------------------------------------------------------


def _escape_data(value: str) -> str:
    # actions/toolkit packages/core/src/command.ts escapeData: %, CR and LF.
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    # command.ts escapeProperty: as escapeData, plus ":" and "," which end a property.
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(report: Report) -> str:
    """One ``::error``/``::warning`` command per finding, then the summary (a plain line).

    The runner turns each command into an annotation on the pull request's changed lines
    (docs.github.com, "Workflow commands for GitHub Actions", setting an error message).
    """
    lines = []
    for f in report.findings:
        props = ",".join(
            f"{key}={_escape_property(str(value))}"
            for key, value in (
                ("file", f.file),
                ("line", f.line),
                ("col", f.column),
                ("title", f.rule),
            )
        )
        lines.append(f"::{f.severity} {props}::{_escape_data(f.message)}")
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"
