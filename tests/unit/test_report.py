"""Output formats of `check`: text (with colour on a terminal), SARIF 2.1.0, GitHub commands."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import edit, line_of, run_check

from capa_accounts.cli import main
from capa_accounts.core.finding import Finding, Location, ResourceRef
from capa_accounts.hooks.check.engine import Report
from capa_accounts.hooks.report import common
from capa_accounts.hooks.report import github as github_format
from capa_accounts.hooks.report import text as text_format
from capa_accounts.hooks.rules import all_rules

LIVE_IDENTITY = "overlays/live/identity.yaml"
STAGING_IDENTITY = "overlays/staging/identity.yaml"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# The part of the SARIF 2.1.0 schema (docs.oasis-open.org/sarif/sarif/v2.1.0, sarif-schema-2.1.0
# .json) that GitHub code scanning relies on ("SARIF support for code scanning"), with the
# property names of each object we write closed, so that a misspelt key fails here.
_MESSAGE = {
    "type": "object",
    "required": ["text"],
    "additionalProperties": False,
    "properties": {"text": {"type": "string", "minLength": 1}, "markdown": {"type": "string"}},
}
# GitHub truncates rule descriptions past 1024 characters.
_DESCRIPTION = {
    **_MESSAGE,
    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 1024}},
}
_LEVEL = {"enum": ["none", "note", "warning", "error"]}
_LOCATION = {
    "type": "object",
    "required": ["physicalLocation"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer", "minimum": -1},
        "message": _MESSAGE,
        "physicalLocation": {
            "type": "object",
            "required": ["artifactLocation", "region"],
            "additionalProperties": False,
            "properties": {
                "artifactLocation": {
                    "type": "object",
                    "required": ["uri"],
                    "additionalProperties": False,
                    "properties": {
                        "uri": {"type": "string", "pattern": "^[^:/][^:]*$"},
                        "uriBaseId": {"type": "string"},
                    },
                },
                "region": {
                    "type": "object",
                    "required": ["startLine"],
                    "additionalProperties": False,
                    "properties": {
                        "startLine": {"type": "integer", "minimum": 1},
                        "startColumn": {"type": "integer", "minimum": 1},
                        "endLine": {"type": "integer", "minimum": 1},
                        "endColumn": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
    },
}
SARIF_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version", "runs"],
    "additionalProperties": False,
    "properties": {
        "$schema": {"type": "string"},
        "version": {"enum": ["2.1.0"]},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool"],
                "additionalProperties": False,
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "additionalProperties": False,
                                "properties": {
                                    "name": {"type": "string", "minLength": 1},
                                    "informationUri": {"type": "string", "pattern": "^https://"},
                                    "version": {"type": "string"},
                                    "semanticVersion": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "additionalProperties": False,
                                            "properties": {
                                                "id": {"type": "string"},
                                                "name": {
                                                    "type": "string",
                                                    "pattern": "^[A-Z][A-Za-z0-9]*$",
                                                    "maxLength": 255,
                                                },
                                                "shortDescription": _DESCRIPTION,
                                                "fullDescription": _DESCRIPTION,
                                                "help": _MESSAGE,
                                                "helpUri": {
                                                    "type": "string",
                                                    "pattern": "^https://",
                                                },
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "additionalProperties": False,
                                                    "properties": {"level": _LEVEL},
                                                },
                                                "properties": {
                                                    "type": "object",
                                                    "properties": {
                                                        "tags": {
                                                            "type": "array",
                                                            "items": {"type": "string"},
                                                            "uniqueItems": True,
                                                        }
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message", "locations"],
                            "additionalProperties": False,
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": _LEVEL,
                                "message": _MESSAGE,
                                "locations": {"type": "array", "minItems": 1, "items": _LOCATION},
                                "relatedLocations": {"type": "array", "items": _LOCATION},
                                "partialFingerprints": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                },
                            },
                        },
                    },
                    "invocations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["executionSuccessful"],
                            "properties": {
                                "executionSuccessful": {"type": "boolean"},
                                "toolExecutionNotifications": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["message"],
                                        "properties": {"message": _MESSAGE, "level": _LEVEL},
                                    },
                                },
                            },
                        },
                    },
                    "properties": {"type": "object"},
                },
            },
        },
    },
}


def cli(repo: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["check", "--repo", str(repo), *args])


def sarif(repo: Path) -> tuple[int, dict[str, Any]]:
    result = cli(repo, "--format", "sarif")
    return result.exit_code, json.loads(result.stdout)


def break_example(repo: Path) -> None:
    """live's identity also admits staging (X001 with a related location, I005, R001), and
    staging's has policyARNs (T008, a warning)."""
    edit(repo / LIVE_IDENTITY, "    - live\n", "    - live\n    - staging\n")
    edit(
        repo / STAGING_IDENTITY,
        "  allowedNamespaces:",
        "  policyARNs: [arn:aws:iam::aws:policy/ReadOnlyAccess]\n  allowedNamespaces:",
    )


