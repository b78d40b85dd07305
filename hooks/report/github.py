"""``--format github``: GitHub Actions workflow commands, one ``::error``/``::warning`` per
finding, which the runner turns into annotations on a pull request's diff without code
scanning, capped as GitHub shows them."""

from __future__ import annotations

from capa_accounts.core.finding import Finding, Severity
from capa_accounts.hooks.check.engine import Report
from capa_accounts.hooks.report.common import line, summary_line

# actions/toolkit docs/problem-matchers.md, "Limitations": 10 warning, 10 error and 10 notice
# annotations per step, 50 per job; the runner drops the rest without a word.
ANNOTATIONS_PER_STEP = 10


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


def github_capped(report: Report) -> str:
    """``github``, but never more annotations of a severity than GitHub shows.

    Over ``ANNOTATIONS_PER_STEP`` of a severity, the first nine stay annotations, the tenth says
    how many more there are and that this step's log lists them, and those are printed as plain
    ``path:line:col: [RULE] message`` lines (no workflow command, so none is dropped unseen).
    """
    lines = github(report).splitlines()
    findings = report.findings
    if len(lines) != len(findings) + 1:  # one command per finding, then the summary
        return "\n".join(lines) + "\n"
    out: list[str] = []
    rest: list[str] = []
    severities: tuple[Severity, ...] = ("error", "warning")
    for severity in severities:
        mine = [i for i, f in enumerate(findings) if f.severity == severity]
        shown = mine if len(mine) <= ANNOTATIONS_PER_STEP else mine[: ANNOTATIONS_PER_STEP - 1]
        hidden = [findings[i] for i in mine[len(shown) :]]
        out += [lines[i] for i in shown]
        if hidden:
            out.append(_summary_annotation(severity, hidden))
            rest += [_log_line(f) for f in hidden]
    if rest:
        out.append(
            f"capa-accounts: {len(rest)} finding(s) not annotated (GitHub shows "
            f"{ANNOTATIONS_PER_STEP} errors and {ANNOTATIONS_PER_STEP} warnings per step):"
        )
        out += rest
    out.append(lines[-1])
    return "\n".join(out) + "\n"


def _log_line(f: Finding) -> str:
    """A finding as a plain log line that no runner reads as a command: one line, and "- "
    first, so that even a file named "::error" starts no workflow command."""
    text = line(f)
    return "- " + text.replace("\r", "\\r").replace("\n", "\\n")


def _summary_annotation(severity: Severity, hidden: list[Finding]) -> str:
    files = sorted({f.file for f in hidden})
    where = ", ".join(files[:3]) + (f" and {len(files) - 3} more files" if len(files) > 3 else "")
    noun = f"{severity}{'' if len(hidden) == 1 else 's'}"
    message = (
        f"{len(hidden)} more {noun} not shown as annotations (GitHub shows "
        f"{ANNOTATIONS_PER_STEP} per step), in {where}: listed in this step's log, "
        "and all of them with --format sarif"
    )
    # Through the same escaping as every other command (github, a Report of one).
    return github(
        Report(
            [
                Finding(
                    "capa-accounts",
                    severity,
                    hidden[0].file,
                    hidden[0].line,
                    hidden[0].column,
                    message,
                )
            ]
        )
    ).splitlines()[0]
