"""The generated ValidatingAdmissionPolicy, evaluated as the API server would, on two engines.

Every case runs on cel-python and on cel-expr-python (the CEL project's C++ runtime, compiled
with type checking); both must reach the same decision and give every expression of the
policy (matchConditions, variables, validations, messageExpressions) the same value.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cel_harness import (
    Decision,
    admission_request,
    cel_python,
    decide,
    every_expression,
    matches,
)
from cel_official import cel_expr

from capa_accounts.core.errors import ConfigError
from capa_accounts.core.schema.k8s_admission import SCHEMAS
from capa_accounts.core.schema.validator import compile_schema, validate
from capa_accounts.kustomize_plugin.admission import (
    ACCOUNT_LABEL,
    WATCH_FILTER_LABEL,
    AccountBinding,
    admission_objects,
)

STAGING = AccountBinding("staging", "staging", "staging-identity")  # AWS account 222222222222
LIVE = AccountBinding("live", "live", "live-identity")  # AWS account 333333333333
DEV = AccountBinding("dev", "dev", "dev-identity", enforced=False)
ACCOUNTS = [STAGING, LIVE, DEV]

ROLE = {"kind": "AWSClusterRoleIdentity", "name": "staging-identity"}
DEFAULT = {"kind": "AWSClusterControllerIdentity", "name": "default"}
STATIC = {"kind": "AWSClusterStaticIdentity", "name": "keys"}


def control_plane(
    namespace: str = "staging",
    identity_ref: dict[str, str] | None = ROLE,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An AWSManagedControlPlane shaped like what render writes."""
    spec: dict[str, Any] = {"region": "eu-west-1", "version": "1.35", "eksClusterName": namespace}
    if identity_ref is not None:
        spec = {"identityRef": dict(identity_ref), **spec}
    return {
        "apiVersion": "controlplane.cluster.x-k8s.io/v1beta2",
        "kind": "AWSManagedControlPlane",
        "metadata": {
            "name": f"{namespace}-control-plane",
            "namespace": namespace,
            "labels": {"cluster.x-k8s.io/cluster-name": namespace, **(labels or {})},
        },
        "spec": spec,
    }


def namespace(name: str, account: str | None) -> dict[str, Any]:
    labels = {ACCOUNT_LABEL: account} if account is not None else {}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def policy_for(credentials: str) -> dict[str, Any]:
    return admission_objects(ACCOUNTS, credentials)[0]


def both_engines(
    policy: dict[str, Any],
    obj: dict[str, Any] | None,
    old: dict[str, Any] | None,
    ns: dict[str, Any] | None,
    request: dict[str, Any],
) -> Decision:
    """The decision, after checking that both engines agree on it and on every expression."""
    decisions, values = [], []
    for engine in (cel_python, cel_expr):
        decisions.append(
            decide(
                policy, engine.bind(policy, obj=obj, old_obj=old, namespace_obj=ns, request=request)
            )
        )
        # A fresh activation: deciding must not have depended on what was computed for it.
        bound = engine.bind(policy, obj=obj, old_obj=old, namespace_obj=ns, request=request)
        values.append(
            {
                where: (
                    bound.variable(where.split(".", 1)[1])
                    if where.startswith("variables.")
                    else bound.run(expression)
                )
                for where, expression in every_expression(policy)
            }
        )
    python, official = decisions
    assert python.key() == official.key(), (python, official)
    assert values[0] == values[1], {
        k: (v, values[1][k]) for k, v in values[0].items() if v != values[1][k]
    }
    return official


def admit(
    credentials: str,
    obj: dict[str, Any],
    ns: dict[str, Any],
    *,
    operation: str = "CREATE",
    old: dict[str, Any] | None = None,
) -> list[Any]:
    ns_name = ns["metadata"]["name"]
    request = admission_request(operation, obj, ns_name)
    policy = policy_for(credentials)
    assert matches(policy, request)
    return both_engines(policy, obj, old, ns, request).failures


