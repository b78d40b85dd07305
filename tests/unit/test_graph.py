"""`capa-accounts graph`: the trust chain drawn in Mermaid and DOT, broken links in red."""

from __future__ import annotations

import html
import re
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PROJECT, edit

from capa_accounts.cli import main

runner = CliRunner()
EXAMPLE = PROJECT / "kustomize_plugin" / "example"
SEED = PROJECT / "tests" / "data" / "seed"
RED = "#d62728"
SUFFIX = "controllers.cluster-api-provider-aws.sigs.k8s.io"


@dataclass
class Picture:
    """What a reader sees: node labels, edges with their labels, and what is drawn red."""

    labels: dict[str, str] = field(default_factory=dict)  # node ID -> label lines joined by |
    edges: list[tuple[str, str, str, bool]] = field(default_factory=list)  # src, dst, label, red
    red: set[str] = field(default_factory=set)  # node IDs
    boxes: dict[str, list[str]] = field(default_factory=dict)  # box title -> node IDs

    def node(self, *needles: str) -> str:
        """The one node whose label holds every needle."""
        found = [i for i, label in self.labels.items() if all(n in label for n in needles)]
        assert len(found) == 1, f"{needles} matches {found} in {self.labels}"
        return found[0]

    def edge(self, source: str, target: str) -> tuple[str, bool]:
        found = [(label, red) for s, t, label, red in self.edges if (s, t) == (source, target)]
        assert len(found) == 1, f"no single edge {source} -> {target} in {self.edges}"
        return found[0]

    def box_of(self, node: str) -> str:
        return next((title for title, ids in self.boxes.items() if node in ids), "")


def parse_mermaid(text: str) -> Picture:
    pic, box = Picture(), ""
    edges: list[tuple[str, str, str]] = []
    red_edges: set[int] = set()
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    for line in lines[1:]:
        if m := re.fullmatch(r'  subgraph (\w+)\["([^"]*)"\]', line):
            box = html.unescape(m[2].replace("#quot;", '"'))
            pic.boxes[box] = []
        elif line == "  end":
            box = ""
        elif m := re.fullmatch(r'\s+(\w+)[\[({]+"([^"]*)"[\])}]+', line):
            if m[1] != "legend":
                pic.labels[m[1]] = m[2].replace("<br/>", "|")
                if box:
                    pic.boxes[box].append(m[1])
        elif m := re.fullmatch(r'  (\w+) -\.?->(?:\|"([^"]*)"\|)? (\w+)', line):
            edges.append((m[1], m[3], m[2] or ""))
        elif m := re.fullmatch(r"  class ([\w,]+) error(?:_missing)?", line):
            pic.red.update(m[1].split(","))
        elif m := re.fullmatch(rf"  linkStyle ([\d,]+) stroke:{RED},.*", line):
            red_edges.update(int(i) for i in m[1].split(","))
        else:
            assert re.fullmatch(r"  (classDef|class|linkStyle) .*", line), line
    pic.edges = [(s, t, label, i in red_edges) for i, (s, t, label) in enumerate(edges)]
    return pic


def parse_dot(text: str) -> Picture:
    pic, box = Picture(), ""
    attr = r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\]]+)'
    for line in text.splitlines():
        attrs = {k: v.strip('"').replace("\\n", "|") for k, v in re.findall(attr, line)}
        if re.match(r"\s+subgraph cluster_", line):
            box = "?"
        elif box == "?" and line.strip().startswith("label="):
            box = attrs["label"]
            pic.boxes[box] = []
        elif line == "  }":
            box = ""
        elif m := re.match(r'\s+"(\w+)" -> "(\w+)"', line):
            label = attrs.get("label", "")
            pic.edges.append((m[1], m[2], label, attrs.get("color") == RED))
        elif m := re.match(r'\s+"(\w+)" \[', line):
            pic.labels[m[1]] = attrs["label"]
            if attrs.get("color") == RED:
                pic.red.add(m[1])
            if box:
                pic.boxes[box].append(m[1])
    return pic


