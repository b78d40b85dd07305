"""`graph` of a fleet: --account and --errors-only, one box per account, and Mermaid text that
Mermaid would not draw refused with the way out."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from conftest import edit
from test_graph import parse_dot, parse_mermaid

from capa_accounts.cli import main
from capa_accounts.hooks.graph import select as graph_select
from capa_accounts.kustomize_plugin import example

IDENTITY_STAGING = "overlays/staging/identity.yaml"


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def fleet_300(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with 300 accounts, rendered by the tool."""
    repo = tmp_path_factory.mktemp("fleet") / "repo"
    example.init(repo)
    path = repo / "accounts.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    listed = data["spec"]["accounts"]
    for i in range(len(listed), 300):
        listed.append(
            {
                "name": f"acct-{i:04d}",
                "accountId": f"{400_000_000_000 + i}",
                "region": "eu-west-1",
                "kubernetesVersion": "1.35",
            }
        )
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = cli("render", "--repo", str(repo))
    assert result.exit_code == 0, result.output
    return repo


@pytest.mark.e2e  # slow: out of the fast lane
def test_300_accounts_mermaid_is_refused_with_the_way_out(fleet_300: Path) -> None:
    result = cli("graph", "--repo", str(fleet_300))
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "over Mermaid's defaults" in line and "maxTextSize 50,000" in line
    assert "--account NAME" in line and "--errors-only" in line and "--format dot" in line
    assert "Traceback" not in result.output


@pytest.mark.e2e  # slow: out of the fast lane
def test_300_accounts_selected_mermaid_stays_under_the_limit(fleet_300: Path) -> None:
    names = ["staging", "acct-0100", "acct-0299"]
    result = cli("graph", "--repo", str(fleet_300), *[f"--account={n}" for n in names])
    assert result.exit_code == 0, result.output
    assert graph_select.mermaid_size(result.stdout) <= graph_select.MERMAID_MAX_TEXT
    pic = parse_mermaid(result.stdout)
    titles = sorted(pic.boxes)
    assert len(titles) == 4 and titles[0].startswith("acct-0100 ")  # and management
    # Each account's chain is whole, from the management principal to its control plane.
    for name in names:
        box = next(t for t in titles if t.startswith(f"{name} "))
        assert len(pic.boxes[box]) == 4, pic.boxes[box]  # role, identity, namespace, plane
    assert not any("acct-0101" in label for label in pic.labels.values())


@pytest.mark.e2e  # slow: out of the fast lane
def test_300_accounts_dot_is_drawn_whole_one_cluster_per_account(fleet_300: Path) -> None:
    result = cli("graph", "--repo", str(fleet_300), "--format", "dot")
    assert result.exit_code == 0, result.output
    pic = parse_dot(result.stdout)
    assert len(pic.boxes) == 301 and all(
        len(ids) == 4 for title, ids in pic.boxes.items() if not title.startswith("management")
    )


def test_errors_only_draws_the_broken_links_alone(example_repo: Path) -> None:
    clean = parse_mermaid(cli("graph", "--repo", str(example_repo), "--errors-only").stdout)
    assert clean.labels == {} and clean.edges == []  # nothing is broken: only the legend
    edit(
        example_repo / IDENTITY_STAGING,
        "  allowedNamespaces:\n    list:\n    - staging\n",
        "  allowedNamespaces: {}\n",
    )
    result = cli("graph", "--repo", str(example_repo), "--errors-only")
    assert result.exit_code == 0, result.output
    pic = parse_mermaid(result.stdout)
    ident, everyone = pic.node("staging-identity"), pic.node("every namespace")
    assert ident in pic.red and pic.edge(ident, everyone)[1]
    assert all(red for _s, _t, _label, red in pic.edges)
    assert not any("live" in label for label in pic.labels.values())


def test_unknown_account_is_one_line_exit_2_naming_the_accounts(example_repo: Path) -> None:
    result = cli("graph", "--repo", str(example_repo), "--account", "stagign")
    assert result.exit_code == 2
    assert result.stderr == (
        "capa-accounts: --account stagign: no such account in the graph (accounts: live, staging)\n"
    )


def test_graph_output_file(example_repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "graph.dot"
    result = cli("graph", "--repo", str(example_repo), "--format", "dot", "-o", str(target))
    assert (result.exit_code, result.stdout) == (0, "")
    assert target.read_text().startswith("digraph trust {")


def test_mermaid_limit_counts_as_javascript_does() -> None:
    """String.length counts UTF-16 code units: an emoji is two, a middle dot one."""
    assert graph_select.mermaid_size("a\u00b7\U0001f600") == 4
    at_limit = "x" * graph_select.MERMAID_MAX_TEXT
    graph_select.refuse_oversized_mermaid(at_limit, graph_select.MERMAID_MAX_EDGES)
    with pytest.raises(Exception, match="50,001 characters"):
        graph_select.refuse_oversized_mermaid(at_limit[:-1] + "\U0001f600", 0)
    with pytest.raises(Exception, match="501 edges"):
        graph_select.refuse_oversized_mermaid("flowchart LR\n", 501)
