"""Each CI format against the schema its strictest consumer publishes (tests/data/schemas/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema
from click.testing import CliRunner
from test_report import break_example

from capa_accounts.cli import main

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"
# GitLab's Code Quality report format (docs.gitlab.com, ci/testing/code_quality, "Code Quality
# report format"): an array of issues, each with these fields; severity one of five names.
GITLAB_CODE_QUALITY = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "minLength": 1},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}


def report(repo: Path, fmt: str, *args: str) -> str:
    result = CliRunner().invoke(main, ["check", "--repo", str(repo), "--format", fmt, *args])
    assert result.exit_code in (0, 1), result.output
    return result.stdout


@pytest.fixture(params=["clean", "broken"])
def repo(request: pytest.FixtureRequest, example_repo: Path) -> Path:
    if request.param == "broken":
        break_example(example_repo)  # errors, a warning, a related location
    return example_repo


def test_sarif_is_valid_against_the_official_sarif_2_1_0_schema(repo: Path) -> None:
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(json.loads(report(repo, "sarif")))


@pytest.mark.parametrize("strict", [[], ["--strict"]], ids=["plain", "strict"])
def test_junit_is_valid_against_the_jenkins_xunit_schema(repo: Path, strict: list[str]) -> None:
    xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd").validate(report(repo, "junit", *strict))


def test_junit_near_miss_the_old_testcase_file_attribute_is_rejected() -> None:
    """The schema is strict enough to catch what Jenkins rejected: ``file`` on a test case."""
    old = (
        '<testsuites><testsuite name="s" tests="1" failures="0" errors="0">'
        '<testcase classname="CAPA-I002" name="a.yaml:1:1" file="a.yaml" line="1"/>'
        "</testsuite></testsuites>"
    )
    assert not xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd").is_valid(old)


def test_gitlab_code_quality_has_every_field_gitlab_reads(repo: Path) -> None:
    jsonschema.Draft202012Validator(GITLAB_CODE_QUALITY).validate(
        json.loads(report(repo, "gitlab"))
    )


def _resources(repo: Path) -> list[Any]:
    return [f["resource"] for f in json.loads(report(repo, "json"))["findings"]]


def test_json_resource_is_null_where_nothing_applies(example_repo: Path) -> None:
    break_example(example_repo)  # a hand edit of a generated file: CAPA-R001 too
    resources = _resources(example_repo)
    assert None in resources  # CAPA-R001 is about a file, no object
    objects = [r for r in resources if r is not None]
    assert objects and all(r["kind"] and r["name"] for r in objects)
    assert "" not in {v for r in objects for v in r.values()}
    cluster_scoped = [r for r in objects if r["kind"] == "AWSClusterRoleIdentity"]
    assert cluster_scoped and all(r["namespace"] is None for r in cluster_scoped)
