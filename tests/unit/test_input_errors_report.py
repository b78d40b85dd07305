"""CI always gets a report: on input that cannot be read, every machine format still prints a
valid report carrying the error (file, line), with exit 2, on stdout or into -o; a repository
with several unreadable files names every one of them and still judges the rest."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner, Result

from capa_accounts.cli import main
from capa_accounts.kustomize_plugin import example

BAD_STREAM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n"  # duplicate key
MACHINE = ("json", "sarif", "junit", "gitlab", "github")


def cli(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin)


def errors_in(fmt: str, text: str) -> list[tuple[str, int]]:
    """(file, line) of every input error the report carries; it must parse as its format."""
    if fmt == "json":
        return [
            (f["file"], f["line"])
            for f in json.loads(text)["findings"]
            if f["rule"] == "input-error"
        ]
    if fmt == "sarif":
        run = json.loads(text)["runs"][0]
        assert run["invocations"][0]["executionSuccessful"] is False
        return [
            (
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"],
            )
            for r in run["results"]
            if r["ruleId"] == "input-error"
        ]
    if fmt == "junit":
        root = ElementTree.fromstring(text)  # noqa: S314 - the tool's own output, under test
        cases = [c for c in root.iter("testcase") if c.find("error") is not None]
        assert root.find("testsuite").get("errors") == str(len(cases))  # type: ignore[union-attr]
        return [(str(c.get("file")), int(str(c.get("line")))) for c in cases]
    if fmt == "gitlab":
        return [
            (i["location"]["path"], i["location"]["lines"]["begin"])
            for i in json.loads(text)
            if i["check_name"] == "input-error"
        ]
    return [
        (line.split("file=")[1].split(",")[0], int(line.split("line=")[1].split(",")[0]))
        for line in text.splitlines()
        if line.startswith("::error ") and "title=input-error" in line
    ]


@pytest.mark.parametrize("fmt", MACHINE)
def test_a_stream_that_cannot_be_read_still_gets_a_report(fmt: str, tmp_path: Path) -> None:
    result = cli("check", "-", "--format", fmt, stdin=BAD_STREAM)
    assert result.exit_code == 2, result.output
    assert errors_in(fmt, result.stdout) == [("stdin", 5)]
    assert "Traceback" not in result.output
    out = tmp_path / "report.out"
    written = cli("check", "-", "--format", fmt, "-o", str(out), stdin=BAD_STREAM)
    assert written.exit_code == 2 and written.stdout == ""
    assert errors_in(fmt, out.read_text(encoding="utf-8")) == [("stdin", 5)]


def test_near_miss_text_is_one_line_on_stderr() -> None:
    result = cli("check", "-", stdin=BAD_STREAM)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("capa-accounts: stdin:5:3: duplicate key")


def test_several_unreadable_files_are_each_named_and_the_rest_is_judged(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    example.init(repo)
    addons = repo / "addons"
    addons.mkdir()
    # a duplicate key in an unrelated add-on manifest, and broken YAML beside it
    (addons / "one.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n", encoding="utf-8"
    )
    (addons / "two.yaml").write_text("a: [\n", encoding="utf-8")
    (addons / "three.yaml").write_text(
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSClusterRoleIdentity\n"
        "metadata: {name: x}\nspec:\n  roleARN: arn:aws:iam::222222222222:role/r\n"
        "  sourceIdentityRef: {kind: AWSClusterControllerIdentity, name: default}\n"
        "  allowedNamespaces: {}\n",
        encoding="utf-8",
    )
    text = cli("check", "--repo", str(repo))
    assert text.exit_code == 2
    assert "capa-accounts: addons/one.yaml:5:3: duplicate key 'name'" in text.stderr
    assert "capa-accounts: addons/two.yaml:2:1: invalid YAML" in text.stderr
    assert "addons/three.yaml:7:3: [CAPA-I002]" in text.stdout  # the rest is still judged
    report = json.loads(cli("check", "--repo", str(repo), "--format", "json").stdout)
    assert report["summary"]["inputErrors"] == 2
    rules = {(f["rule"], f["file"]) for f in report["findings"]}
    assert {("input-error", "addons/one.yaml"), ("input-error", "addons/two.yaml")} <= rules
    assert ("CAPA-I002", "addons/three.yaml") in rules


def test_near_miss_a_readable_repository_exits_as_before(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    example.init(repo)
    result = cli("check", "--repo", str(repo), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["inputErrors"] == 0


def test_what_an_unreadable_file_may_hold_is_no_error_elsewhere(tmp_path: Path) -> None:
    """`default` sits in the file that cannot be read: the identities chaining from it get a
    warning naming that assumption, not an error of their own."""
    repo = tmp_path / "repo"
    example.init(repo)
    default = repo / "overlays/management/controller-identity.yaml"
    default.write_text(default.read_text(encoding="utf-8") + "  bad: [\n", encoding="utf-8")
    result = cli("check", "--repo", str(repo), "--format", "json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert [f["file"] for f in report["findings"] if f["severity"] == "error"] == [
        "overlays/management/controller-identity.yaml"
    ]
    i006 = [f for f in report["findings"] if f["rule"] == "CAPA-I006"]
    assert i006 and all(f["severity"] == "warning" for f in i006)
    assert all("a file that could not be read" in f["message"] for f in i006)
