"""The report formats CI systems read besides SARIF: JUnit XML, GitLab Code Quality, and the
GitHub Actions annotations capped as GitHub shows them.

``formats.REPORTER_BY_NAME`` names the writer of every format of ``check --format``; text,
JSON and the GitHub workflow commands themselves are ``capa_accounts.hooks.report.text``'s.
"""

from __future__ import annotations

import hashlib
import json
import re
from xml.etree import ElementTree

from capa_accounts.core.finding import Finding, Severity
from capa_accounts.hooks.check.engine import Report
from capa_accounts.hooks.report import text as reporting

# actions/toolkit docs/problem-matchers.md, "Limitations": 10 warning, 10 error and 10 notice
# annotations per step, 50 per job; the runner drops the rest without a word.
ANNOTATIONS_PER_STEP = 10
# XML 1.0 §2.2 Char: a report with any other character is not well-formed and CI rejects it.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# GitLab's severities (docs.gitlab.com, ci/testing/code_quality, "Code Quality report format").
_GITLAB_SEVERITY = {"error": "major", "warning": "minor"}


# --- GitHub annotations -----------------------------------------------------------------------


def github_capped(report: Report) -> str:
    """``report.github``, but never more annotations of a severity than GitHub shows.

    Over ``ANNOTATIONS_PER_STEP`` of a severity, the first nine stay annotations, the tenth says
    how many more there are and that this step's log lists them, and those are printed as plain
    ``path:line:col: [RULE] message`` lines (no workflow command, so none is dropped unseen).
    """
    lines = reporting.github(report).splitlines()
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
    text = reporting.text(Report([f])).rstrip("\n")
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
    # Through the same escaping as every other command (report.github, a Report of one).
    return reporting.github(
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


# --- JUnit XML --------------------------------------------------------------------------------


def _xml_text(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def junit(report: Report, *, strict: bool = False) -> str:
    """JUnit XML as Jenkins' and GitLab's test reports read it: one test suite per file with
    findings, one test case per finding (a ``failure`` when it fails the check: an error, or a
    warning with ``--strict``; an ``error`` for a file that could not be read), and one passing
    case when there is nothing to report, so that a clean run is not an empty suite.

    The Jenkins xUnit plugin validates against its ``junit-10.xsd`` (jenkinsci/xunit-plugin,
    src/main/resources/org/jenkinsci/plugins/xunit/types/model/xsd/junit-10.xsd), which allows
    only ``name``, ``time``, ``classname`` and ``group`` on a ``testcase`` but ``file`` on a
    ``testsuite``. GitLab reads ``classname``, ``name`` and an optional ``file`` of each test
    case (gitlab-org/gitlab, lib/gitlab/ci/parsers/test/junit.rb) and ignores the rest. So the
    path and line are in the case's name (``path:line:col``), which both show, and the path is
    the suite's ``file``; no attribute either one rejects.
    """
    broken = set(report.input_errors)  # a file that could not be read: an <error>, not a failure
    failing = [f for f in report.findings if (f.severity == "error" or strict) and f not in broken]
    suites = ElementTree.Element(
        "testsuites",
        {
            "name": "capa-accounts",
            "tests": str(max(1, len(report.findings))),
            "failures": str(len(failing)),
            "errors": str(len(broken)),
        },
    )
    by_file: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_file.setdefault(f.file, []).append(f)
    for file, findings in by_file.items():
        suite = _suite(suites, f"capa-accounts check: {file}", findings, failing, broken)
        suite.set("file", _xml_text(file))
        for f in findings:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                {
                    "classname": _xml_text(f.rule),
                    "name": _xml_text(f"{f.file}:{f.line}:{f.column}"),
                },
            )
            if f in broken or f in failing:
                failure = ElementTree.SubElement(
                    case,
                    "error" if f in broken else "failure",
                    {"message": _xml_text(f.message), "type": f.severity},
                )
                failure.text = _xml_text(f.text())
            else:
                ElementTree.SubElement(case, "system-out").text = _xml_text(f"warning: {f.text()}")
    if not report.findings:
        suite = _suite(suites, "capa-accounts check", [], [], set())
        ElementTree.SubElement(
            suite, "testcase", classname="capa-accounts", name="every rule over the repository"
        )
    ElementTree.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + ElementTree.tostring(suites, encoding="unicode")
        + "\n"
    )


def _suite(
    parent: ElementTree.Element,
    name: str,
    findings: list[Finding],
    failing: list[Finding],
    broken: set[Finding],
) -> ElementTree.Element:
    return ElementTree.SubElement(
        parent,
        "testsuite",
        {
            "name": _xml_text(name),
            "tests": str(max(1, len(findings))),
            "failures": str(sum(f in failing for f in findings)),
            "errors": str(sum(f in broken for f in findings)),
            "skipped": "0",
        },
    )


# --- GitLab Code Quality ----------------------------------------------------------------------


def gitlab(report: Report) -> str:
    """A Code Quality report: a JSON array, one issue per finding, each with a fingerprint that
    is unique in the report (GitLab shows only the first issue of a fingerprint)."""
    issues = []
    for f in report.findings:
        key = "\0".join((f.rule, f.file, str(f.line), str(f.column), f.message))
        issues.append(
            {
                "description": f"[{f.rule}] {f.message}",
                "check_name": f.rule,
                "fingerprint": hashlib.sha256(key.encode()).hexdigest(),
                "severity": _GITLAB_SEVERITY[f.severity],
                "location": {"path": f.file, "lines": {"begin": f.line}},
            }
        )
    return json.dumps(issues, indent=2) + "\n"
