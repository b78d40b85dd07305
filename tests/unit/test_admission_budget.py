"""The admission policy's budget: object size, expression length and CEL cost at fleet scale.

The account table grows with the fleet; it must stay under what the API server accepts: each
expression under CEL's 100,000 code points (the table is split into several literals), the
object under etcd's 1.5 MiB, the costliest expression under the per-call cost limit. Timings
live in benchmarks/admission_budget.py; this suite asserts only what does not depend on speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cel_harness import (
    PER_CALL_LIMIT,
    RUNTIME_BUDGET,
    admission_request,
    cel_python,
    counting_steps,
    decide,
)
from cel_official import TypeCheckError, cel_expr, compile_policy
from click.testing import CliRunner
from conftest import PROJECT
from test_admission import ADMITTED, DENIED, admit

from capa_accounts.cli import main
from capa_accounts.core.errors import ConfigError
from capa_accounts.kustomize_plugin import admission, admission_table
from capa_accounts.kustomize_plugin.admission import (
    ACCOUNT_LABEL,
    AccountBinding,
    admission_objects,
)

CEL_CODE_POINTS = 100_000  # cel-go parser/parser.go NewParser default, kept by the API server


def fleet(size: int) -> list[AccountBinding]:
    return [
        AccountBinding(
            f"acct-{i:04d}", f"acct-{i:04d}", f"acct-{i:04d}-identity", enforced=i % 7 != 3
        )
        for i in range(size)
    ]


def denied_elsewhere(size: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A control plane in acct-0000 naming the last account's identity: the costliest denial."""
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "acct-0000", "labels": {ACCOUNT_LABEL: "acct-0000"}},
    }
    obj = {
        "apiVersion": "controlplane.cluster.x-k8s.io/v1beta2",
        "kind": "AWSManagedControlPlane",
        "metadata": {"name": "cp", "namespace": "acct-0000"},
        "spec": {
            "identityRef": {
                "kind": "AWSClusterRoleIdentity",
                "name": f"acct-{size - 1:04d}-identity",
            }
        },
    }
    return obj, ns, admission_request("CREATE", obj, "acct-0000")


def steps(size: int) -> tuple[int, int]:
    policy = admission_objects(fleet(size), "roleIdentity")[0]
    obj, ns, request = denied_elsewhere(size)
    with counting_steps() as counted:
        decision = decide(
            policy,
            cel_python.bind(policy, obj=obj, old_obj=None, namespace_obj=ns, request=request),
        )
    assert [f.message.split(":")[0] for f in decision.failures] == ["CAPA-C003"]
    return max(counted.by_expression.values()), sum(counted.by_expression.values())


def test_cost_at_300_accounts_is_bounded_and_linear() -> None:
    small, small_total = steps(30)
    large, large_total = steps(300)
    # Ten times the accounts cost about ten times as much (the table and the owners filter),
    # never more: nothing is quadratic in the fleet.
    assert 5 * small < large <= 12 * small
    assert large_total <= 12 * small_total
    # cel-python's steps sit above cel-go's cost units (cel_harness.Steps); with a margin of
    # ten besides, the costliest expression stays under the per-call limit and the decision
    # under the per-binding budget (k8s.io/apiserver pkg/apis/cel/config.go).
    assert large * 10 < PER_CALL_LIMIT
    assert large_total * 10 < RUNTIME_BUDGET


@pytest.mark.parametrize("size", [1000, 5000])
def test_every_expression_fits_cel_and_the_object_fits_etcd(size: int) -> None:
    policy = admission_objects(fleet(size), "roleIdentity")[0]
    for item in policy["spec"]["variables"] + policy["spec"]["validations"]:
        for key in ("expression", "messageExpression"):
            assert len(item.get(key, "")) < CEL_CODE_POINTS, item.get("name")
    assert len(json.dumps(policy).encode()) < admission.OBJECT_LIMIT_BYTES


def test_a_fleet_past_one_literal_compiles_and_decides() -> None:
    accounts = fleet(7000)  # one literal would be about 125,000 code points
    policy = admission_objects(accounts, "roleIdentity")[0]
    assert [v["name"] for v in policy["spec"]["variables"][:2]] == ["accounts", "accounts2"]
    compile_policy(policy)
    obj, ns, request = denied_elsewhere(7000)  # the owner is in the second literal
    decision = decide(
        policy, cel_expr.bind(policy, obj=obj, old_obj=None, namespace_obj=ns, request=request)
    )
    assert [f.message for f in decision.failures] == [
        "CAPA-C003: identityRef names acct-6999-identity, the identity of account acct-6999,"
        " which does not admit namespace acct-0000; use acct-0000-identity"
    ]


def test_one_literal_for_such_a_fleet_would_not_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admission_table, "CHUNK_CODE_POINTS", 10 * CEL_CODE_POINTS)
    policy = admission_objects(fleet(7000), "roleIdentity")[0]
    assert policy["spec"]["variables"][1]["name"] == "account"
    with pytest.raises(TypeCheckError, match="codepoint limit"):
        compile_policy(policy)


@pytest.mark.parametrize("credentials", ["roleIdentity", "operator"])
def test_split_tables_decide_every_case_alike(
    monkeypatch: pytest.MonkeyPatch, credentials: str
) -> None:
    # Literals of one account each: every lookup crosses literals, on both engines.
    monkeypatch.setattr(admission_table, "CHUNK_CODE_POINTS", 10)
    policy = admission_objects(fleet(3), credentials)[0]
    assert [v["name"] for v in policy["spec"]["variables"][:3]] == [
        "accounts",
        "accounts2",
        "accounts3",
    ]
    for case in ADMITTED:
        if case[0] == credentials:
            assert admit(*case[:3], operation=case[3], old=case[4]) == []
    for mode, obj, ns, rule, detail in DENIED:
        if mode == credentials:
            (failure,) = admit(mode, obj, ns)
            assert failure.message.startswith(f"{rule}: ") and detail in failure.message


def test_a_policy_over_the_object_limit_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admission, "OBJECT_LIMIT_BYTES", 10_000)
    admission_objects(fleet(30), "roleIdentity")  # about 6 KB: fine
    with pytest.raises(ConfigError, match="over the 10000 bytes"):
        admission_objects(fleet(300), "roleIdentity")


@pytest.mark.e2e
@pytest.mark.bench
def test_the_benchmark_runs() -> None:
    run = subprocess.run(
        [sys.executable, str(PROJECT / "benchmarks" / "admission_budget.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "policy JSON bytes" in run.stdout
    assert run.stdout.count(" holds") == 3, run.stdout


def test_render_refuses_a_policy_over_the_limit_and_writes_nothing(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy_file = example_repo / "overlays/management/admission-policy/admission-policy.yaml"
    before = {p: p.read_bytes() for p in example_repo.rglob("*") if p.is_file()}
    monkeypatch.setattr(admission, "OBJECT_LIMIT_BYTES", 1_000)
    result = CliRunner().invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 2, result.output
    assert "admission policy:" in result.output and "over the 1000 bytes" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in example_repo.rglob("*") if p.is_file()} == before
    monkeypatch.setattr(admission, "OBJECT_LIMIT_BYTES", 1_000_000)
    assert CliRunner().invoke(main, ["render", "--repo", str(example_repo)]).exit_code == 0
    assert policy_file.read_bytes() == before[policy_file]