def deleting(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    out["metadata"]["finalizers"] = []
    return out


OPERATOR_LABEL = {WATCH_FILTER_LABEL: "staging"}

ADMITTED = [
    ("roleIdentity", control_plane(), namespace("staging", "staging"), "CREATE", None),
    ("roleIdentity", control_plane(), namespace("staging", "staging"), "UPDATE", control_plane()),
    (
        "roleIdentity",
        control_plane("live", {"kind": "AWSClusterRoleIdentity", "name": "live-identity"}),
        namespace("live", "live"),
        "CREATE",
        None,
    ),
    # enforced: false is the escape hatch: that account's control planes are not checked.
    ("roleIdentity", control_plane("dev", DEFAULT), namespace("dev", "dev"), "CREATE", None),
    # A control plane from before the policy may still lose its finalizer.
    (
        "roleIdentity",
        deleting(control_plane(identity_ref=DEFAULT)),
        namespace("staging", None),
        "UPDATE",
        control_plane(identity_ref=DEFAULT),
    ),
    (
        "operator",
        control_plane(identity_ref=DEFAULT, labels=OPERATOR_LABEL),
        namespace("staging", "staging"),
        "CREATE",
        None,
    ),
    # Absent identityRef is fine in operator mode: CAPA's webhook defaults it to `default`.
    (
        "operator",
        control_plane(identity_ref=None, labels=OPERATOR_LABEL),
        namespace("staging", "staging"),
        "CREATE",
        None,
    ),
]


@pytest.mark.parametrize(
    ("credentials", "obj", "ns", "operation", "old"),
    ADMITTED,
    ids=[
        "role-staging",
        "role-staging-update",
        "role-live",
        "role-unenforced-account",
        "role-finalizer-removal",
        "operator-default",
        "operator-identityref-absent",
    ],
)
def test_rendered_control_planes_are_admitted(
    credentials: str,
    obj: dict[str, Any],
    ns: dict[str, Any],
    operation: str,
    old: dict[str, Any] | None,
) -> None:
    assert admit(credentials, obj, ns, operation=operation, old=old) == []


LIVE_REF = {"kind": "AWSClusterRoleIdentity", "name": "live-identity"}

DENIED = [
    (
        "roleIdentity",
        control_plane(identity_ref=None),
        namespace("staging", "staging"),
        "CAPA-C001",
        "missing",
    ),
    (
        "roleIdentity",
        control_plane(identity_ref=DEFAULT),
        namespace("staging", "staging"),
        "CAPA-C004",
        "controller identity",
    ),
    (
        "roleIdentity",
        control_plane(identity_ref=STATIC),
        namespace("staging", "staging"),
        "CAPA-C004",
        "static identity",
    ),
    (
        "roleIdentity",
        control_plane(identity_ref=LIVE_REF),
        namespace("staging", "staging"),
        "CAPA-C003",
        "identity of account live",
    ),
    (
        "roleIdentity",
        control_plane(identity_ref={"kind": "AWSClusterRoleIdentity", "name": "prod-identity"}),
        namespace("staging", "staging"),
        "CAPA-C002",
        "no account renders",
    ),
    ("roleIdentity", control_plane(), namespace("staging", None), "CAPA-C003", "has no"),
    # Relabelling the staging namespace as live does not unlock live's identity...
    (
        "roleIdentity",
        control_plane(identity_ref=LIVE_REF),
        namespace("staging", "live"),
        "CAPA-C003",
        "whose namespace is live",
    ),
    # ...nor does labelling a new namespace as staging unlock staging's.
    (
        "roleIdentity",
        control_plane("evil"),
        namespace("evil", "staging"),
        "CAPA-C003",
        "whose namespace is staging",
    ),
    (
        "roleIdentity",
        control_plane("evil", DEFAULT),
        namespace("evil", "dev"),
        "CAPA-C003",
        "whose namespace is dev",
    ),
    (
        "roleIdentity",
        control_plane(),
        namespace("staging", "prod"),
        "CAPA-C003",
        "not a known account",
    ),
    (
        "operator",
        control_plane(identity_ref=DEFAULT),
        namespace("staging", "staging"),
        "CAPA-O002",
        "is missing",
    ),
    (
        "operator",
        control_plane(identity_ref=DEFAULT, labels={WATCH_FILTER_LABEL: "env=staging"}),
        namespace("staging", "staging"),
        "CAPA-O002",
        "is env=staging",
    ),
    (
        "operator",
        control_plane(identity_ref=DEFAULT, labels={WATCH_FILTER_LABEL: "live"}),
        namespace("staging", "staging"),
        "CAPA-O002",
        "is live",
    ),
    (
        "operator",
        control_plane(labels=OPERATOR_LABEL),
        namespace("staging", "staging"),
        "CAPA-C002",
        "AWSClusterRoleIdentity staging-identity",
    ),
    (
        "operator",
        control_plane(identity_ref=STATIC, labels=OPERATOR_LABEL),
        namespace("staging", "staging"),
        "CAPA-C002",
        "AWSClusterStaticIdentity keys",
    ),
    (
        "operator",
        control_plane(identity_ref=DEFAULT, labels=OPERATOR_LABEL),
        namespace("staging", None),
        "CAPA-C003",
        "has no",
    ),
]


@pytest.mark.parametrize(
    ("credentials", "obj", "ns", "rule", "detail"),
    DENIED,
    ids=[
        "no-identityref",
        "controller-identity-default",
        "static-identity",
        "other-accounts-identity",
        "unknown-identity",
        "unlabelled-namespace",
        "namespace-relabelled-as-other-account",
        "foreign-namespace-labelled-as-account",
        "foreign-namespace-labelled-as-unenforced-account",
        "label-names-unknown-account",
        "operator-watch-filter-missing",
        "operator-watch-filter-seed-typo",
        "operator-watch-filter-other-account",
        "operator-role-identity",
        "operator-static-identity",
        "operator-unlabelled-namespace",
    ],
)
def test_violations_are_denied_with_the_check_rule_id(
    credentials: str, obj: dict[str, Any], ns: dict[str, Any], rule: str, detail: str
) -> None:
    failures = admit(credentials, obj, ns)
    # One finding per mistake: the validations are written to be mutually exclusive, so the
    # message the client sees (the first failure) is the one that names the mistake.
    assert len(failures) == 1, failures
    (failure,) = failures
    assert failure.error is None and failure.message_expression_error is None, failure
    assert failure.message.startswith(f"{rule}: "), failure.message
    assert detail in failure.message, failure.message


def test_changing_identity_while_deleting_is_still_denied() -> None:
    old = control_plane()
    new = deleting(control_plane(identity_ref=DEFAULT))
    failures = admit(
        "roleIdentity", new, namespace("staging", "staging"), operation="UPDATE", old=old
    )
    assert [f.message.split(":")[0] for f in failures] == ["CAPA-C004"]


def test_cluster_scoped_request_fails_closed_without_crashing_the_variables() -> None:
    # namespaceObject is null outside a namespace; the policy must deny, not error out.
    policy = policy_for("roleIdentity")
    request = admission_request("CREATE", control_plane(), "")
    failures = both_engines(policy, control_plane(), None, None, request).failures
    assert [(f.message.split(":")[0], f.error) for f in failures] == [("CAPA-C003", None)]


@pytest.mark.parametrize(
    ("operation", "api_version", "expected"),
    [
        ("CREATE", "controlplane.cluster.x-k8s.io/v1beta2", True),
        ("UPDATE", "controlplane.cluster.x-k8s.io/v1beta2", True),
        ("DELETE", "controlplane.cluster.x-k8s.io/v1beta2", False),
        ("CREATE", "infrastructure.cluster.x-k8s.io/v1beta2", False),
    ],
    ids=["create", "update", "delete", "other-group"],
)
def test_policy_matches_control_plane_writes(
    operation: str, api_version: str, expected: bool
) -> None:
    obj = {**control_plane(), "apiVersion": api_version}
    assert (
        matches(policy_for("roleIdentity"), admission_request(operation, obj, "staging"))
        is expected
    )


@pytest.mark.parametrize("credentials", ["roleIdentity", "operator"], ids=["role", "operator"])
def test_output_is_deterministic_and_fails_closed(credentials: str) -> None:
    first = admission_objects(ACCOUNTS, credentials)
    assert first == admission_objects(list(reversed(ACCOUNTS)), credentials)
    policy, binding = first
    assert policy["spec"]["failurePolicy"] == "Fail"
    assert binding["spec"] == {
        "policyName": policy["metadata"]["name"],
        "validationActions": ["Deny"],
    }
    accounts = next(v["expression"] for v in policy["spec"]["variables"] if v["name"] == "accounts")
    assert accounts.index('"dev"') < accounts.index('"live"') < accounts.index('"staging"')


@pytest.mark.parametrize(
    ("accounts", "credentials"),
    [
        ([STAGING], "static"),
        ([STAGING, STAGING], "roleIdentity"),
        ([AccountBinding("../x", "x", "x-identity")], "roleIdentity"),
        ([AccountBinding("x", "x", "x' || true || '")], "roleIdentity"),
    ],
    ids=["unknown-mode", "duplicate-account", "path-like-name", "cel-injection"],
)
def test_bad_input_is_a_config_error(accounts: list[AccountBinding], credentials: str) -> None:
    with pytest.raises(ConfigError):
        admission_objects(accounts, credentials)


@pytest.mark.parametrize("credentials", ["roleIdentity", "operator"], ids=["role", "operator"])
def test_generated_objects_match_the_schemas(credentials: str) -> None:
    for obj in admission_objects(ACCOUNTS, credentials):
        check = compile_schema(SCHEMAS[(obj["apiVersion"], obj["kind"])])
        assert validate(check, obj) == []


def _broken(index: int, path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    obj = copy.deepcopy(admission_objects(ACCOUNTS, "roleIdentity")[index])
    target: Any = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


@pytest.mark.parametrize(
    ("obj", "code", "path"),
    [
        (_broken(0, ("spec", "failurePolicy"), "Maybe"), "enum", ("spec", "failurePolicy")),
        (_broken(0, ("spec", "failurepolicy"), "Fail"), "unknown", ("spec", "failurepolicy")),
        (
            _broken(0, ("spec", "validations", 0, "messageExpresion"), "'x'"),
            "unknown",
            ("spec", "validations", 0, "messageExpresion"),
        ),
        (
            _broken(0, ("spec", "validations", 0, "message"), "two\nlines"),
            "pattern",
            ("spec", "validations", 0, "message"),
        ),
        (
            _broken(0, ("spec", "variables", 0, "name"), "not-an-identifier"),
            "pattern",
            ("spec", "variables", 0, "name"),
        ),
        (
            _broken(0, ("spec", "matchConstraints", "resourceRules", 0, "operations"), ["PATCH"]),
            "enum",
            ("spec", "matchConstraints", "resourceRules", 0, "operations", 0),
        ),
        (
            _broken(1, ("spec", "validationActions"), ["Deny", "Block"]),
            "enum",
            ("spec", "validationActions", 1),
        ),
        (
            _broken(1, ("spec", "paramRef"), {"name": "p", "parameterNotFoundAction": "Skip"}),
            "enum",
            ("spec", "paramRef", "parameterNotFoundAction"),
        ),
        (_broken(1, ("spec", "status"), {}), "unknown", ("spec", "status")),
    ],
    ids=[
        "failure-policy-maybe",
        "failurepolicy-lowercase",
        "validation-typo",
        "multi-line-message",
        "variable-name",
        "operation-patch",
        "validation-action-block",
        "param-not-found-skip",
        "binding-unknown-field",
    ],
)
def test_broken_copies_are_rejected(
    obj: dict[str, Any], code: str, path: tuple[str | int, ...]
) -> None:
    check = compile_schema(SCHEMAS[(obj["apiVersion"], obj["kind"])])
    assert [(v.code, v.path) for v in validate(check, obj)] == [(code, path)]


# --- UPDATE ---------------------------------------------------------------------------------


def with_finalizer(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"]["finalizers"] = ["awsmanagedcontrolplane.controlplane.cluster.x-k8s.io"]
    return out


def with_annotation(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"]["annotations"] = {"note": "x"}
    return out


def updated(
    credentials: str, old: dict[str, Any], new: dict[str, Any], ns: dict[str, Any]
) -> Decision:
    request = admission_request("UPDATE", new, ns["metadata"]["name"])
    policy = policy_for(credentials)
    assert matches(policy, request)
    return both_engines(policy, new, old, ns, request)


STAGING_NS = namespace("staging", "staging")
# Created before the policy (or while staging was not enforced): points at `default`.
LEGACY = control_plane(identity_ref=DEFAULT)


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        (control_plane(), control_plane(identity_ref=LIVE_REF), "CAPA-C003"),
        (control_plane(), control_plane(identity_ref=DEFAULT), "CAPA-C004"),
        (control_plane(), control_plane(identity_ref=STATIC), "CAPA-C004"),
        (control_plane(), with_finalizer(control_plane(identity_ref=DEFAULT)), "CAPA-C004"),
        # A legacy object may keep its metadata, not take a new spec or new labels.
        (LEGACY, {**LEGACY, "spec": {**LEGACY["spec"], "version": "1.36"}}, "CAPA-C004"),
        (LEGACY, control_plane(identity_ref=DEFAULT, labels={"team": "a"}), "CAPA-C004"),
    ],
    ids=[
        "to-other-accounts-identity",
        "to-default",
        "to-static",
        "finalizer-and-identity",
        "legacy-spec-change",
        "legacy-label-change",
    ],
)
def test_updates_that_change_the_credentials_are_denied(
    old: dict[str, Any], new: dict[str, Any], rule: str
) -> None:
    decision = updated("roleIdentity", old, new, STAGING_NS)
    assert decision.matched
    assert [f.message.split(":")[0] for f in decision.failures] == [rule]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (control_plane(), with_finalizer(control_plane())),
        (LEGACY, with_finalizer(LEGACY)),
        (with_finalizer(LEGACY), deleting(LEGACY)),
        (LEGACY, with_annotation(LEGACY)),
    ],
    ids=["finalizer", "legacy-finalizer", "legacy-deletion", "legacy-annotation"],
)
def test_updates_that_leave_spec_and_labels_alone_are_admitted(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    decision = updated("roleIdentity", old, new, STAGING_NS)
    assert decision.admitted, decision
    # The legacy object is admitted because the policy does not apply, not by accident.
    if old["spec"]["identityRef"] == DEFAULT:
        assert not decision.matched


def test_operator_mode_update_may_not_drop_the_watch_filter_label() -> None:
    old = control_plane(identity_ref=DEFAULT, labels=OPERATOR_LABEL)
    new = control_plane(identity_ref=DEFAULT)
    decision = updated("operator", old, new, STAGING_NS)
    assert [f.message.split(":")[0] for f in decision.failures] == ["CAPA-O002"]
    assert updated("operator", old, with_finalizer(old), STAGING_NS).admitted
