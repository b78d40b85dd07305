"""EKS support by date (CAPA-C009), the calendar's age, and the versions new accounts get."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edit, line_of, of_rule, run_check
from rule_examples import Example, assert_example, examples

from capa_accounts.cli import main
from capa_accounts.core import eks_versions

STAGING = "overlays/staging/cluster-staging.yaml"
runner = CliRunner()


def cli(*args: str) -> object:
    return runner.invoke(main, list(args))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def set_versions(repo: Path, version: str) -> None:
    """Both example accounts on ``version``, rendered."""
    edit(repo / "accounts.yaml", 'kubernetesVersion: "1.35"', f'kubernetesVersion: "{version}"', 2)
    result = cli("render", "--repo", str(repo))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("minor", "on", "state"),
    [
        ("1.35", "2027-03-26", "standard"),
        ("1.35", "2027-03-27", "extended"),  # billing starts on the day standard support ends
        ("1.31", "2026-11-25", "extended"),
        ("1.31", "2026-11-26", "ended"),
        ("1.29", "2026-01-01", "ended"),  # older than the table
        ("1.37", "2026-12-06", "unknown"),  # newer than the table
    ],
    ids=["standard", "extended-first-day", "extended-last-day", "ended", "older", "newer"],
)
def test_support_follows_the_calendar_dates(minor: str, on: str, state: str) -> None:
    assert eks_versions.support(minor, date.fromisoformat(on)) == state


def test_the_calendar_is_current_on_its_own_date() -> None:
    """On 2026-12-06 1.30 and 1.31 have left extended support; 1.35 and 1.36 are standard."""
    on = date.fromisoformat(eks_versions.TABLE_DATE)
    states = {v: eks_versions.support(v, on) for v in eks_versions.SUPPORTED}
    assert states == {
        "1.30": "ended",
        "1.31": "ended",
        "1.32": "extended",
        "1.33": "extended",
        "1.34": "extended",
        "1.35": "standard",
        "1.36": "standard",
    }


def test_example_runs_a_version_in_standard_support(example_repo: Path) -> None:
    report = run_check(example_repo)
    assert of_rule(report, "CAPA-C009") == []
    assert report.warnings_loading == []


@pytest.mark.parametrize(
    ("version", "severity", "words"),
    [
        ("1.31", "error", "left EKS extended support on 2026-11-26: EKS creates no cluster"),
        ("1.34", "warning", "left EKS standard support on 2026-12-02; extended support costs"),
    ],
    ids=["past-extended-support", "in-extended-support"],
)
def test_version_out_of_standard_support_is_reported_at_the_line(
    example_repo: Path, version: str, severity: str, words: str
) -> None:
    set_versions(example_repo, version)
    found = [f for f in of_rule(run_check(example_repo), "CAPA-C009") if f.file == STAGING]
    assert [(f.line, f.severity) for f in found] == [
        (line_of(example_repo / STAGING, f"version: '{version}'"), severity)
    ]
    assert words in found[0].message


def test_a_cluster_that_ran_the_version_at_base_is_only_warned(example_repo: Path) -> None:
    set_versions(example_repo, "1.31")
    git(example_repo, "init", "-q")
    git(example_repo, "add", "-A")
    git(example_repo, "commit", "-q", "-m", "clusters on 1.31")
    # live is new since the base: it cannot be created on 1.31.
    git(example_repo, "rm", "-q", "-r", "overlays/live")
    git(example_repo, "commit", "-q", "-m", "live not yet there")
    result = cli("render", "--repo", str(example_repo))
    assert result.exit_code == 0, result.output
    found = of_rule(run_check(example_repo, base_ref="HEAD"), "CAPA-C009")
    by_file = {f.file: f for f in found}
    assert by_file[STAGING].severity == "warning"
    assert "EKS upgrades this running control plane on its own" in by_file[STAGING].message
    assert by_file["overlays/live/cluster-live.yaml"].severity == "error"


def test_check_warns_when_the_calendar_is_six_months_old(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(eks_versions.TODAY_VARIABLE, "2027-06-08")
    result = cli("check", "--repo", str(example_repo))
    assert (
        f"warning: the EKS release calendar capa-accounts knows is of {eks_versions.TABLE_DATE}, "
        "184 days old" in result.stderr
    )
    monkeypatch.setenv(eks_versions.TODAY_VARIABLE, "2027-03-26")  # near miss: not yet stale
    result = cli("check", "--repo", str(example_repo))
    assert result.exit_code == 0 and "release calendar" not in result.stderr


def test_version_output_names_the_calendar_date() -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.output.rstrip().endswith(f"(EKS release calendar of {eks_versions.TABLE_DATE})")


def test_a_bad_date_override_is_one_line_exit_2(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(eks_versions.TODAY_VARIABLE, "06/12/2026")
    result = cli("check", "--repo", str(example_repo))
    assert result.exit_code == 2
    assert result.stderr == (
        "capa-accounts: CAPA_ACCOUNTS_TODAY='06/12/2026': not a date (YYYY-MM-DD)\n"
    )


def test_without_the_override_support_is_judged_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(eks_versions.TODAY_VARIABLE)
    assert eks_versions.today() == datetime.now(UTC).date()


def test_add_account_in_extended_support_warns_and_adds(example_repo: Path) -> None:
    result = cli(
        "add-account", "qa", "--repo", str(example_repo), "--account-id", "444444444444",
        "--region", "eu-west-1", "--kubernetes-version", "1.33",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "warning: Kubernetes 1.33 left EKS standard support on 2026-07-29; extended support "
        "costs more per cluster hour and ends on 2027-07-29" in result.stdout.splitlines()
    )
    assert (example_repo / "overlays" / "qa" / "kustomization.yaml").is_file()


# --- a small bad and good example of each rule (tests/data/rules/support/) ------------------------


@pytest.mark.parametrize("example", examples("support"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)
