"""What every report format shares: the colours of a terminal, a finding's one-line text form
and the summary line (``3 errors, 1 warning in 2 of 41 files``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

from capa_accounts.core.finding import Finding
from capa_accounts.hooks.check.engine import Report

# ANSI SGR codes (ECMA-48): bold red, bold yellow, dim, reset.
RED, YELLOW, DIM, RESET = "\x1b[1;31m", "\x1b[1;33m", "\x1b[2m", "\x1b[0m"

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


def paint(code: str, text: str, color: bool) -> str:
    return f"{code}{text}{RESET}" if color else text


def line(f: Finding, color: bool = False) -> str:
    """``path:line:col: [RULE] message``, as yamllint and compilers print, 1-based."""
    if not color:
        return f.text() + ("" if f.severity == "error" else " (warning)")
    hue = RED if f.severity == "error" else YELLOW
    where = paint(DIM, f"{f.file}:{f.line}:{f.column}:", color)
    tail = "" if f.severity == "error" else " " + paint(YELLOW, "(warning)", color)
    return f"{where} {paint(hue, f'[{f.rule}]', color)} {f.message}{tail}"


def summary_line(report: Report, color: bool = False) -> str:
    """``3 errors, 1 warning in 2 of 41 files (1 suppressed)``; ``0 errors, 0 warnings in 41
    files`` when clean (a stream on stdin has no files: ``in 2 files``, or nothing); and how
    many files were judged anew when verdicts were kept (hooks/check/verified.py)."""

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    errors = paint(RED, plural(report.errors, "error"), color and report.errors > 0)
    warnings = paint(YELLOW, plural(report.warnings, "warning"), color and report.warnings > 0)
    text = f"{errors}, {warnings}"
    with_findings = len({f.file for f in report.findings})
    if with_findings and report.files > with_findings:
        text += f" in {with_findings} of {plural(report.files, 'file')}"
    elif with_findings:
        text += f" in {plural(with_findings, 'file')}"
    elif report.files:
        text += f" in {plural(report.files, 'file')}"
    if report.suppressed:
        text += f" ({report.suppressed} suppressed)"
    if report.kept:
        anew = max(report.files - report.kept, 0)
        text += (
            f"; the rules that judge a file alone judged {plural(anew, 'file')} anew "
            f"({report.kept} unchanged since their verdict was kept)"
        )
    if report.kustomize is not None:
        text += f"; kustomize built in {report.kustomize}"
    return text
