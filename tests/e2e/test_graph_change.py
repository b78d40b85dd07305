"""`graph --base REF`: only what a change touches, marked, within GitHub's Mermaid limits at any
fleet size; the Action can put it in the job summary."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from gitrepo import git
from test_graph import parse_mermaid

from capa_accounts.cli import main
from capa_accounts.hooks.graph.select import MERMAID_MAX_EDGES, MERMAID_MAX_TEXT, mermaid_size
from capa_accounts.kustomize_plugin import example


def _fleet(repo: Path, size: int) -> Path:
    example.init(repo)
    path = repo / "accounts.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    listed = data["spec"]["accounts"]
    for i in range(len(listed), size):
        listed.append(
            {
                "name": f"acct-{i:04d}",
                "accountId": f"{400_000_000_000 + i}",
                "region": "eu-west-1",
                "kubernetesVersion": "1.35",
            }
        )
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert CliRunner().invoke(main, ["render", "--repo", str(repo)]).exit_code == 0
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "fleet")
    return repo


def _change(repo: Path, old: str, new: str) -> None:
    path = repo / "accounts.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    assert CliRunner().invoke(main, ["render", "--repo", str(repo)]).exit_code == 0


def _graph(repo: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["graph", "--repo", str(repo), "--base", "HEAD", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def fleet_300(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _fleet(tmp_path_factory.mktemp("fleet") / "repo", 300)


def test_no_change_draws_nothing_but_says_so(fleet_300: Path) -> None:
    text = _graph(fleet_300)
    assert "no change to the trust graph since HEAD" in text
    assert parse_mermaid(text).labels == {}


def test_one_changed_account_draws_only_that_account_with_marks(fleet_300: Path) -> None:
    _change(fleet_300, "400000000150", "499999999999")
    try:
        text = _graph(fleet_300)
    finally:
        git(fleet_300, "checkout", "-q", "--", ".")
    pic = parse_mermaid(text)
    titles = set(pic.boxes)
    assert any("acct-0150" in t for t in titles) and len(titles) == 2  # management + the account
    assert "400000000150" in text and "499999999999" in text  # the old role and the new
    edge_labels = [label for _s, _t, label, _red in pic.edges]
    assert any("+ added" in label for label in edge_labels)
    assert any("\u2212 removed" in label for label in edge_labels)
    assert "acct-0149" not in text and "acct-0151" not in text
    assert "stroke:#1a7f37" in text and "stroke-dasharray" in text  # added and removed styles


def test_a_change_to_every_account_fits_githubs_limits_and_names_the_rest(
    fleet_300: Path,
) -> None:
    repo = fleet_300
    path = repo / "accounts.yaml"  # every account moves to another AWS account
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for account in data["spec"]["accounts"]:
        account["accountId"] = str(int(account["accountId"]) + 1)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert CliRunner().invoke(main, ["render", "--repo", str(repo)]).exit_code == 0
    try:
        text = _graph(repo)
        dot = _graph(repo, "--format", "dot")
    finally:
        git(repo, "checkout", "-q", "--", ".")
    assert mermaid_size(text) <= MERMAID_MAX_TEXT
    assert text.count(" --> ") + text.count(" -.-> ") <= MERMAID_MAX_EDGES
    assert "more changed accounts not drawn" in text and "--account NAME" in text
    assert "acct-0299" not in text and "acct-0299" in dot  # DOT is not cut


def test_the_action_writes_the_change_into_the_job_summary(fleet_300: Path, tmp_path: Path) -> None:
    from test_ci_integration import STEPS

    step = next(s for s in STEPS if s.get("name") == "Trust graph of the change")
    _change(fleet_300, "400000000007", "488888888888")
    summary = tmp_path / "summary.md"
    try:
        env = {
            "PATH": str(Path(__import__("sys").executable).parent) + ":/usr/bin:/bin",
            "GITHUB_STEP_SUMMARY": str(summary),
            "INPUT_REPO_PATH": ".",
            "INPUT_BASE_REF": "HEAD",
            "PYTHONSAFEPATH": "1",
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=fleet_300,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        git(fleet_300, "checkout", "-q", "--", ".")
    assert done.returncode == 0, done.stderr
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("### Trust graph") and "```mermaid\nflowchart LR" in written
    assert "acct-0007" in written and "488888888888" in written
