"""Decommissioning as a state, and the removals it acknowledges (CAPA-D004, D005), and an
account that moves to another AWS account (CAPA-D006): real git, real kustomize."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import edit, line_of, of_rule, run_check
from gitrepo import LIVE_ACCOUNT, commit, git, rerender
from kustomize_tools import flux_build
from rule_examples import Example, assert_example, examples

from capa_accounts.core.errors import ConfigError
from capa_accounts.kustomize_plugin import render

LIVE_ROLE = "arn:aws:iam::333333333333:role/controllers.cluster-api-provider-aws.sigs.k8s.io"


def decommission_live(repo: Path) -> None:
    edit(
        repo / "accounts.yaml",
        "    - name: live\n",
        "    - name: live\n      decommissioning: true\n",
    )
    rerender(repo)


def removals(repo: Path) -> list[tuple[str, str, int, str]]:
    return [
        (f.rule, f.file, f.line, f.severity)
        for f in run_check(repo, base_ref="HEAD").findings
        if f.rule in ("CAPA-D004", "CAPA-D005", "CAPA-D006")
    ]


# --- the decommissioning state ------------------------------------------------------------------


def test_decommissioning_keeps_identity_grant_and_admission_but_renders_no_cluster(
    example_repo: Path,
) -> None:
    decommission_live(example_repo)
    live = example_repo / "overlays/live"
    assert sorted(p.name for p in live.iterdir()) == [
        "identity.yaml",
        "kustomization.yaml",
        "namespace.yaml",
    ]
    kinds = {d["kind"] for d in flux_build(live)}
    assert kinds == {"Namespace", "AWSClusterRoleIdentity"}
    # What CAPA needs to delete the clusters: `default` admits the namespace, the management
    # principal may assume the role, the admission policy still knows the account.
    assert "- live\n" in (example_repo / "overlays/management/controller-identity.yaml").read_text()
    assert LIVE_ROLE in (example_repo / "bootstrap/management.yaml").read_text()
    policy = example_repo / "overlays/management/admission-policy/admission-policy.yaml"
    assert '"live"' in policy.read_text()
    assert (example_repo / "bootstrap/live.yaml").is_file()
    assert (example_repo / "clusters/management/capa-live.yaml").is_file()
    assert [f for f in run_check(example_repo).findings if f.severity == "error"] == []
    # The near miss: staging, not decommissioning, keeps its cluster.
    assert (example_repo / "overlays/staging/cluster-staging.yaml").is_file()


def test_a_decommissioning_commit_is_acknowledged(committed: Path) -> None:
    decommission_live(committed)
    accounts = committed / "accounts.yaml"
    report = run_check(committed, base_ref="HEAD")
    found = of_rule(report, "CAPA-D005")
    assert [(f.file, f.severity) for f in found] == [("accounts.yaml", "warning")]
    assert (
        "CAPA deletes EKS cluster 'live' in AWS account 333333333333 (the account is "
        "`decommissioning: true`)" in found[0].message
    )
    assert found[0].line == line_of(accounts, "- name: live")
    assert report.exit_code(strict=False) == 0


def test_removing_a_decommissioned_account_is_a_warning(committed: Path) -> None:
    decommission_live(committed)
    commit(committed, "decommission live")
    edit(
        committed / "accounts.yaml",
        "    - name: live\n      decommissioning: true\n" + LIVE_ACCOUNT.split("\n", 1)[1],
        "",
    )
    rerender(committed)
    assert not (committed / "overlays/live").exists()
    found = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D004")
    assert [(f.file, f.severity) for f in found] == [("accounts.yaml", "warning")]
    assert "removed after decommissioning" in found[0].message
    assert "delete them by hand" in found[0].message


def test_removing_an_account_that_was_not_decommissioning_is_an_error(committed: Path) -> None:
    # Decommissioning and removing in one commit: at HEAD live was not decommissioning.
    edit(committed / "accounts.yaml", LIVE_ACCOUNT, "")
    rerender(committed)
    found = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D004")
    assert [(f.file, f.line, f.severity) for f in found] == [
        ("accounts.yaml", line_of(committed / "accounts.yaml", "  accounts:"), "error")
    ]
    assert "put it back with `decommissioning: true`" in found[0].message


def test_an_overlay_deleted_by_hand_is_an_error(committed: Path) -> None:
    git(committed, "rm", "-rq", "overlays/staging")
    found = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D004")
    assert [(f.file, f.line, f.severity) for f in found] == [
        ("accounts.yaml", line_of(committed / "accounts.yaml", "- name: staging"), "error")
    ]
    assert (
        "overlay overlays/staging was deleted by hand, but account 'staging' is still in "
        "accounts.yaml" in found[0].message
    )


# --- one cluster: `decommissioning: true` in clusters: ------------------------------------------


def _two_clusters(repo: Path, blue: str = "        - name: blue\n") -> None:
    edit(
        repo / "accounts.yaml",
        "the number 1.3\n",
        "the number 1.3\n      clusters:\n        - name: staging\n" + blue,
    )
    rerender(repo)


def test_a_cluster_listed_as_decommissioning_is_acknowledged(committed: Path) -> None:
    _two_clusters(committed)
    commit(committed, "blue")
    edit(
        committed / "accounts.yaml",
        "        - name: blue\n",
        "        - name: blue\n          decommissioning: true\n",
    )
    rerender(committed)
    assert not (committed / "overlays/staging/cluster-blue.yaml").exists()
    assert (committed / "overlays/staging/cluster-staging.yaml").exists()
    found = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D005")
    assert [
        (f.severity, "(the cluster is listed `decommissioning: true`)" in f.message) for f in found
    ] == [("warning", True)]


def test_a_cluster_dropped_from_the_list_is_an_error(committed: Path) -> None:
    _two_clusters(committed)
    commit(committed, "blue")
    edit(committed / "accounts.yaml", "        - name: blue\n", "")
    rerender(committed)
    assert removals(committed) == [
        ("CAPA-D005", "accounts.yaml", line_of(committed / "accounts.yaml", "clusters:"), "error")
    ]


def test_clusters_replacing_the_default_cluster_says_so(committed: Path) -> None:
    edit(
        committed / "accounts.yaml",
        "the number 1.3\n",
        "the number 1.3\n      clusters:\n        - name: staging-eu\n        - name: staging-us\n",
    )
    rerender(committed)
    report = run_check(committed, base_ref="HEAD")
    found = of_rule(report, "CAPA-D002")  # staging's objects reappear as staging-eu's
    assert found and all(f.severity == "error" for f in found)
    assert all(
        "`clusters:` replaces the account's default cluster 'staging': list "
        "`- name: staging` to keep it" in f.message
        for f in found
    )
    assert report.exit_code(strict=False) == 1


def test_the_default_cluster_listed_as_decommissioning_is_acknowledged(committed: Path) -> None:
    edit(
        committed / "accounts.yaml",
        "the number 1.3\n",
        "the number 1.3\n      clusters:\n"
        "        - name: staging\n          decommissioning: true\n"
        "        - name: staging-eu\n",
    )
    rerender(committed)
    assert (committed / "overlays/staging/cluster-staging-eu.yaml").is_file()
    assert not (committed / "overlays/staging/cluster-staging.yaml").exists()
    report = run_check(committed, base_ref="HEAD")
    assert of_rule(report, "CAPA-D002") == []
    assert [f.severity for f in of_rule(report, "CAPA-D005")] == ["warning"]
    assert report.exit_code(strict=False) == 0


def test_clusters_that_keep_the_default_cluster_are_silent(committed: Path) -> None:
    _two_clusters(committed)  # staging stays listed, blue is new
    assert removals(committed) == []


def test_a_decommissioning_cluster_still_listed_in_clusters_twice_is_refused(
    example_repo: Path,
) -> None:
    edit(
        example_repo / "accounts.yaml",
        "the number 1.3\n",
        "the number 1.3\n      clusters:\n"
        "        - name: blue\n        - name: blue\n          decommissioning: true\n",
    )
    with pytest.raises(ConfigError, match="cluster 'blue' appears twice"):
        render.plan(example_repo)


def test_the_decommissioning_key_is_in_the_editor_schema() -> None:
    from capa_accounts.core.schema.accountset import ACCOUNT_ENTRY, CLUSTER

    assert ACCOUNT_ENTRY["properties"]["decommissioning"]["type"] == "boolean"
    assert CLUSTER["properties"]["decommissioning"]["type"] == "boolean"


def test_decommissioning_must_be_a_boolean(example_repo: Path) -> None:
    accounts = example_repo / "accounts.yaml"
    edit(accounts, "    - name: live\n", '    - name: live\n      decommissioning: "yes"\n')
    with pytest.raises(ConfigError, match="decommissioning") as err:
        render.plan(example_repo)
    assert err.value.line == line_of(accounts, "decommissioning")


@pytest.mark.parametrize("config_map", [False, True], ids=["account", "config-map"])
def test_the_function_renders_no_cluster_while_decommissioning(config_map: bool) -> None:
    from test_fn import ACCOUNT, base_items, resource_list, run_fn

    if config_map:
        config = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "qa"},
            "data": {**ACCOUNT["spec"], "decommissioning": "true"},
        }
    else:
        config = {**ACCOUNT, "spec": {**ACCOUNT["spec"], "decommissioning": True}}
    out, code, message = run_fn(resource_list(base_items(), config))
    assert code == 0, message
    assert out is not None
    assert {i["kind"] for i in out["items"]} == {"Namespace", "AWSClusterRoleIdentity"}
    kept, _code, _message = run_fn(resource_list(base_items()))
    assert kept is not None and "AWSManagedControlPlane" in {i["kind"] for i in kept["items"]}


@pytest.mark.parametrize(
    "annotation",
    ["", '    capa-accounts.dev/decommission: "other, blue"\n'],
    ids=["unacknowledged", "annotated"],
)
def test_hand_written_repositories_acknowledge_on_the_flux_kustomization(
    committed: Path, annotation: str
) -> None:
    _two_clusters(committed)
    (committed / "accounts.yaml").unlink()
    shutil.rmtree(committed / "base")
    commit(committed, "hand-written, two clusters")
    (committed / "overlays/staging/cluster-blue.yaml").unlink()
    edit(committed / "overlays/staging/kustomization.yaml", "- cluster-blue.yaml\n", "")
    if annotation:
        edit(
            committed / "clusters/management/capa-staging.yaml",
            "  name: capa-staging\n",
            f"  name: capa-staging\n  annotations:\n{annotation}",
        )
    found = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D005")
    assert [f.severity for f in found] == (["warning"] if annotation else ["error"])
    assert ("annotation of its Flux Kustomization" in found[0].message) == bool(annotation)


# --- a small bad and good example of each rule (tests/data/rules/removals/) -----------------------


@pytest.mark.parametrize("example", examples("removals"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)