def results_of(doc: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [r for r in doc["runs"][0]["results"] if r["ruleId"] == rule]


# --- SARIF ------------------------------------------------------------------------------------


def test_sarif_validates_and_locates_every_finding(example_repo: Path) -> None:
    break_example(example_repo)
    code, doc = sarif(example_repo)
    jsonschema.Draft202012Validator(SARIF_SCHEMA).validate(doc)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert code == 1
    findings = run_check(example_repo).findings
    # Only the rules that fired, in ID order.
    assert [r["id"] for r in rules] == sorted({f.rule for f in findings})
    assert {r["id"] for r in rules} == {"CAPA-I005", "CAPA-R001", "CAPA-T008", "CAPA-X001"}
    assert [(r["ruleId"], r["level"], r["message"]["text"]) for r in run["results"]] == [
        (f.rule, f.severity, f.message) for f in findings
    ]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == (
            "%SRCROOT%"
        )
    x001 = results_of(doc, "CAPA-X001")[0]
    assert x001["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == LIVE_IDENTITY
    assert x001["locations"][0]["physicalLocation"]["region"]["startLine"] == line_of(
        example_repo / LIVE_IDENTITY, "    - staging"
    )
    assert [
        (
            r["physicalLocation"]["artifactLocation"]["uri"],
            r["physicalLocation"]["region"]["startLine"],
        )
        for r in x001["relatedLocations"]
    ] == [(STAGING_IDENTITY, line_of(example_repo / STAGING_IDENTITY, "    - staging"))]
    assert [r["level"] for r in results_of(doc, "CAPA-T008")] == ["warning"]


def test_sarif_of_a_clean_repository_has_no_rules_and_no_results(example_repo: Path) -> None:
    code, doc = sarif(example_repo)
    jsonschema.Draft202012Validator(SARIF_SCHEMA).validate(doc)
    driver = doc["runs"][0]["tool"]["driver"]
    assert (code, doc["runs"][0]["results"], driver["rules"]) == (0, [], [])
    assert (doc["version"], driver["name"], driver["semanticVersion"]) == (
        "2.1.0",
        "capa-accounts",
        driver["version"],
    )
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"


@pytest.mark.parametrize(
    ("rule", "name", "level", "page", "why", "fix"),
    [
        (
            "CAPA-T008",
            "PolicyArnsIgnored",
            "warning",
            "rules/sessions/#capa-t008",
            "CAPA builds the AssumeRole input",
            "Fix: remove `policyARNs`; narrow",
        ),
        (
            "CAPA-X001",
            "SharedNamespaceOrIdentity",
            "error",
            "rules/crossaccount/#capa-x001",
            "CAPA decides which credentials",
            "Fix: ",
        ),
    ],
    ids=["T008", "X001"],
)
def test_sarif_rules_carry_a_short_name_and_their_page(
    example_repo: Path, rule: str, name: str, level: str, page: str, why: str, fix: str
) -> None:
    break_example(example_repo)
    _, doc = sarif(example_repo)
    descriptor = next(r for r in doc["runs"][0]["tool"]["driver"]["rules"] if r["id"] == rule)
    doc_text = all_rules()[rule].doc
    uri = f"https://capa-accounts.github.io/capa-accounts/{page}"
    assert descriptor["name"] == name
    assert descriptor["helpUri"] == uri
    assert descriptor["shortDescription"]["text"] == doc_text.split("\n")[0]
    assert descriptor["fullDescription"]["text"].startswith(why)
    assert descriptor["defaultConfiguration"]["level"] == level
    assert descriptor["help"]["text"].endswith(f"Documentation: {uri}")
    assert f"[{rule} in the documentation]({uri})" in descriptor["help"]["markdown"]
    assert fix in descriptor["help"]["text"]
    # The full documentation (its Bad and Good examples) is on the page, not in every report.
    assert "Bad" not in descriptor["help"]["text"] and "Bad" not in descriptor["help"]["markdown"]


def test_sarif_stays_small_when_few_rules_fire(example_repo: Path) -> None:
    """It carried every rule's full documentation: 160 KB for three findings."""
    edit(example_repo / LIVE_IDENTITY, "    - live\n", "    - live\n    - staging\n")
    result = cli(example_repo, "--format", "sarif")
    doc = json.loads(result.stdout)
    assert len(doc["runs"][0]["results"]) == 3
    assert len(result.stdout.encode()) < 12_000, len(result.stdout.encode())
    assert len(doc["runs"][0]["tool"]["driver"]["rules"]) == 3


IDENTITY = """\
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterRoleIdentity
metadata:
  name: {name}
spec:
  roleARN: arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io
  sourceIdentityRef: {{kind: AWSClusterControllerIdentity, name: default}}
  allowedNamespaces:
    selector:
      matchLabels:
        team: staging
"""


def test_sarif_fingerprints_follow_a_finding_when_lines_move(example_repo: Path) -> None:
    path = example_repo / "platform" / "identities.yaml"
    path.parent.mkdir()
    path.write_text(
        IDENTITY.format(name="one") + "---\n" + IDENTITY.format(name="two"), encoding="utf-8"
    )

    def fingerprints() -> dict[tuple[str, int], str]:
        _, doc = sarif(example_repo)
        return {
            (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]): r[
                "partialFingerprints"
            ]["capaFinding/v1"]
            for r in doc["runs"][0]["results"]
        }

    before = fingerprints()
    assert len(before) == 2 and len(set(before.values())) == 2  # one alert per identity
    path.write_text(
        "# moved down by a comment\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8"
    )
    after = fingerprints()
    assert sorted(after.values()) == sorted(before.values())
    assert set(after) == {(rule, line + 2) for rule, line in before}


# --- GitHub workflow commands -----------------------------------------------------------------


def test_github_format_annotates_each_finding(example_repo: Path) -> None:
    break_example(example_repo)
    result = cli(example_repo, "--format", "github")
    lines = result.stdout.splitlines()
    findings = run_check(example_repo).findings
    assert result.exit_code == 1
    assert len(lines) == len(findings) + 1
    live = line_of(example_repo / LIVE_IDENTITY, "    - staging")
    assert any(
        line.startswith(f"::error file={LIVE_IDENTITY},line={live},col=7,title=CAPA-X001::")
        for line in lines
    )
    assert any(
        line.startswith(f"::warning file={STAGING_IDENTITY},") and "title=CAPA-T008::" in line
        for line in lines
    )
    assert lines[-1] == common.summary_line(run_check(example_repo))
    assert lines[-1].endswith(" errors, 1 warning in 2 of 26 files")


@pytest.mark.parametrize(
    ("file", "message", "line"),
    [
        ("a.yaml", "plain", "::error file=a.yaml,line=3,col=5,title=CAPA-I002::plain"),
        (
            "dir,x/a:b.yaml",
            "50% of\r\nit: a, b",
            # The finding escapes CR and LF itself (as repr does), before the format sees them.
            "::error file=dir%2Cx/a%3Ab.yaml,line=3,col=5,title=CAPA-I002::50%25 of\\r\\nit: a, b",
        ),
    ],
    ids=["plain", "escaped"],
)
def test_github_format_escapes_properties_and_message(file: str, message: str, line: str) -> None:
    report = Report([Finding("CAPA-I002", "error", file, 3, 5, message)], files=1)
    assert github_format.github(report) == f"{line}\n1 error, 0 warnings in 1 file\n"


# --- text and colour --------------------------------------------------------------------------

REPORT = Report(
    [
        Finding(
            "CAPA-I002",
            "error",
            "a.yaml",
            3,
            5,
            "admits every namespace",
            ResourceRef("v1", "X", "x"),
            (Location("b.yaml", 1, 1),),
        ),
        Finding("CAPA-I004", "warning", "a.yaml", 9, 5, "uses a selector"),
        Finding("CAPA-T001", "error", "b.yaml", 2, 3, "bad roleARN"),
        Finding("CAPA-T002", "error", "b.yaml", 4, 3, "wrong account"),
    ],
    suppressed=2,
    files=5,
)


def test_text_in_colour_paints_rule_and_location() -> None:
    painted = text_format.text(REPORT, color=True)
    assert "\x1b[2ma.yaml:3:5:\x1b[0m \x1b[1;31m[CAPA-I002]\x1b[0m admits" in painted
    assert "\x1b[1;33m[CAPA-I004]\x1b[0m uses a selector \x1b[1;33m(warning)\x1b[0m" in painted
    assert ANSI.sub("", painted) == text_format.text(REPORT, color=False)
    assert "\x1b" not in text_format.text(REPORT)


@pytest.mark.parametrize(
    ("report", "color", "line"),
    [
        (REPORT, False, "3 errors, 1 warning in 2 of 5 files (2 suppressed)"),
        (
            REPORT,
            True,
            "\x1b[1;31m3 errors\x1b[0m, \x1b[1;33m1 warning\x1b[0m in 2 of 5 files (2 suppressed)",
        ),
        (Report([]), True, "0 errors, 0 warnings"),
    ],
    ids=["plain", "colour", "clean"],
)
def test_summary_line(report: Report, color: bool, line: str) -> None:
    assert common.summary_line(report, color=color) == line


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "environ", "wanted"),
    [
        (True, {}, True),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"NO_COLOR": ""}, True),  # no-color.org: an empty value does not count
        (False, {}, False),
    ],
    ids=["terminal", "no-color", "no-color-empty", "pipe"],
)
def test_color_wanted(tty: bool, environ: dict[str, str], wanted: bool) -> None:
    assert common.color_wanted(_Stream(tty), environ) is wanted


def test_text_check_through_a_pipe_has_no_escape_codes(example_repo: Path) -> None:
    break_example(example_repo)
    result = cli(example_repo)
    findings = run_check(example_repo).findings
    assert result.exit_code == 1
    assert "\x1b" not in result.output
    assert result.stdout.splitlines() == [
        f.text() + ("" if f.severity == "error" else " (warning)") for f in findings
    ]
    assert result.stderr == common.summary_line(run_check(example_repo)) + "\n"
    assert result.stderr.endswith(" errors, 1 warning in 2 of 26 files\n")
