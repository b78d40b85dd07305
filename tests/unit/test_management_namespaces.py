"""management.namespaces: the management account's own clusters (a self-managed management
cluster after `clusterctl move`) reach `default`, pass the admission policy, and are judged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cel_harness import admission_request, matches
from click.testing import CliRunner
from conftest import edit, line_of, of_rule, run_check
from test_admission import ACCOUNTS, DEFAULT, both_engines, control_plane, namespace

from capa_accounts.cli import main
from capa_accounts.core import yamlio
from capa_accounts.kustomize_plugin.admission import admission_objects

runner = CliRunner()
MGMT_NS = "capi-management"
SETTING = f"    namespaces: [{MGMT_NS}]   # the management cluster's own, after clusterctl move\n"
CONTROLLER_IDENTITY = "overlays/management/controller-identity.yaml"
SELF = "overlays/self/cluster.yaml"


def with_setting(repo: Path) -> Path:
    edit(
        repo / "accounts.yaml",
        "  credentials: roleIdentity",
        SETTING + "  credentials: roleIdentity",
    )
    result = runner.invoke(main, ["render", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    return repo


def self_managed(repo: Path, ns: str, identity: str = "default") -> None:
    """The management cluster's own control plane as `clusterctl move` leaves it in git."""
    (repo / "overlays/self").mkdir()
    (repo / "overlays/self/kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [cluster.yaml]\n",
        encoding="utf-8",
    )
    (repo / SELF).write_text(
        "apiVersion: controlplane.cluster.x-k8s.io/v1beta2\nkind: AWSManagedControlPlane\n"
        f"metadata:\n  name: management-control-plane\n  namespace: {ns}\nspec:\n"
        "  identityRef:\n    kind: AWSClusterControllerIdentity\n"
        f"    name: {identity}\n  eksClusterName: management\n  region: eu-west-1\n"
        '  version: "1.35"\n',
        encoding="utf-8",
    )


def admitted_namespaces(repo: Path) -> list[str]:
    doc = yamlio.load_documents(repo / CONTROLLER_IDENTITY, CONTROLLER_IDENTITY)[0]
    return list(doc.data["spec"]["allowedNamespaces"]["list"])


def test_default_admits_the_management_namespaces(example_repo: Path) -> None:
    assert admitted_namespaces(example_repo) == ["live", "staging"]  # near miss: not set
    assert admitted_namespaces(with_setting(example_repo)) == [MGMT_NS, "live", "staging"]


def test_the_self_managed_control_plane_passes_check(example_repo: Path) -> None:
    self_managed(with_setting(example_repo), MGMT_NS)
    report = run_check(example_repo)
    assert [f for f in report.findings if f.severity == "error"] == []


def test_default_elsewhere_is_still_the_management_account(example_repo: Path) -> None:
    self_managed(with_setting(example_repo), "staging")
    found = of_rule(run_check(example_repo), "CAPA-C004")
    assert [(f.file, f.line) for f in found] == [(SELF, line_of(example_repo / SELF, "kind: AWSC"))]


def test_another_controller_identity_in_the_management_namespace_is_reported(
    example_repo: Path,
) -> None:
    self_managed(with_setting(example_repo), MGMT_NS, identity="other")
    assert [f.file for f in of_rule(run_check(example_repo), "CAPA-C002")] == [SELF]


def _policy(management: tuple[str, ...]) -> dict[str, Any]:
    return admission_objects(ACCOUNTS, "roleIdentity", management_namespaces=management)[0]


def test_policy_lets_capa_update_the_management_cluster() -> None:
    old = control_plane(MGMT_NS, DEFAULT)
    new = control_plane(MGMT_NS, DEFAULT)
    new["spec"]["version"] = "1.36"  # CAPA (or the user) updates the management cluster
    request = admission_request("UPDATE", new, MGMT_NS)
    ns = namespace(MGMT_NS, None)  # no account label: no account's namespace
    decision = both_engines(_policy((MGMT_NS,)), new, old, ns, request)
    assert decision.admitted and not decision.matched  # the matchCondition skips it
    # Near miss: without the setting the same update is denied.
    policy = _policy(())
    assert matches(policy, request)
    decision = both_engines(policy, new, old, ns, request)
    assert [f.message.split(":")[0] for f in decision.failures] == ["CAPA-C003"]


def test_policy_still_judges_every_other_namespace() -> None:
    obj = control_plane("staging", DEFAULT)
    policy = _policy((MGMT_NS,))
    request = admission_request("CREATE", obj, "staging")
    assert matches(policy, request)
    decision = both_engines(policy, obj, None, namespace("staging", "staging"), request)
    assert [f.message.split(":")[0] for f in decision.failures] == ["CAPA-C004"]


@pytest.mark.parametrize(
    ("setting", "extra", "message"),
    [
        (
            "    namespaces: [staging]\n",
            "",
            "spec.management.namespaces[0]: 'staging' is account 'staging''s namespace",
        ),
        (
            SETTING,
            "credentials: operator",
            "spec.management.namespaces[0]: credentials: operator runs one CAPA per target",
        ),
    ],
    ids=["an-account-namespace", "operator-mode"],
)
def test_a_namespace_that_cannot_be_the_management_accounts_is_refused(
    example_repo: Path, setting: str, extra: str, message: str
) -> None:
    accounts = example_repo / "accounts.yaml"
    edit(accounts, "  credentials: roleIdentity", setting + "  credentials: roleIdentity")
    if extra:
        edit(accounts, "credentials: roleIdentity", extra)
    result = runner.invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 2
    line = line_of(accounts, "namespaces:")
    assert result.stderr.startswith(f"capa-accounts: accounts.yaml:{line}:"), result.stderr
    assert message in result.stderr and len(result.stderr.splitlines()) == 1