def graph(repo: Path, fmt: str = "mermaid") -> Picture:
    result = runner.invoke(main, ["graph", "--repo", str(repo), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return parse_mermaid(result.stdout) if fmt == "mermaid" else parse_dot(result.stdout)


def write(repo: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return repo


# --- the committed example -------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt,name", [("mermaid", "trust-graph.mmd"), ("dot", "trust-graph.dot")], ids=["mermaid", "dot"]
)
def test_committed_example_is_what_graph_prints(example_repo: Path, fmt: str, name: str) -> None:
    result = runner.invoke(main, ["graph", "--repo", str(example_repo), "--format", fmt])
    assert result.exit_code == 0, result.output
    committed = (EXAMPLE / name).read_text(encoding="utf-8")
    assert result.stdout == committed, (
        f"kustomize_plugin/example/{name} is out of date: "
        "run `python -m capa_accounts.hooks.graph.draw --example`"
    )


def test_committed_svg_shows_every_label_of_the_dot() -> None:
    """The SVG is rendered from the DOT once (with Graphviz); a stale one misses a label."""
    dot = parse_dot((EXAMPLE / "trust-graph.dot").read_text(encoding="utf-8"))
    svg = (PROJECT / "docs" / "assets" / "trust-graph.svg").read_text(encoding="utf-8")
    shown = {html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)}
    wanted = {line for label in dot.labels.values() for line in label.split("|")}
    wanted |= {e[2] for e in dot.edges if e[2]} | set(dot.boxes)
    assert wanted <= shown, (
        f"trust-graph.svg lacks {sorted(wanted - shown)}: run "
        "`python -m capa_accounts.hooks.graph.draw --example` with Graphviz installed"
    )


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_example_draws_each_account_chain_clean(example_repo: Path, fmt: str) -> None:
    pic = graph(example_repo, fmt)
    assert not pic.red and not any(red for *_, red in pic.edges)
    principal = pic.node("CAPA runs as", "IAM role controllers\u2026")
    assert pic.box_of(principal) == "management \u00b7 AWS account 111111111111"
    for account, number in (("staging", "222222222222"), ("live", "333333333333")):
        role = next(s for s, t, label, _ in pic.edges if s.startswith("role_") and number in s)
        ident = pic.node("AWSClusterRoleIdentity", f"{account}-identity")
        ns = pic.node("namespace", f"|{account}")
        cp = pic.node("AWSManagedControlPlane", f"{account}-control-plane", "eu-west-1 \u00b7 1.35")
        assert pic.edge(principal, role) == ("sts:AssumeRole", False)
        assert pic.edge(role, ident) == ("roleARN", False)
        assert pic.edge(ident, ns) == ("allowedNamespaces", False)
        assert pic.edge(ns, cp) == ("identityRef", False)
        box = f"{account} \u00b7 AWS account {number}"
        assert {pic.box_of(n) for n in (role, ident, ns, cp)} == {box}


def test_output_is_deterministic_and_ids_are_safe(example_repo: Path) -> None:
    first = runner.invoke(main, ["graph", "--repo", str(example_repo)]).stdout
    assert runner.invoke(main, ["graph", "--repo", str(example_repo)]).stdout == first
    pic = parse_mermaid(first)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in pic.labels)


# --- broken links ----------------------------------------------------------------------------

IDENTITY_LIVE = "overlays/live/identity.yaml"
CLUSTER_STAGING = "overlays/staging/cluster-staging.yaml"
ARN = f"arn:aws:iam::{{}}:role/{SUFFIX}"


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_missing_grant_draws_the_assume_role_edge_red(example_repo: Path, fmt: str) -> None:
    edit(example_repo / "bootstrap/management.yaml", f"      - {ARN.format('333333333333')}\n", "")
    pic = graph(example_repo, fmt)
    principal = pic.node("CAPA runs as")
    live_role = next(t for s, t, *_ in pic.edges if s == principal and "333333333333" in t)
    staging_role = next(t for s, t, *_ in pic.edges if s == principal and "222222222222" in t)
    label, red = pic.edge(principal, live_role)
    assert red and "CAPA-T004" in label
    assert pic.edge(principal, staging_role) == ("sts:AssumeRole", False)


