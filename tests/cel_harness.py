"""The API server's ValidatingAdmissionPolicy evaluation, driven over two CEL engines.

The driver (``decide``) follows k8s.io/apiserver pkg/admission/plugin/policy/validating
(``plugin.go`` compilePolicy, ``validator.go`` Validate) and pkg/admission/plugin/cel
(``composition.go``): ``matchConditions`` first (any false: the policy does not apply; an error
and no false: ``failurePolicy``), then every validation in order, each failure with its message
(``messageExpression`` first; the static ``message`` when that errors, is blank or is multi-line);
an expression that errors is a failure (``failurePolicy: Fail``) and the first failure is what a
Deny returns to the client. ``variables`` are evaluated lazily, once each, in the policy's order
(pkg/cel/lazy). Each engine supplies ``bind``: the CEL activation for one request, built as the
API server builds it (``object``, ``oldObject`` null on CREATE, ``namespaceObject`` null for
cluster-scoped requests, ``request``, ``params`` when the policy has a ``paramKind``).

``cel_python`` below is cel-python (a pure-Python CEL, no type checker); ``cel_official.py``
is cel-expr-python, the CEL project's C++ runtime, compiled with type checking.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import celpy
from celpy import celtypes
from celpy.evaluation import Evaluator

from capa_accounts.kustomize_plugin.admission import GUARDED_KINDS

_RESOURCES = {kind: (group, resource) for group, resource, kind in GUARDED_KINDS}
VARIABLE_REF = re.compile(r"\bvariables\.([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class EvalError:
    """An expression's evaluation error (CEL errors are values); engines word them differently."""

    text: str

    def __eq__(self, other: object) -> bool:  # any error equals any error across engines
        return isinstance(other, EvalError)

    def __hash__(self) -> int:
        return 0


class Bound(Protocol):
    """One request's activation on one engine."""

    def run(self, expression: str) -> Any:
        """The plain value (bool, str, int, list, dict, None) or the EvalError."""

    def variable(self, name: str) -> Any:
        """``variables.<name>``: evaluated on first use, then reused."""


class Engine(Protocol):
    name: str

    def bind(
        self,
        policy: dict[str, Any],
        *,
        obj: dict[str, Any] | None,
        old_obj: dict[str, Any] | None,
        namespace_obj: dict[str, Any] | None,
        request: dict[str, Any],
        params: Any = None,
    ) -> Bound: ...


@dataclass(frozen=True)
class Failure:
    index: int  # position in spec.validations; -1 for a matchCondition error
    message: str
    error: str | None = None  # set when the expression failed to evaluate (failurePolicy)
    message_expression_error: str | None = None

    def key(self) -> tuple[int, str, bool, bool]:
        """What both engines must agree on (their error texts differ)."""
        return (
            self.index,
            self.message,
            self.error is not None,
            self.message_expression_error is not None,
        )


@dataclass(frozen=True)
class Decision:
    matched: bool  # matchConditions all true (or errored: failurePolicy applies)
    failures: list[Failure] = field(default_factory=list)

    @property
    def admitted(self) -> bool:
        return not self.failures

    def key(self) -> tuple[bool, list[tuple[int, str, bool, bool]]]:
        return (self.matched, [f.key() for f in self.failures])


def admission_request(operation: str, obj: dict[str, Any] | None, namespace: str) -> dict[str, Any]:
    """The ``request`` variable: the AdmissionRequest fields the API server declares
    (pkg/admission/plugin/cel/compile.go BuildRequestType; ``uid`` is not among them)."""
    group, _, version = (obj or {}).get("apiVersion", "/").partition("/")
    kind = (obj or {}).get("kind", "")
    resource = _RESOURCES.get(kind, (group, kind.lower() + "s"))[1]
    gvk = {"group": group, "version": version, "kind": kind}
    gvr = {"group": group, "version": version, "resource": resource}
    return {
        "kind": gvk,
        "resource": gvr,
        "requestKind": gvk,
        "requestResource": gvr,
        "name": (obj or {}).get("metadata", {}).get("name", ""),
        "namespace": namespace,
        "operation": operation,
        "userInfo": {
            "username": "system:serviceaccount:flux-system:kustomize-controller",
            "groups": ["system:serviceaccounts"],
        },
        "dryRun": False,
    }


def matches(policy: dict[str, Any], request: dict[str, Any], namespaced: bool = True) -> bool:
    """Whether ``spec.matchConstraints.resourceRules`` select this request."""

    def hit(values: list[str], value: str) -> bool:
        return "*" in values or value in values

    resource = request["resource"]
    for rule in policy["spec"]["matchConstraints"].get("resourceRules", []):
        scope = rule.get("scope", "*")
        if (
            hit(rule["apiGroups"], resource["group"])
            and hit(rule["apiVersions"], resource["version"])
            and hit(rule["operations"], request["operation"])
            and hit(rule["resources"], resource["resource"])
            and (scope == "*" or (scope == "Namespaced") == namespaced)
        ):
            return True
    return False


def decide(policy: dict[str, Any], bound: Bound) -> Decision:
    """The policy's decision for the bound request, as the API server reaches it."""
    spec = policy["spec"]
    errors = []
    for condition in spec.get("matchConditions", []):
        result = bound.run(condition["expression"])
        if result is False:
            return Decision(matched=False)
        if result is not True:
            errors.append(f"matchCondition {condition['name']}: {result!r}")
    if errors:  # no condition was false, one errored: failurePolicy Fail rejects the request
        return Decision(True, [Failure(-1, "policy match condition failed", "; ".join(errors))])
    failures = []
    for index, validation in enumerate(spec["validations"]):
        result = bound.run(validation["expression"])
        if result is True:
            continue
        error = None if result is False else f"not a bool: {result!r}"
        fallback = validation.get("message") or f"failed expression: {validation['expression']}"
        message, message_error = fallback, None
        if error is None and "messageExpression" in validation:
            text = bound.run(validation["messageExpression"])
            if isinstance(text, str) and text.strip() and "\n" not in text:
                message = text
            else:
                message_error = repr(text)
        failures.append(Failure(index, message, error, message_error))
    return Decision(True, failures)


