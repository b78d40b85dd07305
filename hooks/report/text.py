"""``--format text``: one ``path:line:col: [RULE] message`` line per finding, coloured on a
terminal (``common.py`` holds the colours and the summary line every format shares)."""

from __future__ import annotations

from capa_accounts.hooks.check.engine import Report
from capa_accounts.hooks.report.common import line


def text(report: Report, color: bool = False) -> str:
    lines = [line(f, color) for f in report.findings]
    return "\n".join(lines) + ("\n" if lines else "")