def test_trust_to_anyone_draws_that_accounts_edge_red(example_repo: Path) -> None:
    edit(example_repo / "bootstrap/staging.yaml", f"- {ARN.format('111111111111')}", "- '*'")
    pic = graph(example_repo)
    principal = pic.node("CAPA runs as")
    staging_role = next(t for s, t, *_ in pic.edges if s == principal and "222222222222" in t)
    live_role = next(t for s, t, *_ in pic.edges if s == principal and "333333333333" in t)
    label, red = pic.edge(principal, staging_role)
    assert red and "CAPA-T003" in label
    assert not pic.edge(principal, live_role)[1]


def test_identity_admitting_every_namespace_is_red(example_repo: Path) -> None:
    edit(
        example_repo / IDENTITY_LIVE,
        "  allowedNamespaces:\n    list:\n    - live\n",
        "  allowedNamespaces: {}\n",
    )
    pic = graph(example_repo)
    ident = pic.node("live-identity")
    everyone = pic.node("every namespace")
    assert ident in pic.red and "CAPA-I002" in pic.labels[ident]
    label, red = pic.edge(ident, everyone)
    assert red and "CAPA-I002" in label
    # The live control plane is still reached, through the namespace the identity now admits.
    assert pic.edge(pic.node("namespace", "|live"), pic.node("live-control-plane"))[0] == (
        "identityRef"
    )
    assert pic.node("staging-identity") not in pic.red


def test_identity_admitting_another_accounts_namespace(example_repo: Path) -> None:
    edit(example_repo / IDENTITY_LIVE, "    - live\n", "    - staging\n")
    pic = graph(example_repo)
    ident, cp = pic.node("live-identity"), pic.node("live-control-plane")
    label, red = pic.edge(ident, pic.node("namespace", "|staging"))
    assert red and "CAPA-I005" in label
    # live's own control plane is no longer admitted: a direct identityRef edge, broken (C003).
    label, red = pic.edge(ident, cp)
    assert red and "CAPA-C003" in label
    assert cp in pic.red


def test_dangling_identity_ref_is_drawn_as_a_missing_identity(example_repo: Path) -> None:
    edit(example_repo / CLUSTER_STAGING, "name: staging-identity", "name: stagin-identity")
    pic = graph(example_repo)
    missing = pic.node("missing AWSClusterRoleIdentity", "stagin-identity")
    cp = pic.node("staging-control-plane")
    assert missing in pic.red and cp in pic.red
    label, red = pic.edge(missing, cp)
    assert red and "CAPA-C002" in label


def test_control_plane_without_identity_ref_falls_back_to_default(example_repo: Path) -> None:
    edit(
        example_repo / CLUSTER_STAGING,
        "  identityRef:\n    kind: AWSClusterRoleIdentity\n    name: staging-identity\n",
        "",
    )
    pic = graph(example_repo)
    label, red = pic.edge(
        pic.node("AWSClusterControllerIdentity", "default"), pic.node("staging-control-plane")
    )
    assert red and label.startswith("no identityRef: default") and "CAPA-C001" in label


def test_finding_on_a_clusters_other_objects_marks_its_control_plane(example_repo: Path) -> None:
    # The MachinePool's infrastructureRef dangles (C007): the cluster's node shows it.
    edit(
        example_repo / CLUSTER_STAGING,
        "        name: staging-pool-0\n",
        "        name: staging-pool-9\n",
    )
    pic = graph(example_repo)
    cp = pic.node("staging-control-plane")
    assert cp in pic.red and "CAPA-C007" in pic.labels[cp]
    assert pic.node("live-control-plane") not in pic.red


