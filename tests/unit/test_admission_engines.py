"""How the policy is evaluated: type checking, lazy variables, errors as denials, both engines.

The generated policy must compile with cel-expr-python's type checker in the environment the
API server declares (cel_official.py); broken copies prove that the checker and the driver
catch what the API server would catch.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cel_harness import admission_request, cel_python, decide
from cel_official import T as CelType
from cel_official import TypeCheckError, cel_expr, compile_policy
from test_admission import ACCOUNTS, control_plane, namespace

from capa_accounts.kustomize_plugin.admission import admission_objects

MODES = ["roleIdentity", "operator"]
ENGINES = [cel_python, cel_expr]


def policy_for(credentials: str) -> dict[str, Any]:
    return admission_objects(ACCOUNTS, credentials)[0]


@pytest.mark.parametrize("credentials", MODES)
@pytest.mark.parametrize("null_namespace", [False, True], ids=["namespaced", "cluster-scoped"])
def test_every_expression_type_checks(credentials: str, null_namespace: bool) -> None:
    compiled = compile_policy(policy_for(credentials), null_namespace=null_namespace)
    spec = policy_for(credentials)["spec"]
    expected = (
        len(spec["variables"])
        + len(spec["matchConditions"])
        + len(spec["validations"])
        + sum("messageExpression" in v for v in spec["validations"])
    )
    assert len(compiled.programs) == expected
    # The API server compiles with cel.HomogeneousAggregateLiterals (pkg/cel/environment/
    # base.go); cel-expr-python has no such option, but a mixed literal would come out dyn.
    assert compiled.types["variables.accounts"] == CelType.Map(
        CelType.STRING, CelType.List(CelType.STRING)
    )
    assert compiled.types["variables.entry"] == CelType.Map(CelType.STRING, CelType.STRING)


def _edited(
    credentials: str, section: str, index: int | str, key: str, value: str
) -> dict[str, Any]:
    """A copy of the policy with one field of one entry (by position or by name) replaced."""
    policy = copy.deepcopy(policy_for(credentials))
    entries = policy["spec"][section]
    if isinstance(index, str):
        index = next(i for i, e in enumerate(entries) if e["name"] == index)
    entries[index][key] = value
    return policy


@pytest.mark.parametrize(
    ("policy", "where"),
    [
        (
            _edited("roleIdentity", "validations", 0, "expression", "request.namepsace == ''"),
            "validations[0].expression",
        ),
        (
            _edited(
                "roleIdentity",
                "validations",
                0,
                "expression",
                "namespaceObject.metadata.lables == {}",
            ),
            "validations[0].expression",
        ),
        (
            _edited("roleIdentity", "validations", 1, "expression", "variables.account"),
            "must evaluate to BOOL",
        ),
        (
            _edited("roleIdentity", "validations", 1, "expression", "object.spec.identityRef"),
            "must evaluate to BOOL",
        ),  # dyn is not bool: the API server wants the exact type
        (
            _edited(
                "roleIdentity", "validations", 1, "messageExpression", "size(variables.owners)"
            ),
            "validations[1].messageExpression",
        ),
        # A variable sees only the variables before it.
        (
            _edited("roleIdentity", "variables", "accounts", "expression", "variables.expected"),
            "variables.accounts",
        ),
        (
            _edited(
                "roleIdentity", "variables", "inAccount", "expression", "variables.account + 1"
            ),
            "variables.inAccount",
        ),
        (
            _edited("operator", "matchConditions", 0, "expression", "params.x == 1"),
            "matchConditions[changes-credentials]",
        ),  # params exists only with a paramKind
        (
            _edited("operator", "matchConditions", 0, "expression", "variables.nope"),
            "matchConditions[changes-credentials]",
        ),
    ],
    ids=[
        "request-field-typo",
        "namespace-field-typo",
        "validation-returns-string",
        "validation-returns-dyn",
        "message-returns-int",
        "variable-reads-a-later-one",
        "string-plus-int",
        "params-without-paramkind",
        "unknown-variable",
    ],
)
def test_broken_copies_fail_to_type_check(policy: dict[str, Any], where: str) -> None:
    with pytest.raises(TypeCheckError, match=where.replace("[", r"\[").replace("]", r"\]")):
        compile_policy(policy)


def test_params_type_check_when_the_policy_has_a_param_kind() -> None:
    policy = _edited("operator", "matchConditions", 0, "expression", "params.x == 1")
    policy["spec"]["paramKind"] = {"apiVersion": "v1", "kind": "ConfigMap"}
    compile_policy(policy)  # the near miss of params-without-paramkind


def _decisions(
    policy: dict[str, Any],
    obj: dict[str, Any],
    ns: dict[str, Any] | None,
    operation: str = "CREATE",
    old: dict[str, Any] | None = None,
) -> list[Any]:
    request = admission_request(operation, obj, ns["metadata"]["name"] if ns else "")
    out = [
        decide(policy, engine.bind(policy, obj=obj, old_obj=old, namespace_obj=ns, request=request))
        for engine in ENGINES
    ]
    assert out[0].key() == out[1].key(), out
    return out


STAGING_NS = namespace("staging", "staging")


def test_a_failing_variable_that_is_not_read_does_not_deny() -> None:
    # Lazy: `expected` now fails (no such key), but C001..C002 read it only in messages and
    # after `!variables.checked ||`; for the unenforced dev account they never read it.
    policy = _edited(
        "roleIdentity",
        "variables",
        "expected",
        "expression",
        "variables.accounts['nope'][1]",
    )
    for decision in _decisions(policy, control_plane("dev"), namespace("dev", "dev")):
        assert decision.admitted, decision
    # ...and where a validation does read it, the error denies (failurePolicy: Fail).
    for decision in _decisions(policy, control_plane(), STAGING_NS):
        assert [f.error is not None for f in decision.failures] == [True], decision


def test_an_expression_error_is_a_denial() -> None:
    policy = _edited(
        "roleIdentity", "validations", 1, "expression", "object.spec.noSuchField == 'x'"
    )
    for decision in _decisions(policy, control_plane(), STAGING_NS):
        assert not decision.admitted
        assert decision.failures[0].index == 1 and decision.failures[0].error


def test_a_failing_message_expression_falls_back_to_the_message() -> None:
    policy = _edited("roleIdentity", "validations", 3, "messageExpression", "variables.owners[5]")
    live_ref = {"kind": "AWSClusterRoleIdentity", "name": "live-identity"}
    for decision in _decisions(policy, control_plane(identity_ref=live_ref), STAGING_NS):
        (failure,) = decision.failures
        assert failure.message == "CAPA-C003: identityRef names another account's identity"
        assert failure.message_expression_error and failure.error is None


def test_a_match_condition_error_denies_and_a_false_one_skips() -> None:
    policy = copy.deepcopy(policy_for("roleIdentity"))
    conditions = policy["spec"]["matchConditions"]
    conditions.append({"name": "broken", "expression": "object.spec.noSuchField == 'x'"})
    for decision in _decisions(policy, control_plane(), STAGING_NS):
        assert decision.matched and [f.index for f in decision.failures] == [-1], decision
    # A false condition wins over an erroring one: the policy does not apply at all.
    conditions.insert(0, {"name": "never", "expression": "request.operation == 'CONNECT'"})
    for decision in _decisions(policy, control_plane(), STAGING_NS):
        assert not decision.matched and decision.admitted, decision


def test_cluster_scoped_request_type_checks_and_agrees() -> None:
    obj = control_plane()
    for decision in _decisions(policy_for("operator"), obj, None):
        assert [f.message.split(":")[0] for f in decision.failures] == ["CAPA-C003"]
