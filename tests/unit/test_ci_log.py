"""What a CI log shows of `check`: the summary line, --quiet, --color, NO_COLOR, FORCE_COLOR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_report import break_example

from capa_accounts.cli import main

ESC = "\x1b["


def check(repo: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    environ = {"NO_COLOR": "", "FORCE_COLOR": "", **(env or {})}
    return CliRunner().invoke(main, ["check", "--repo", str(repo), *args], env=environ)


def test_clean_run_in_a_ci_log_names_the_files_it_checked(example_repo: Path) -> None:
    result = check(example_repo)  # CliRunner's stdout is no terminal, as in CI
    assert result.exit_code == 0 and result.stdout == ""
    count = int(result.stderr.split(" in ")[1].split()[0])
    assert result.stderr == f"0 errors, 0 warnings in {count} files\n" and count > 20


def test_findings_summary_names_files_with_findings_of_those_checked(example_repo: Path) -> None:
    break_example(example_repo)
    result = check(example_repo)
    assert result.exit_code == 1
    assert result.stderr.startswith("4 errors, 1 warning in 2 of ")


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "gitlab"])
def test_machine_formats_keep_stdout_clean_and_summarise_on_stderr(
    example_repo: Path, fmt: str
) -> None:
    result = check(example_repo, "--format", fmt)
    assert result.stderr.startswith("0 errors, 0 warnings in ")
    assert "0 errors" not in result.stdout


def test_github_format_prints_its_summary_once(example_repo: Path) -> None:
    result = check(example_repo, "--format", "github")
    assert result.stdout.count("0 errors, 0 warnings") == 1 and result.stderr == ""


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_quiet_drops_the_summary_and_keeps_the_findings(example_repo: Path, fmt: str) -> None:
    break_example(example_repo)
    loud, quiet = check(example_repo, "--format", fmt), check(example_repo, "-q", "--format", fmt)
    assert quiet.exit_code == loud.exit_code == 1
    assert quiet.stderr == "" and quiet.stdout == loud.stdout and "CAPA-X001" in quiet.stdout


@pytest.mark.parametrize(
    ("args", "env", "painted"),
    [
        ([], {}, False),
        (["--color", "always"], {}, True),
        (["--color", "always"], {"NO_COLOR": "1"}, True),  # the flag is the user's last word
        ([], {"FORCE_COLOR": "1"}, True),
        ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        (["--color", "never"], {"FORCE_COLOR": "1"}, False),
    ],
    ids=["pipe", "always", "always-over-no-color", "force-color", "no-color-wins", "never"],
)
def test_color_choice(
    example_repo: Path, args: list[str], env: dict[str, str], painted: bool
) -> None:
    break_example(example_repo)
    result = check(example_repo, *args, env=env)
    assert (ESC + "1;31m[CAPA-X001]" in result.stdout) is painted
    assert (ESC + "1;31m4 errors" in result.stderr) is painted
