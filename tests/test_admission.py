"""The generated ValidatingAdmissionPolicy, evaluated with cel-python as the API server would."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cel_harness import admission_request, evaluate, matches

from capa_accounts.kustomize_plugin.admission import (
    ACCOUNT_LABEL,
    WATCH_FILTER_LABEL,
    AccountBinding,
    admission_objects,
)
from capa_accounts.core.errors import ConfigError
from capa_accounts.core.schema.k8s_admission import SCHEMAS
from capa_accounts.core.schema.validator import compile_schema, validate

STAGING = AccountBinding("staging", "staging", "staging-identity")  # AWS account 222222222222
LIVE = AccountBinding("live", "live", "live-identity")  # AWS account 333333333333
DEV = AccountBinding("dev", "dev", "dev-identity", enforced=False)
ACCOUNTS = [STAGING, LIVE, DEV]

ROLE = {"kind": "AWSClusterRoleIdentity", "name": "staging-identity"}
DEFAULT = {"kind": "AWSClusterControllerIdentity", "name": "default"}
STATIC = {"kind": "AWSClusterStaticIdentity", "name": "keys"}


def control_plane(namespace: str = "staging", identity_ref: dict[str, str] | None = ROLE,
                  labels: dict[str, str] | None = None) -> dict[str, Any]:
    """An AWSManagedControlPlane shaped like what render writes."""
    spec: dict[str, Any] = {"region": "eu-west-1", "version": "1.31", "eksClusterName": namespace}
    if identity_ref is not None:
        spec = {"identityRef": dict(identity_ref), **spec}
    return {
        "apiVersion": "controlplane.cluster.x-k8s.io/v1beta2",
        "kind": "AWSManagedControlPlane",
        "metadata": {"name": f"{namespace}-control-plane", "namespace": namespace,
                     "labels": {"cluster.x-k8s.io/cluster-name": namespace, **(labels or {})}},
        "spec": spec,
    }


def namespace(name: str, account: str | None) -> dict[str, Any]:
    labels = {ACCOUNT_LABEL: account} if account is not None else {}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def policy_for(credentials: str) -> dict[str, Any]:
    return admission_objects(ACCOUNTS, credentials)[0]


def admit(credentials: str, obj: dict[str, Any], ns: dict[str, Any], *,
          operation: str = "CREATE", old: dict[str, Any] | None = None) -> list[Any]:
    ns_name = ns["metadata"]["name"]
    request = admission_request(operation, obj, ns_name)
    policy = policy_for(credentials)
    assert matches(policy, request)
    return evaluate(policy, obj=obj, old_obj=old, namespace_obj=ns, request=request)


def deleting(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    out["metadata"]["finalizers"] = []
    return out


OPERATOR_LABEL = {WATCH_FILTER_LABEL: "staging"}

ADMITTED = [
    ("roleIdentity", control_plane(), namespace("staging", "staging"), "CREATE", None),
    ("roleIdentity", control_plane(), namespace("staging", "staging"), "UPDATE", control_plane()),
    ("roleIdentity", control_plane("live", {"kind": "AWSClusterRoleIdentity",
                                            "name": "live-identity"}),
     namespace("live", "live"), "CREATE", None),
    # enforced: false is the escape hatch: that account's control planes are not checked.
    ("roleIdentity", control_plane("dev", DEFAULT), namespace("dev", "dev"), "CREATE", None),
    # A control plane from before the policy may still lose its finalizer.
    ("roleIdentity", deleting(control_plane(identity_ref=DEFAULT)), namespace("staging", None),
     "UPDATE", control_plane(identity_ref=DEFAULT)),
    ("operator", control_plane(identity_ref=DEFAULT, labels=OPERATOR_LABEL),
     namespace("staging", "staging"), "CREATE", None),
    # Absent identityRef is fine in operator mode: CAPA's webhook defaults it to `default`.
    ("operator", control_plane(identity_ref=None, labels=OPERATOR_LABEL),
     namespace("staging", "staging"), "CREATE", None),
]


@pytest.mark.parametrize(("credentials", "obj", "ns", "operation", "old"), ADMITTED, ids=[
    "role-staging", "role-staging-update", "role-live", "role-unenforced-account",
    "role-finalizer-removal", "operator-default", "operator-identityref-absent",
])
def test_rendered_control_planes_are_admitted(credentials: str, obj: dict[str, Any],
                                              ns: dict[str, Any], operation: str,
                                              old: dict[str, Any] | None) -> None:
    assert admit(credentials, obj, ns, operation=operation, old=old) == []


LIVE_REF = {"kind": "AWSClusterRoleIdentity", "name": "live-identity"}

DENIED = [
    ("roleIdentity", control_plane(identity_ref=None), namespace("staging", "staging"),
     "CAPA-C001", "missing"),
    ("roleIdentity", control_plane(identity_ref=DEFAULT), namespace("staging", "staging"),
     "CAPA-C004", "controller identity"),
    ("roleIdentity", control_plane(identity_ref=STATIC), namespace("staging", "staging"),
     "CAPA-C004", "static identity"),
    ("roleIdentity", control_plane(identity_ref=LIVE_REF), namespace("staging", "staging"),
     "CAPA-C003", "identity of account live"),
    ("roleIdentity", control_plane(identity_ref={"kind": "AWSClusterRoleIdentity",
                                                 "name": "prod-identity"}),
     namespace("staging", "staging"), "CAPA-C002", "no account renders"),
    ("roleIdentity", control_plane(), namespace("staging", None), "CAPA-C003", "has no"),
    # Relabelling the staging namespace as live does not unlock live's identity...
    ("roleIdentity", control_plane(identity_ref=LIVE_REF), namespace("staging", "live"),
     "CAPA-C003", "whose namespace is live"),
    # ...nor does labelling a new namespace as staging unlock staging's.
    ("roleIdentity", control_plane("evil"), namespace("evil", "staging"), "CAPA-C003",
     "whose namespace is staging"),
    ("roleIdentity", control_plane("evil", DEFAULT), namespace("evil", "dev"), "CAPA-C003",
     "whose namespace is dev"),
    ("roleIdentity", control_plane(), namespace("staging", "prod"), "CAPA-C003",
     "not a known account"),
    ("operator", control_plane(identity_ref=DEFAULT), namespace("staging", "staging"),
     "CAPA-O002", "is missing"),
    ("operator", control_plane(identity_ref=DEFAULT, labels={WATCH_FILTER_LABEL: "env=staging"}),
     namespace("staging", "staging"), "CAPA-O002", "is env=staging"),
    ("operator", control_plane(identity_ref=DEFAULT, labels={WATCH_FILTER_LABEL: "live"}),
     namespace("staging", "staging"), "CAPA-O002", "is live"),
    ("operator", control_plane(labels=OPERATOR_LABEL), namespace("staging", "staging"),
     "CAPA-C002", "AWSClusterRoleIdentity staging-identity"),
    ("operator", control_plane(identity_ref=STATIC, labels=OPERATOR_LABEL),
     namespace("staging", "staging"), "CAPA-C002", "AWSClusterStaticIdentity keys"),
    ("operator", control_plane(identity_ref=DEFAULT, labels=OPERATOR_LABEL),
     namespace("staging", None), "CAPA-C003", "has no"),
]


@pytest.mark.parametrize(("credentials", "obj", "ns", "rule", "detail"), DENIED, ids=[
    "no-identityref", "controller-identity-default", "static-identity",
    "other-accounts-identity", "unknown-identity", "unlabelled-namespace",
    "namespace-relabelled-as-other-account", "foreign-namespace-labelled-as-account",
    "foreign-namespace-labelled-as-unenforced-account", "label-names-unknown-account",
    "operator-watch-filter-missing", "operator-watch-filter-seed-typo",
    "operator-watch-filter-other-account", "operator-role-identity", "operator-static-identity",
    "operator-unlabelled-namespace",
])
def test_violations_are_denied_with_the_check_rule_id(credentials: str, obj: dict[str, Any],
                                                     ns: dict[str, Any], rule: str,
                                                     detail: str) -> None:
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
    failures = admit("roleIdentity", new, namespace("staging", "staging"), operation="UPDATE",
                     old=old)
    assert [f.message.split(":")[0] for f in failures] == ["CAPA-C004"]


def test_cluster_scoped_request_fails_closed_without_crashing_the_variables() -> None:
    # namespaceObject is null outside a namespace; the policy must deny, not error out.
    policy = policy_for("roleIdentity")
    request = admission_request("CREATE", control_plane(), "")
    failures = evaluate(policy, obj=control_plane(), old_obj=None, namespace_obj=None,
                        request=request)
    assert [(f.message.split(":")[0], f.error) for f in failures] == [("CAPA-C003", None)]


@pytest.mark.parametrize(("operation", "api_version", "expected"), [
    ("CREATE", "controlplane.cluster.x-k8s.io/v1beta2", True),
    ("UPDATE", "controlplane.cluster.x-k8s.io/v1beta2", True),
    ("DELETE", "controlplane.cluster.x-k8s.io/v1beta2", False),
    ("CREATE", "infrastructure.cluster.x-k8s.io/v1beta2", False),
], ids=["create", "update", "delete", "other-group"])
def test_policy_matches_control_plane_writes(operation: str, api_version: str,
                                             expected: bool) -> None:
    obj = {**control_plane(), "apiVersion": api_version}
    assert matches(policy_for("roleIdentity"), admission_request(operation, obj, "staging")) \
        is expected


@pytest.mark.parametrize("credentials", ["roleIdentity", "operator"], ids=["role", "operator"])
def test_output_is_deterministic_and_fails_closed(credentials: str) -> None:
    first = admission_objects(ACCOUNTS, credentials)
    assert first == admission_objects(list(reversed(ACCOUNTS)), credentials)
    policy, binding = first
    assert policy["spec"]["failurePolicy"] == "Fail"
    assert binding["spec"] == {"policyName": policy["metadata"]["name"],
                               "validationActions": ["Deny"]}
    accounts = next(v["expression"] for v in policy["spec"]["variables"]
                    if v["name"] == "accounts")
    assert accounts.index('"dev"') < accounts.index('"live"') < accounts.index('"staging"')


@pytest.mark.parametrize(("accounts", "credentials"), [
    ([STAGING], "static"),
    ([STAGING, STAGING], "roleIdentity"),
    ([AccountBinding("../x", "x", "x-identity")], "roleIdentity"),
    ([AccountBinding("x", "x", "x' || true || '")], "roleIdentity"),
], ids=["unknown-mode", "duplicate-account", "path-like-name", "cel-injection"])
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


@pytest.mark.parametrize(("obj", "code", "path"), [
    (_broken(0, ("spec", "failurePolicy"), "Maybe"), "enum", ("spec", "failurePolicy")),
    (_broken(0, ("spec", "failurepolicy"), "Fail"), "unknown", ("spec", "failurepolicy")),
    (_broken(0, ("spec", "validations", 0, "messageExpresion"), "'x'"), "unknown",
     ("spec", "validations", 0, "messageExpresion")),
    (_broken(0, ("spec", "validations", 0, "message"), "two\nlines"), "pattern",
     ("spec", "validations", 0, "message")),
    (_broken(0, ("spec", "variables", 0, "name"), "not-an-identifier"), "pattern",
     ("spec", "variables", 0, "name")),
    (_broken(0, ("spec", "matchConstraints", "resourceRules", 0, "operations"), ["PATCH"]),
     "enum", ("spec", "matchConstraints", "resourceRules", 0, "operations", 0)),
    (_broken(1, ("spec", "validationActions"), ["Deny", "Block"]), "enum",
     ("spec", "validationActions", 1)),
    (_broken(1, ("spec", "paramRef"), {"name": "p", "parameterNotFoundAction": "Skip"}), "enum",
     ("spec", "paramRef", "parameterNotFoundAction")),
    (_broken(1, ("spec", "status"), {}), "unknown", ("spec", "status")),
], ids=["failure-policy-maybe", "failurepolicy-lowercase", "validation-typo",
        "multi-line-message", "variable-name", "operation-patch", "validation-action-block",
        "param-not-found-skip", "binding-unknown-field"])
def test_broken_copies_are_rejected(obj: dict[str, Any], code: str,
                                    path: tuple[str | int, ...]) -> None:
    check = compile_schema(SCHEMAS[(obj["apiVersion"], obj["kind"])])
    assert [(v.code, v.path) for v in validate(check, obj)] == [(code, path)]
