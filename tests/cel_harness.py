"""A small stand-in for the API server's ValidatingAdmissionPolicy evaluation, on cel-python.

It builds the CEL activation the way the Kubernetes docs describe it
(reference/access-authn-authz/validating-admission-policy, "Validation expression"):
``object``, ``oldObject`` (null on CREATE), ``namespaceObject`` (null for cluster-scoped
requests), ``request`` (admission.k8s.io AdmissionRequest fields) and ``variables``, whose
members are evaluated lazily, once, in the order the policy lists them. It reports what the
API server would: each failing validation with its message (``messageExpression`` first, the
static ``message`` when that errors or is blank or multi-line), an expression error as a
failure (``failurePolicy: Fail``), and the first failure is what a Deny returns to the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import celpy
from celpy import celtypes

_ENV = celpy.Environment()


@cache
def _program(expression: str) -> celpy.Runner:
    return _ENV.program(_ENV.compile(expression))


def _run(expression: str, activation: dict[str, Any]) -> Any:
    """The value, or the CELEvalError, of one expression (errors are values in CEL)."""
    try:
        return _program(expression).evaluate(activation)
    except celpy.CELEvalError as err:
        return err


class _LazyVariables(celtypes.MapType):
    """``variables``: a member is computed when first read, then reused (composition)."""

    def __init__(self, definitions: list[dict[str, str]], activation: dict[str, Any]) -> None:
        super().__init__({})
        self._definitions = {d["name"]: d["expression"] for d in definitions}
        self._activation = activation
        self._values: dict[str, Any] = {}

    def __getitem__(self, key: Any) -> Any:
        name = str(key)
        if name not in self._values:
            if name not in self._definitions:
                raise KeyError(name)
            self._values[name] = _run(self._definitions[name], self._activation)
        return self._values[name]


@dataclass(frozen=True)
class Failure:
    index: int  # position in spec.validations
    message: str
    error: str | None = None  # set when the expression failed to evaluate (failurePolicy)
    message_expression_error: str | None = None


def admission_request(operation: str, obj: dict[str, Any] | None,
                      namespace: str) -> dict[str, Any]:
    """The ``request`` variable for a request on an AWSManagedControlPlane."""
    group, _, version = (obj or {}).get("apiVersion", "/").partition("/")
    gvk = {"group": group, "version": version, "kind": (obj or {}).get("kind", "")}
    return {
        "uid": "00000000-0000-0000-0000-000000000000",
        "kind": gvk,
        "resource": {"group": group, "version": version, "resource": "awsmanagedcontrolplanes"},
        "requestKind": gvk,
        "requestResource": {"group": group, "version": version,
                            "resource": "awsmanagedcontrolplanes"},
        "name": (obj or {}).get("metadata", {}).get("name", ""),
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": "system:serviceaccount:flux-system:kustomize-controller",
                     "groups": ["system:serviceaccounts"]},
        "dryRun": False,
    }


def matches(policy: dict[str, Any], request: dict[str, Any], namespaced: bool = True) -> bool:
    """Whether ``spec.matchConstraints.resourceRules`` select this request."""
    def hit(values: list[str], value: str) -> bool:
        return "*" in values or value in values

    resource = request["resource"]
    for rule in policy["spec"]["matchConstraints"].get("resourceRules", []):
        scope = rule.get("scope", "*")
        if (hit(rule["apiGroups"], resource["group"])
                and hit(rule["apiVersions"], resource["version"])
                and hit(rule["operations"], request["operation"])
                and hit(rule["resources"], resource["resource"])
                and (scope == "*" or (scope == "Namespaced") == namespaced)):
            return True
    return False


def evaluate(policy: dict[str, Any], *, obj: dict[str, Any] | None,
             old_obj: dict[str, Any] | None, namespace_obj: dict[str, Any] | None,
             request: dict[str, Any]) -> list[Failure]:
    """Every failing validation of ``policy`` for this request, in the policy's order."""
    activation: dict[str, Any] = {
        "object": celpy.json_to_cel(obj),
        "oldObject": celpy.json_to_cel(old_obj),
        "namespaceObject": celpy.json_to_cel(namespace_obj),
        "request": celpy.json_to_cel(request),
    }
    activation["variables"] = _LazyVariables(policy["spec"].get("variables", []), activation)
    failures = []
    for index, validation in enumerate(policy["spec"]["validations"]):
        result = _run(validation["expression"], activation)
        if isinstance(result, celtypes.BoolType) and bool(result):
            continue
        error = None if isinstance(result, celtypes.BoolType) else f"not a bool: {result!r}"
        fallback = validation.get("message") or f"failed expression: {validation['expression']}"
        message, message_error = fallback, None
        if error is None and "messageExpression" in validation:
            text = _run(validation["messageExpression"], activation)
            if isinstance(text, str) and text.strip() and "\n" not in text:
                message = str(text)
            else:
                message_error = repr(text)
        failures.append(Failure(index, message, error, message_error))
    return failures
