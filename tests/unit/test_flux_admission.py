"""The admission policy's own Flux Kustomization: no `force`, and the accounts wait for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import PROJECT, edit, of_rule, run_check
from kustomize_tools import flux_build

from capa_accounts.cli import main

runner = CliRunner()
FLUX = "clusters/management"
ADMISSION = "capa-management-admission-policy"


def kustomization(repo: Path, name: str) -> dict[str, Any]:
    (doc,) = yaml.safe_load_all((repo / FLUX / f"{name}.yaml").read_text())
    return doc


@pytest.mark.e2e  # a real kustomize builds it
@pytest.mark.parametrize("which", ["project", "init"])
def test_policy_is_applied_without_force_and_accounts_wait_for_it(
    which: str, example_repo: Path
) -> None:
    repo = PROJECT if which == "project" else example_repo
    admission = kustomization(repo, ADMISSION)["spec"]
    assert "force" not in admission  # with force, a 422 deletes the policy (fluxcd/pkg ssa)
    built = flux_build(repo / admission["path"])
    assert sorted(i["kind"] for i in built) == [
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ]
    # `default` keeps force (its spec is immutable) and is the only object it applies.
    management = kustomization(repo, "capa-management")["spec"]
    assert management["force"] is True
    assert [i["kind"] for i in flux_build(repo / management["path"])] == [
        "AWSClusterControllerIdentity"
    ]
    for account in ("staging", "live"):
        depends = kustomization(repo, f"capa-{account}")["spec"]["dependsOn"]
        assert {"name": ADMISSION} in depends and {"name": "capa-management"} in depends
    assert of_rule(run_check(repo), "CAPA-R003") == []
    assert of_rule(run_check(repo), "CAPA-R005") == []


def test_the_policy_kustomization_name_is_reserved(example_repo: Path) -> None:
    edit(example_repo / "accounts.yaml", "- name: live", "- name: management-admission-policy")
    result = runner.invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 2 and "reserved" in result.output, result.output


def test_removing_the_policy_kustomization_is_drift(example_repo: Path) -> None:
    (example_repo / FLUX / f"{ADMISSION}.yaml").unlink()
    result = runner.invoke(main, ["render", "--check", "--repo", str(example_repo)])
    assert result.exit_code == 1 and ADMISSION in result.output
