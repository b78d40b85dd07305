"""What `check` reads: generated files judged exactly as written, wherever they live.

At fleet scale `check` takes render's own documents for a file whose text is render's instead
of parsing it again (hooks/check/repository.py); these tests pin what a user sees either way: the
findings' lines, a hand edit judged as written, and render's verdict on line ends.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edit, line_of, of_rule, run_check

from capa_accounts.cli import main

STAGING_CLUSTER = "overlays/staging/cluster-staging.yaml"
STAGING_IDENTITY = "overlays/staging/identity.yaml"


def render(repo: Path, *args: str) -> int:
    return CliRunner().invoke(main, ["render", *args, "--repo", str(repo)]).exit_code


def test_findings_in_rendered_files_point_at_their_lines(example_repo: Path) -> None:
    # A base/ field the schema refuses reaches every overlay through render: the overlays are
    # in sync (no CAPA-R001); the finding is at the template, and the related locations name
    # the line render wrote each copy on.
    edit(
        example_repo / "base/cluster.yaml",
        "  eksClusterName: cluster\n",
        "  eksClusterName: cluster\n  logging: verbose\n",
    )
    assert render(example_repo) == 0
    report = run_check(example_repo)
    assert of_rule(report, "CAPA-R001") == []
    found = of_rule(report, "CAPA-R004")
    assert [(f.file, f.line, f.column) for f in found] == [
        ("base/cluster.yaml", line_of(example_repo / "base/cluster.yaml", "logging: verbose"), 12)
    ]
    assert sorted((r.file, r.line, r.column) for r in found[0].related) == [
        (
            f"overlays/{name}/cluster-{name}.yaml",
            line_of(example_repo / f"overlays/{name}/cluster-{name}.yaml", "logging: verbose"),
            12,
        )
        for name in ("live", "staging")
    ]


def test_a_hand_edited_generated_file_is_judged_as_written(example_repo: Path) -> None:
    path = example_repo / STAGING_IDENTITY
    edit(path, "arn:aws:iam::222222222222:", "arn:aws:iam::999999999999:")
    report = run_check(example_repo)
    assert [(f.file, f.line) for f in of_rule(report, "CAPA-T002")] == [
        (STAGING_IDENTITY, line_of(path, "999999999999"))
    ]
    assert [f.file for f in of_rule(report, "CAPA-R001")] == [STAGING_IDENTITY]


@pytest.mark.parametrize("line_end", ["\r\n", "\n"], ids=["crlf", "lf"])
def test_check_and_render_agree_on_line_ends(example_repo: Path, line_end: str) -> None:
    path = example_repo / STAGING_CLUSTER
    path.write_bytes(path.read_bytes().replace(b"\n", line_end.encode()))
    # render reads generated files in text mode: CRLF line ends are no drift to it.
    assert render(example_repo, "--check") == 0
    assert of_rule(run_check(example_repo), "CAPA-R001") == []


@pytest.mark.parametrize("name", ["build", "dist", "venv"])
def test_an_account_named_like_a_tool_directory_is_checked(example_repo: Path, name: str) -> None:
    # Tool directories are skipped by name, but overlays/build is an account's overlay.
    edit(example_repo / "accounts.yaml", "- name: live", f"- name: {name}")
    assert render(example_repo) == 0
    path = example_repo / f"overlays/{name}/identity.yaml"
    edit(path, "arn:aws:iam::333333333333:", "arn:aws:iam::999999999999:")
    found = of_rule(run_check(example_repo), "CAPA-T002")
    assert [(f.file, f.line) for f in found] == [
        (f"overlays/{name}/identity.yaml", line_of(path, "999999999999"))
    ]


@pytest.mark.parametrize("enabled", [True, False], ids=["enabled", "disabled"])
def test_check_leaves_the_cycle_collector_as_it_found_it(example_repo: Path, enabled: bool) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        run_check(example_repo)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
