"""How findings are printed: text, JSON (and the formats CI systems read)."""

from __future__ import annotations

import json

from hooks.engine import Report


def text(report: Report) -> str:
    lines = [f.text() + ("" if f.severity == "error" else " (warning)") for f in report.findings]
    return "\n".join(lines) + ("\n" if lines else "")


def as_json(report: Report) -> str:
    return json.dumps({"findings": [f.to_json() for f in report.findings],
                       "summary": report.summary()}, indent=2) + "\n"


def summary_line(report: Report) -> str:
    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"
    files = len({f.file for f in report.findings})
    text = f"{plural(report.errors, 'error')}, {plural(report.warnings, 'warning')}"
    if report.findings:
        text += f" in {plural(files, 'file')}"
    if report.suppressed:
        text += f" ({report.suppressed} suppressed)"
    return text