# --- repositories without accounts.yaml ------------------------------------------------------


def test_hand_written_seed_repository(tmp_path: Path) -> None:
    """The seed guide's YAML: boxes come from roleARN account IDs and the targets' trust."""
    repo = tmp_path / "seed"
    shutil.copytree(SEED, repo, ignore=shutil.ignore_patterns("*.md"))
    pic = graph(repo)
    assert pic.box_of(pic.node("CAPA runs as")) == "management \u00b7 AWS account 111111111111"
    assert pic.box_of(pic.node("staging-identity")) == "AWS account 222222222222"
    assert pic.box_of(pic.node("live-identity")) == "AWS account 333333333333"
    # `default` is not in the repository (CAPA-I006): drawn as missing, its links broken.
    default = pic.node("missing AWSClusterControllerIdentity", "default")
    assert default in pic.red
    label, red = pic.edge(default, pic.node("staging-identity"))
    assert red and "CAPA-I006" in label
    # The guide's provider has `watch-filter` without "--": it reconciles every cluster.
    provider = pic.node("InfrastructureProvider", "capa-staging/aws-staging")
    label, red = pic.edge(provider, pic.node("namespace", "|staging"))
    assert label.startswith("no --watch-filter") and red


def test_only_a_control_plane(tmp_path: Path) -> None:
    repo = write(
        tmp_path,
        {
            "cp.yaml": """\
        apiVersion: controlplane.cluster.x-k8s.io/v1beta2
        kind: AWSManagedControlPlane
        metadata: {name: solo, namespace: team-a}
        spec: {region: eu-west-1, version: "1.35"}
        """
        },
    )
    pic = graph(repo)
    assert set(pic.labels) == {
        pic.node("solo"),
        pic.node("namespace", "team-a"),
        pic.node("missing AWSClusterControllerIdentity"),
    }
    label, red = pic.edge(pic.node("missing AWSClusterControllerIdentity"), pic.node("solo"))
    assert red and "CAPA-C001" in label


OPERATOR_PROVIDER = """\
    apiVersion: operator.cluster.x-k8s.io/v1alpha2
    kind: InfrastructureProvider
    metadata: {{name: aws-{account}, namespace: capa-{account}}}
    spec:
      version: v2.11.1
      fetchConfig:
        url: https://github.com/kubernetes-sigs/cluster-api-provider-aws/releases/v2.11.1/infrastructure-components.yaml
      configSecret: {{name: {account}-credentials, namespace: capa-{account}}}
      manager:
        additionalArgs: {{"{flag}": {account}}}
      patches:   # one manager ClusterRoleBinding per provider (CAPA-O005)
        - target: {{kind: ClusterRoleBinding, name: capa-manager-rolebinding}}
          patch: '[{{"op": "replace", "path": "/metadata/name", "value": "{account}-binding"}}]'
    """
OPERATOR_CP = """\
    apiVersion: controlplane.cluster.x-k8s.io/v1beta2
    kind: AWSManagedControlPlane
    metadata:
      name: {account}-control-plane
      namespace: {account}
      labels: {{cluster.x-k8s.io/watch-filter: {account}}}
    spec:
      identityRef: {{kind: AWSClusterControllerIdentity, name: default}}
      region: eu-west-1
      version: "1.35"
    """


def operator_repo(repo: Path, flag: dict[str, str]) -> Path:
    files = {}
    for account in ("staging", "live"):
        files[f"{account}/provider.yaml"] = OPERATOR_PROVIDER.format(
            account=account, flag=flag[account]
        )
        files[f"{account}/cluster.yaml"] = OPERATOR_CP.format(account=account)
    return write(repo, files)