def every_expression(policy: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, expression) for every CEL expression of the policy, in the policy's order."""
    spec = policy["spec"]
    out = [
        (f"matchConditions[{c['name']}]", c["expression"]) for c in spec.get("matchConditions", [])
    ]
    out += [(f"variables.{v['name']}", v["expression"]) for v in spec.get("variables", [])]
    for i, v in enumerate(spec["validations"]):
        out.append((f"validations[{i}].expression", v["expression"]))
        if "messageExpression" in v:
            out.append((f"validations[{i}].messageExpression", v["messageExpression"]))
    return out


# --- cel-python -----------------------------------------------------------------------------

PER_CALL_LIMIT = 1_000_000  # k8s.io/apiserver pkg/apis/cel/config.go PerCallLimit
RUNTIME_BUDGET = 10_000_000  # same file, RuntimeCELCostBudget (per binding evaluation)


@dataclass
class Steps:
    """Parse-tree nodes cel-python visited, per expression: a stand-in for CEL's runtime cost.

    cel-go (the API server's engine) charges about one unit per identifier, field selection,
    index and function call it evaluates, comprehension bodies once per element, plus 10 or 30
    for creating a list or map literal (cel-go interpreter/runtimecost.go); cel-python's grammar
    wraps each of those in a chain of parse-tree nodes (expr, conditionalor, ..., primary), so
    the count grows with the same inputs and sits above that cost for this policy's
    short names. Neither engine here exposes cel-go's tracker.
    """

    by_expression: dict[str, int] = field(default_factory=dict)
    current: str = ""


_STEPS: list[Steps] = []


@contextmanager
def counting_steps() -> Iterator[Steps]:
    """Count cel-python evaluation steps inside the block (not thread-safe; for tests)."""
    steps = Steps()
    original = Evaluator._visit_tree

    def visit(self: Evaluator, tree: Any) -> Any:
        steps.by_expression[steps.current] = steps.by_expression.get(steps.current, 0) + 1
        return original(self, tree)

    Evaluator._visit_tree = visit  # type: ignore[method-assign]
    _STEPS.append(steps)
    try:
        yield steps
    finally:
        _STEPS.pop()
        Evaluator._visit_tree = original  # type: ignore[method-assign]


_ENV = celpy.Environment()


def _substring(text: Any, start: Any, end: Any) -> Any:
    """CEL's strings extension ``substring(start, end)``, which cel-python lacks: code point
    indices, an error when out of range or reversed (cel-go ext/strings.go, substrRange)."""
    start, end = int(start), int(end)
    if not 0 <= start <= end <= len(text):
        return celpy.CELEvalError(f"substring out of range: {start}, {end}")
    return celtypes.StringType(str(text)[start:end])


@cache
def _program(expression: str) -> celpy.Runner:
    return _ENV.program(_ENV.compile(expression), functions={"substring": _substring})


def _plain(value: Any) -> Any:
    if isinstance(value, celpy.CELEvalError):
        return EvalError(str(value))
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, celtypes.MapType):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


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
            self._values[name] = _raw(self._definitions[name], self._activation)
        return self._values[name]


def _raw(expression: str, activation: dict[str, Any]) -> Any:
    outer = _STEPS[-1].current if _STEPS else ""
    if _STEPS:  # a variable read from inside an expression is charged to the variable
        _STEPS[-1].current = expression
    try:
        return _program(expression).evaluate(activation)
    except celpy.CELEvalError as err:
        return err
    finally:
        if _STEPS:
            _STEPS[-1].current = outer


class _CelPythonBound:
    def __init__(self, policy: dict[str, Any], activation: dict[str, Any]) -> None:
        self._activation = activation
        self._variables = _LazyVariables(policy["spec"].get("variables", []), activation)
        activation["variables"] = self._variables

    def run(self, expression: str) -> Any:
        return _plain(_raw(expression, self._activation))

    def variable(self, name: str) -> Any:
        return _plain(self._variables[name])


class CelPython:
    name = "cel-python"

    def bind(
        self,
        policy: dict[str, Any],
        *,
        obj: dict[str, Any] | None,
        old_obj: dict[str, Any] | None,
        namespace_obj: dict[str, Any] | None,
        request: dict[str, Any],
        params: Any = None,
    ) -> Bound:
        activation: dict[str, Any] = {
            "object": celpy.json_to_cel(obj),
            "oldObject": celpy.json_to_cel(old_obj),
            "namespaceObject": celpy.json_to_cel(namespace_obj),
            "request": celpy.json_to_cel(request),
        }
        if "paramKind" in policy["spec"]:
            activation["params"] = celpy.json_to_cel(params)
        return _CelPythonBound(policy, activation)


cel_python = CelPython()


def evaluate(
    policy: dict[str, Any],
    *,
    obj: dict[str, Any] | None,
    old_obj: dict[str, Any] | None,
    namespace_obj: dict[str, Any] | None,
    request: dict[str, Any],
    engine: Engine = cel_python,
) -> list[Failure]:
    """Every failing validation of ``policy`` for this request ([] when admitted)."""
    bound = engine.bind(
        policy, obj=obj, old_obj=old_obj, namespace_obj=namespace_obj, request=request
    )
    return decide(policy, bound).failures
