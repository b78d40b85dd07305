"""The admission policy for a fleet of 25,000 accounts: one object the API server can store,
every expression compiled and type-checked on the CEL project's runtime, decisions as for three.

Most accounts keep the defaults (namespace = account name, identity = <account>-identity) and
cost a few bytes of the table; the others carry their names, and an identity that is not
<account>-identity is found through the identity table.
"""

from __future__ import annotations

import json
from functools import cache
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
from cel_official import cel_expr, compile_policy

from capa_accounts.kustomize_plugin import admission
from capa_accounts.kustomize_plugin.admission import (
    ACCOUNT_LABEL,
    AccountBinding,
    admission_objects,
)

SIZE = 25_000
CEL_CODE_POINTS = 100_000  # cel-go parser/parser.go NewParser default, kept by the API server


def account(i: int) -> AccountBinding:
    name = f"acct-{i:05d}"
    return AccountBinding(
        name,
        f"team-{i:05d}" if i % 11 == 5 else name,  # its own namespace name
        f"custom-{i:05d}" if i % 13 == 5 else f"{name}-identity",  # its own identity name
        enforced=i % 7 != 3,
    )


@cache
def policy() -> dict[str, Any]:
    return admission_objects([account(i) for i in range(SIZE)], "roleIdentity")[0]


def request_for(i: int, identity: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    a = account(i)
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": a.namespace, "labels": {ACCOUNT_LABEL: a.account}},
    }
    obj = {
        "apiVersion": "controlplane.cluster.x-k8s.io/v1beta2",
        "kind": "AWSManagedControlPlane",
        "metadata": {"name": "cp", "namespace": a.namespace},
        "spec": {"identityRef": {"kind": "AWSClusterRoleIdentity", "name": identity}},
    }
    return obj, ns, admission_request("CREATE", obj, a.namespace)


def messages(engine: Any, i: int, identity: str) -> list[str]:
    obj, ns, request = request_for(i, identity)
    p = policy()
    decision = decide(p, engine.bind(p, obj=obj, old_obj=None, namespace_obj=ns, request=request))
    return [f.message for f in decision.failures]


def test_the_policy_fits_one_object_and_cel() -> None:
    p = policy()
    assert len(json.dumps(p, separators=(",", ":")).encode()) < admission.OBJECT_LIMIT_BYTES
    for item in p["spec"]["variables"] + p["spec"]["validations"]:
        for key in ("expression", "messageExpression"):
            assert len(item.get(key, "")) < CEL_CODE_POINTS, item.get("name")
    compile_policy(p)  # type-checked on the CEL project's runtime


C003 = (
    "CAPA-C003: identityRef names {ref}, the identity of account {owner},"
    " which does not admit namespace acct-00000; use acct-00000-identity"
)
C002 = (
    "CAPA-C002: identityRef names AWSClusterRoleIdentity {ref},"
    " which no account renders; use acct-00000-identity"
)
CASES = [
    # (account index, identityRef name, messages)
    (0, "acct-00000-identity", []),
    (5, "custom-00005", []),  # its own namespace and its own identity name
    (16, "acct-00016-identity", []),  # i % 11 == 5: namespace team-00016
    (0, "acct-24999-identity", [C003.format(ref="acct-24999-identity", owner="acct-24999")]),
    (0, "custom-24991", [C003.format(ref="custom-24991", owner="acct-24991")]),
    # Near misses: acct-24991 names its identity custom-24991, so acct-24991-identity is
    # nobody's; nor is an identity of an account that does not exist.
    (0, "acct-24991-identity", [C002.format(ref="acct-24991-identity")]),
    (0, "acct-99999-identity", [C002.format(ref="acct-99999-identity")]),
    (0, "-identity", [C002.format(ref="-identity")]),
    (3, "acct-24999-identity", []),  # an account the policy does not enforce
]


@pytest.mark.parametrize(("i", "ref", "expected"), CASES)
def test_decisions_on_the_official_runtime(i: int, ref: str, expected: list[str]) -> None:
    assert messages(cel_expr, i, ref) == expected


@pytest.mark.e2e  # cel-python builds the 25,000-entry table: about a minute
def test_the_costliest_denial_stays_within_the_cost_budget() -> None:
    with counting_steps() as counted:
        assert messages(cel_python, 0, "acct-24999-identity") == [
            C003.format(ref="acct-24999-identity", owner="acct-24999")
        ]
    tables = {
        v["expression"]
        for v in policy()["spec"]["variables"]
        if v["name"].startswith(("accounts", "identities"))
    }
    lookups = [n for expression, n in counted.by_expression.items() if expression not in tables]
    # The owner is found by lookups, not by a walk over 25,000 accounts: every other expression
    # costs the same at any fleet size.
    assert max(lookups) < 2_000
    # cel-python's steps sit above cel-go's cost units (cel_harness.Steps), with a margin of
    # ten besides.
    assert sum(counted.by_expression.values()) * 10 < RUNTIME_BUDGET
    # cel-go charges a literal by its constructors, 30 a map and 10 a list, and its constants
    # nothing (interpreter/runtimecost.go, CostObserver: MapCreateBaseCost, ListCreateBaseCost,
    # InterpretableConst), so a table literal costs at most 10 per account it holds.
    for table in tables:
        assert 30 + 10 * table.count("[") < PER_CALL_LIMIT / 10