def test_operator_mode_draws_provider_namespace_control_plane(tmp_path: Path) -> None:
    pic = graph(operator_repo(tmp_path, {"staging": "--watch-filter", "live": "--watch-filter"}))
    for account in ("staging", "live"):
        provider = pic.node(
            "InfrastructureProvider",
            f"capa-{account}/aws-{account}",
            f"secret {account}-credentials",
        )
        ns = pic.node("namespace", f"|{account}")
        assert pic.edge(provider, ns) == (f"watch-filter {account}", False)
        assert [s for s, t, *_ in pic.edges if t == pic.node(f"{account}-control-plane")] == [ns]
    assert not any(
        k in "".join(pic.labels.values())
        for k in ("AWSClusterRoleIdentity", "CAPA runs as", "no identityRef")
    )
    # Without accounts.yaml the rules take identityRef `default` for role mode (C002, C004):
    # the control planes carry those findings, the providers' links do not.
    assert not any(red for *_, red in pic.edges)
    assert not {i for i in pic.red if i.startswith("provider_")}


def test_operator_provider_without_dashes_watches_every_cluster(tmp_path: Path) -> None:
    pic = graph(operator_repo(tmp_path, {"staging": "watch-filter", "live": "--watch-filter"}))
    staging = pic.node("capa-staging/aws-staging")
    live = pic.node("capa-live/aws-live")
    # The seed guide's mistake: the key is passed as a positional argument and ignored.
    for account in ("staging", "live"):
        label, red = pic.edge(staging, pic.node("namespace", f"|{account}"))
        assert label.startswith("no --watch-filter") and red and "CAPA-O002" in label
    assert staging in pic.red and live not in pic.red
    assert [t for s, t, *_ in pic.edges if s == live] == [pic.node("namespace", "|live")]


def test_rendered_operator_mode_puts_providers_in_account_boxes(example_repo: Path) -> None:
    edit(example_repo / "accounts.yaml", "credentials: roleIdentity ", "credentials: operator ")
    assert runner.invoke(main, ["render", "--repo", str(example_repo)]).exit_code == 0
    pic = graph(example_repo, "dot")
    provider = pic.node("InfrastructureProvider", "aws-live")
    assert pic.box_of(provider) == "live \u00b7 AWS account 333333333333"
    assert pic.edge(provider, pic.node("namespace", "|live")) == ("watch-filter live", False)
    assert "AWSClusterControllerIdentity" not in "".join(pic.labels.values())


# --- labels, escaping, failures --------------------------------------------------------------


def test_hostile_names_are_escaped(tmp_path: Path) -> None:
    repo = write(
        tmp_path,
        {
            "identity.yaml": """\
        apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
        kind: AWSClusterRoleIdentity
        metadata: {name: 'a"b<c>|d#e'}
        spec:
          roleARN: arn:aws:iam::222222222222:role/x
          sourceIdentityRef: {kind: AWSClusterControllerIdentity, name: default}
          allowedNamespaces: {list: ['we"ird']}
        """
        },
    )
    result = runner.invoke(main, ["graph", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    pic = parse_mermaid(result.stdout)  # every label is one quoted string: no raw quote
    assert "|a#quot;b#lt;c#gt;#124;d#35;e|" in pic.labels[pic.node("AWSClusterRoleIdentity")]
    assert "|we#quot;ird" in pic.labels[pic.node("namespace")]
    # Nodes come from objects only: no accounts.yaml, no management stack, no principal.
    assert not [label for label in pic.labels.values() if "CAPA runs as" in label]
    dot = runner.invoke(main, ["graph", "--repo", str(repo), "--format", "dot"]).stdout
    assert '\\na\\"b<c>|d#e' in dot


def test_empty_repository_draws_only_the_legend(tmp_path: Path) -> None:
    result = runner.invoke(main, ["graph", "--repo", str(tmp_path)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:2] == [
        "flowchart LR",
        '  legend["red: broken link (a check error) \u00b7 amber: warning"]',
    ]


def test_bad_yaml_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("kind: [unclosed\n", encoding="utf-8")
    result = runner.invoke(main, ["graph", "--repo", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "broken.yaml" in result.stderr
