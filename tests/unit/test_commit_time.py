"""Findings that point at the line to edit: base/ templates, the repository root found from a
subdirectory, "did you mean" in accounts.yaml, EKS versions, and capa-accounts-fn --help."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edit, line_of, of_rule, run_check
from gitrepo import rerender

from capa_accounts.cli import main

STAGING_CLUSTER = "overlays/staging/cluster-staging.yaml"
LIVE_CLUSTER = "overlays/live/cluster-live.yaml"


def cli(*args: str) -> object:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# --- base/ typos: one finding at the template -----------------------------------------------------


def test_a_typo_in_base_is_reported_once_at_the_template(example_repo: Path) -> None:
    base = example_repo / "base/cluster.yaml"
    edit(base, "  identityRef:", "  identityref:")
    rerender(example_repo)
    found = of_rule(run_check(example_repo), "CAPA-R004")
    assert [(f.file, f.line, f.severity) for f in found] == [
        ("base/cluster.yaml", line_of(base, "identityref:"), "error")
    ]
    assert "did you mean 'identityRef'" in found[0].message
    assert "render copies it into 2 file(s) of 2 overlay(s): live, staging" in found[0].message
    assert sorted((r.file, r.line) for r in found[0].related) == [
        (LIVE_CLUSTER, line_of(example_repo / LIVE_CLUSTER, "identityref:")),
        (STAGING_CLUSTER, line_of(example_repo / STAGING_CLUSTER, "identityref:")),
    ]
    sarif = json.loads(cli("check", "--repo", str(example_repo), "--format", "sarif").stdout)
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "CAPA-R004")
    assert (
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "base/cluster.yaml"
    )
    assert len(result["relatedLocations"]) == 2


def test_a_typo_in_one_overlay_stays_in_that_overlay(example_repo: Path) -> None:
    edit(example_repo / STAGING_CLUSTER, "  identityRef:", "  identityref:")
    found = of_rule(run_check(example_repo), "CAPA-R004")
    assert [f.file for f in found] == [STAGING_CLUSTER]
    assert found[0].related == ()


def test_a_base_value_render_overwrites_is_a_warning_saying_so(example_repo: Path) -> None:
    base = example_repo / "base/identity.yaml"
    edit(base, "  allowedNamespaces:\n    list:\n      - account\n", "  allowedNamespaces: {}\n")
    rerender(example_repo)
    report = run_check(example_repo)
    found = [f for f in report.findings if f.file.startswith("base/")]
    assert [(f.rule, f.line, f.severity) for f in found] == [
        ("CAPA-I002", line_of(base, "  allowedNamespaces: {}"), "warning")
    ]
    assert "render overwrites this field for every account" in found[0].message
    assert report.exit_code(strict=False) == 0
    assert report.exit_code(strict=True) == 1


def test_the_pristine_base_has_no_finding(example_repo: Path) -> None:
    assert [f for f in run_check(example_repo).findings if f.file.startswith("base/")] == []


def test_a_misspelt_identity_ref_is_not_called_a_move(committed: Path) -> None:
    edit(committed / STAGING_CLUSTER, "  identityRef:", "  identityref:")
    found = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D001")
    assert len(found) == 1
    assert "the key 'identityref' is misspelt" in found[0].message
    assert "create a new cluster" not in found[0].message
    assert found[0].line == line_of(committed / STAGING_CLUSTER, "identityref:")


def test_a_real_identity_swap_keeps_its_advice(committed: Path) -> None:
    edit(committed / STAGING_CLUSTER, "name: staging-identity", "name: live-identity")
    found = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D001")
    assert len(found) == 1 and "create a new cluster there instead" in found[0].message


# --- the repository root from a subdirectory --------------------------------------------------


def _wrong_account_id(repo: Path) -> None:
    edit(repo / "overlays/staging/identity.yaml", "iam::222222222222", "iam::999999999999")


def test_check_in_a_subdirectory_judges_the_whole_repository(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _wrong_account_id(example_repo)
    monkeypatch.chdir(example_repo / "overlays")
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1, result.output
    assert "staging/identity.yaml:9:12: [CAPA-T002]" in result.stdout  # relative to overlays/
    assert "../bootstrap/management.yaml:" in result.stdout
    monkeypatch.chdir(example_repo)
    at_root = CliRunner().invoke(main, ["check"])
    assert "overlays/staging/identity.yaml:9:12: [CAPA-T002]" in at_root.stdout


def test_check_outside_any_repository_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose/x.yaml").write_text("a: 1\n")
    monkeypatch.chdir(tmp_path / "loose")
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2
    assert (
        "no accounts.yaml here or in a directory above, and not inside a git repository"
        in result.stderr
    )
    # --repo says where the repository is: judged as given.
    assert CliRunner().invoke(main, ["check", "--repo", "."]).exit_code == 0


def test_a_git_work_tree_without_accounts_yaml_is_judged_from_its_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "apps").mkdir()
    (tmp_path / "id.yaml").write_text(
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSClusterStaticIdentity\n"
        "metadata:\n  name: keys\nspec:\n  secretRef: keys\n"
    )
    monkeypatch.chdir(tmp_path / "apps")
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1 and "../id.yaml:" in result.stdout, result.output


def test_a_monorepo_folder_reports_paths_from_the_git_root(
    example_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mono = tmp_path / "mono"
    shutil.copytree(example_repo, mono / "platform")
    subprocess.run(["git", "init", "-q", str(mono)], check=True)
    _wrong_account_id(mono / "platform")
    monkeypatch.chdir(mono)
    result = CliRunner().invoke(main, ["check", "--repo", "platform", "--format", "json"])
    files = {f["file"] for f in json.loads(result.stdout)["findings"]}
    assert "platform/overlays/staging/identity.yaml" in files, files
    monkeypatch.chdir(mono / "platform")
    sarif = json.loads(CliRunner().invoke(main, ["check", "--format", "sarif"]).stdout)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
    }
    assert "platform/overlays/staging/identity.yaml" in uris, uris


def test_an_input_error_names_the_file_from_where_check_started(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit(example_repo / "accounts.yaml", "      region: eu-west-1\n", "      regoin: eu-west-1\n")
    monkeypatch.chdir(example_repo / "overlays")
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2
    assert result.stderr.startswith("capa-accounts: ../accounts.yaml:"), result.stderr


# --- accounts.yaml: "did you mean", EKS versions ------------------------------------------------


def test_an_unknown_key_is_named_at_its_line_with_did_you_mean(example_repo: Path) -> None:
    accounts = example_repo / "accounts.yaml"
    edit(accounts, '      accountId: "333333333333"', '      acountId: "333333333333"')
    result = cli("check", "--repo", str(example_repo))
    assert result.exit_code == 2
    line = line_of(accounts, "acountId")
    assert result.stderr == (
        f"capa-accounts: accounts.yaml:{line}:7: spec.accounts[1].acountId: "
        "unknown field 'acountId' (did you mean 'accountId'?)\n"
    )


def test_a_missing_key_alone_is_still_called_missing(example_repo: Path) -> None:
    edit(example_repo / "accounts.yaml", '      accountId: "333333333333"\n', "")
    result = cli("check", "--repo", str(example_repo))
    assert result.exit_code == 2 and "missing required field 'accountId'" in result.stderr


@pytest.mark.parametrize(
    ("version", "refused"),
    [("1.3", True), ("1.29", True), ("1.37", True), ("1.30", False), ("1.36", False)],
    ids=["one-point-three", "older-than-the-table", "not-yet-in-the-table", "oldest", "newest"],
)
def test_kubernetes_versions_come_from_the_eks_table(
    example_repo: Path, version: str, refused: bool
) -> None:
    accounts = example_repo / "accounts.yaml"
    edit(accounts, 'kubernetesVersion: "1.35"', f'kubernetesVersion: "{version}"')
    line = line_of(accounts, f'"{version}"')
    for command in (["check"], ["render", "--check"]):
        result = cli(*command, "--repo", str(example_repo))
        if refused:
            assert result.exit_code == 2
            assert result.stderr.startswith(f"capa-accounts: accounts.yaml:{line}:")
            assert f"'{version}' is not a Kubernetes version Amazon EKS supports" in result.stderr
        else:
            assert result.exit_code in (0, 1) and "Amazon EKS supports" not in result.stderr


# --- capa-accounts-fn --help --------------------------------------------------------------------


def _fn() -> str:
    return shutil.which("capa-accounts-fn") or str(Path(sys.executable).parent / "capa-accounts-fn")


@pytest.mark.e2e  # the console script as a subprocess
@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("--help", "Usage: capa-accounts-fn"),
        ("-h", "Usage: capa-accounts-fn"),
        ("--version", "capa-accounts-fn, version "),
    ],
)
def test_fn_help_and_version_print_instead_of_waiting(arg: str, expected: str) -> None:
    # Before, the function read stdin: at a terminal it waited; here it read nothing, failed.
    result = subprocess.run(
        [_fn(), arg], input="", capture_output=True, text=True, timeout=20, check=False
    )
    assert result.returncode == 0 and result.stdout.startswith(expected), result


@pytest.mark.e2e  # the console script as a subprocess
def test_fn_without_arguments_still_reads_stdin() -> None:
    result = subprocess.run(
        [_fn()], input="", capture_output=True, text=True, timeout=20, check=False
    )
    assert result.returncode == 1 and "Usage" not in result.stdout
