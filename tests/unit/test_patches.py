"""Per-account and per-cluster settings (`patches` in accounts.yaml), and files in an overlay
that no kustomization lists (CAPA-R010)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edit, line_of, of_rule, run_check

from capa_accounts.cli import main
from capa_accounts.core import yamlio
from capa_accounts.core.accounts_file import load_account_set
from capa_accounts.kustomize_plugin import render

runner = CliRunner()
LIVE = "overlays/live/cluster-live.yaml"
STAGING = "overlays/staging/cluster-staging.yaml"
LIVE_ENTRY = '      accountId: "333333333333"\n'


def add_to_live(repo: Path, text: str) -> None:
    edit(repo / "accounts.yaml", LIVE_ENTRY, LIVE_ENTRY + text)


def objects(repo: Path, rel: str) -> dict[str, dict[str, object]]:
    return {d.data["kind"]: d.data for d in yamlio.load_documents(repo / rel, rel)}


def render_ok(repo: Path) -> str:
    result = runner.invoke(main, ["render", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    return result.output


NODES = """      patches:
        - target: {kind: AWSManagedMachinePool}
          patch:
            spec:
              instanceType: m6i.xlarge
              scaling: {minSize: 3, maxSize: 10}
              labels: {tier: live}
        - target: {kind: MachinePool, name: live-pool-0}
          patch: {spec: {replicas: 3}}
        - target: {kind: AWSManagedControlPlane}
          patch:
            spec:
              logging: {apiServer: true, audit: true}
              endpointAccess: {public: false, private: true}
