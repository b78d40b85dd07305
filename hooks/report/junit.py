"""``--format junit``: JUnit XML as Jenkins' and GitLab's test reports read it."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from capa_accounts.core.finding import Finding
from capa_accounts.hooks.check.engine import Report

# XML 1.0 §2.2 Char: a report with any other character is not well-formed and CI rejects it.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


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