"""


def test_an_account_gets_its_own_settings_and_check_stays_quiet(example_repo: Path) -> None:
    staging_before = (example_repo / STAGING).read_text()
    add_to_live(example_repo, NODES)
    output = render_ok(example_repo)
    assert f"update {LIVE}" in output
    live = objects(example_repo, LIVE)
    pool = live["AWSManagedMachinePool"]["spec"]
    assert pool["instanceType"] == "m6i.xlarge"
    assert pool["scaling"] == {"minSize": 3, "maxSize": 10}
    assert pool["amiType"] == "AL2023_x86_64_STANDARD"  # merged, not replaced
    assert live["MachinePool"]["spec"]["replicas"] == 3
    cp = live["AWSManagedControlPlane"]["spec"]
    assert cp["endpointAccess"] == {"public": False, "private": True}
    assert cp["identityRef"] == {"kind": "AWSClusterRoleIdentity", "name": "live-identity"}
    assert (example_repo / STAGING).read_text() == staging_before  # the near miss
    report = run_check(example_repo)
    assert [f for f in report.findings if f.severity == "error"] == []
    assert render_ok(example_repo).strip() == "up to date"  # the settings survive render


def test_a_cluster_gets_its_own_settings(example_repo: Path) -> None:
    add_to_live(
        example_repo,
        "      clusters:\n"
        "        - name: live\n"
        "        - name: live-batch\n"
        "          patches:\n"
        "            - target: {kind: AWSManagedMachinePool}\n"
        "              patch: {spec: {instanceType: c7i.4xlarge}}\n",
    )
    render_ok(example_repo)
    pools = {
        d.data["metadata"]["name"]: d.data["spec"].get("instanceType")
        for d in yamlio.load_documents(example_repo / LIVE, LIVE)
        + yamlio.load_documents(
            example_repo / "overlays/live/cluster-live-batch.yaml",
            "overlays/live/cluster-live-batch.yaml",
        )
        if d.data["kind"] == "AWSManagedMachinePool"
    }
    assert pools == {"live-pool-0": None, "live-batch-pool-0": "c7i.4xlarge"}


@pytest.mark.parametrize(
    ("patch", "needle", "why"),
    [
        (
            "- target: {kind: AWSManagedControlPlane}\n          patch:\n"
            "            spec:\n"
            "              identityRef: {kind: AWSClusterRoleIdentity, name: staging-identity}",
            "identityRef",
            "is set by capa-accounts: the identity chain",
        ),
        (
            "- target: {kind: AWSManagedControlPlane}\n          patch:\n"
            "            spec: {region: us-east-1}",
            "region: us-east-1",
            "set `region` on the account or the cluster",
        ),
        (
            "- target: {kind: AWSClusterRoleIdentity}\n"
            "          patch: {spec: {durationSeconds: 900}}",
            "kind: AWSClusterRoleIdentity",
            "cannot be patched",
        ),
        (
            "- target: {kind: AWSManagedMachinePool}\n          patch:\n"
            "            metadata: {namespace: staging}",
            "namespace: staging",
            "set `namespace` on the account",
        ),
        (
            "- target: {kind: AWSManagedControlPlane}\n          patch:\n            spec: null",
            "spec: null",
            "would change spec.identityRef, set by capa-accounts",
        ),
        (
            "- target: {kind: Namespace}\n          patch: {metadata: {labels: {a: b}}}",
            "kind: Namespace",
            "cannot be patched",
        ),
    ],
    ids=["identityRef", "region", "role-identity", "namespace", "spec-null", "namespace-kind"],
)
def test_a_patch_of_a_field_the_tool_owns_is_refused_at_its_line(
    example_repo: Path, patch: str, needle: str, why: str
) -> None:
    before = (example_repo / LIVE).read_text()
    add_to_live(example_repo, f"      patches:\n        {patch}\n")
    line = line_of(example_repo / "accounts.yaml", needle)
    for command in ("render", "check"):
        result = runner.invoke(main, [command, "--repo", str(example_repo)])
        assert result.exit_code == 2, result.output
        assert f"accounts.yaml:{line}:" in result.output, result.output
        assert why in result.output
        assert "Traceback" not in result.output
    assert (example_repo / LIVE).read_text() == before


def test_a_patch_that_matches_nothing_is_an_error_at_its_line(example_repo: Path) -> None:
    add_to_live(
        example_repo,
        "      patches:\n"
        "        - target: {kind: AWSManagedMachinePool, name: live-pool-9}\n"
        "          patch: {spec: {instanceType: m6i.xlarge}}\n",
    )
    line = line_of(example_repo / "accounts.yaml", "live-pool-9")
    result = runner.invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 2
    assert f"accounts.yaml:{line}:" in result.output
    assert "matches no object of account 'live'" in result.output
    edit(example_repo / "accounts.yaml", "live-pool-9", "live-pool-0")  # near miss
    render_ok(example_repo)


def test_patches_are_part_of_the_plan_render_and_check_share(example_repo: Path) -> None:
    add_to_live(example_repo, NODES)
    account_set = load_account_set(example_repo)
    plan = render.plan(example_repo, account_set)
    assert "instanceType: m6i.xlarge" in plan.files[LIVE]
    assert "instanceType" not in plan.files[STAGING]
    # not rendered yet: check says the overlay is out of date (R001), at the pool
    findings = of_rule(run_check(example_repo), "CAPA-R001")
    assert [f.file for f in findings] == [LIVE]


# --- CAPA-R010: a file in an overlay that no kustomization lists ------------------------------

DROPPED = (
    "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSManagedMachinePool\n"
    "metadata:\n  name: live-pool-0\n  namespace: live\nspec:\n  instanceType: m6i.xlarge\n"
)


def test_a_file_dropped_into_an_overlay_is_r010_and_render_says_so(example_repo: Path) -> None:
    (example_repo / "overlays/live/bigger-nodes.yaml").write_text(DROPPED)
    findings = of_rule(run_check(example_repo), "CAPA-R010")
    assert [(f.file, f.line) for f in findings] == [("overlays/live/bigger-nodes.yaml", 1)]
    assert "Flux never applies it" in findings[0].message
    result = runner.invoke(main, ["check", "--repo", str(example_repo)])
    assert result.exit_code == 1
    result = runner.invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 0
    assert "overlays/live/bigger-nodes.yaml: no kustomization lists it" in result.output
    assert (example_repo / "overlays/live/bigger-nodes.yaml").read_text() == DROPPED


@pytest.mark.e2e  # a real kustomize builds it
def test_a_listed_or_referenced_file_is_not_r010(example_repo: Path) -> None:
    """Near misses: a hand-written directory that lists its file, and a patch file another
    (non-plain) kustomization names."""
    extra = example_repo / "extra"
    extra.mkdir()
    (extra / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [config.yaml]\n"
    )
    (extra / "config.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (extra / "notes.md").write_text("not YAML\n")
    patched = example_repo / "patched"
    patched.mkdir()
    (patched / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [../extra]\npatches:\n  - path: tweak.yaml\n"
    )
    (patched / "tweak.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n"
    )
    assert of_rule(run_check(example_repo), "CAPA-R010") == []


# --- the same settings through the KRM function's Account config ------------------------------


def test_the_function_config_applies_patches_and_refuses_owned_fields() -> None:
    import copy

    from test_fn import ACCOUNT, base_items, resource_list, run_fn

    config = copy.deepcopy(ACCOUNT)
    config["spec"]["patches"] = [
        {
            "target": {"kind": "AWSManagedMachinePool"},
            "patch": {"spec": {"instanceType": "m7i.large"}},
        }
    ]
    out, code, _ = run_fn(resource_list(base_items(), config))
    assert code == 0, out
    pool = next(i for i in out["items"] if i["kind"] == "AWSManagedMachinePool")
    assert pool["spec"]["instanceType"] == "m7i.large"
    config["spec"]["patches"][0]["patch"] = {
        "spec": {"roleARN": "arn:aws:iam::999999999999:role/x"}
    }
    out, code, message = run_fn(resource_list(base_items(), config))
    assert code == 1
    assert "roleARN is part of the identity chain" in str(out) + message
    config["spec"]["region"] = "us-esat-1"  # and a made-up region, the near miss's twin
    config["spec"].pop("patches")
    out, code, message = run_fn(resource_list(base_items(), config))
    assert code == 1
    assert "did you mean 'us-east-1'?" in str(out) + message
