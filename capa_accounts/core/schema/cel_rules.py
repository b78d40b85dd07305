"""The CRDs' CEL rules (``x-kubernetes-validations``), evaluated with cel-python when installed.

Structural schemas cannot say "exactly one of" or "must start with"; the CRDs say it in CEL
and the API server enforces it. ``BUILTIN_RULES`` lists the rules of the kinds that have a
built-in schema, each at the path where ``self`` binds ("[]" stands for every list item, "*"
for every map value); ``rules_from_schema`` extracts them from any CRD for ``check --crd``.

cel-python (``celpy``) is an optional dependency: without it ``cel_rules`` returns None and
the rules are not checked. Transition rules (those using ``oldSelf``) need the stored object
and are never checked here. A rule whose evaluation fails (a value of the wrong type, which
the schema check reports by itself) is skipped, as the API server does not run CEL on values
that fail their schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from capa_accounts.core.record import Record
from capa_accounts.core.resources import (
    CAPI_V1BETA1,
    CAPI_V1BETA2,
    CONTROLPLANE_API,
    FLUX_KUSTOMIZE_API,
    FLUX_SOURCE_API,
    OPERATOR_API,
)
from capa_accounts.core.schema.validator import Path, Violation

Key = tuple[str, str]
CelCheck = Callable[[Any], list[Violation]]


class CelRule(Record):
    """One ``x-kubernetes-validations`` rule of a CRD, at the schema path that holds it."""

    FIELDS = ("path", "rule", "message")
    path: tuple[str, ...]
    rule: str
    message: str

    def __init__(self, path: tuple[str, ...], rule: str, message: str) -> None:
        set_ = object.__setattr__
        set_(self, "path", path)
        set_(self, "rule", rule)
        set_(self, "message", message)


_NOT_A_CONDITION = (
    "!(self in ['Ready','Available','HealthCheckSucceeded','OwnerRemediated',"
    "'ExternallyRemediated'])"
)
_CONDITION_MESSAGE = (
    "type must not be one of: Ready, Available, HealthCheckSucceeded, "
    "OwnerRemediated, ExternallyRemediated"
)
_KUBECONFIG_MESSAGE = (
    "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified"
)

BUILTIN_RULES: dict[Key, tuple[CelRule, ...]] = {
    # CAPA api/v1beta2/network_types.go (VPCSpec.CarrierGatewayID, ElasticIPPool).
    (CONTROLPLANE_API, "AWSManagedControlPlane"): (
        CelRule(
            ("spec", "network", "vpc", "carrierGatewayId"),
            "self.startsWith('cagw-')",
            "Carrier Gateway ID must start with 'cagw-'",
        ),
        CelRule(
            ("spec", "network", "vpc", "elasticIpPool", "publicIpv4PoolFallbackOrder"),
            "self in ['none','amazon-pool']",
            "allowed values are 'none' and 'amazon-pool'",
        ),
    ),
    # CAPI api/core/v1beta1/cluster_types.go: MachineHealthCheck conditions of a topology.
    (CAPI_V1BETA1, "Cluster"): (
        CelRule(
            (
                "spec",
                "topology",
                "controlPlane",
                "machineHealthCheck",
                "unhealthyMachineConditions",
                "[]",
                "type",
            ),
            _NOT_A_CONDITION,
            _CONDITION_MESSAGE,
        ),
        CelRule(
            (
                "spec",
                "topology",
                "workers",
                "machineDeployments",
                "[]",
                "machineHealthCheck",
                "unhealthyMachineConditions",
                "[]",
                "type",
            ),
            _NOT_A_CONDITION,
            _CONDITION_MESSAGE,
        ),
    ),
    # CAPI api/core/v1beta2/cluster_types.go.
    (CAPI_V1BETA2, "Cluster"): (
        CelRule(
            (
                "spec",
                "topology",
                "controlPlane",
                "healthCheck",
                "checks",
                "unhealthyMachineConditions",
                "[]",
                "type",
            ),
            _NOT_A_CONDITION,
            _CONDITION_MESSAGE,
        ),
        CelRule(
            (
                "spec",
                "topology",
                "workers",
                "machineDeployments",
                "[]",
                "healthCheck",
                "checks",
                "unhealthyMachineConditions",
                "[]",
                "type",
            ),
            _NOT_A_CONDITION,
            _CONDITION_MESSAGE,
        ),
    ),
    # cluster-api-operator api/v1alpha2/provider_types.go.
    (OPERATOR_API, "InfrastructureProvider"): (
        CelRule(
            ("spec",),
            "!(has(self.manifestPatches) && has(self.patches))",
            "Cannot set both 'patches' and 'manifestPatches'",
        ),
        CelRule(
            ("spec", "fetchConfig"),
            "[has(self.oci), has(self.url), has(self.selector)].exists_one(x,x)",
            "Must specify one and only one of {oci, url, selector}",
        ),
    ),
    # fluxcd/kustomize-controller api/v1/kustomization_types.go (meta.KubeConfigReference).
    (FLUX_KUSTOMIZE_API, "Kustomization"): (
        CelRule(
            ("spec", "kubeConfig"),
            "has(self.configMapRef) || has(self.secretRef)",
            _KUBECONFIG_MESSAGE,
        ),
        CelRule(
            ("spec", "kubeConfig"),
            "!has(self.configMapRef) || !has(self.secretRef)",
            _KUBECONFIG_MESSAGE,
        ),
    ),
    # fluxcd/source-controller api/v1/gitrepository_types.go.
    (FLUX_SOURCE_API, "GitRepository"): (
        CelRule(
            ("spec",),
            "!has(self.serviceAccountName) || (has(self.provider) && "
            "(self.provider == 'azure' || self.provider == 'aws'))",
            "serviceAccountName can only be set when provider is 'azure' or 'aws'",
        ),
    ),
}


def rules_from_schema(schema: dict[str, Any], path: tuple[str, ...] = ()) -> list[CelRule]:
    """Every ``x-kubernetes-validations`` rule of an ``openAPIV3Schema``, with its path."""
    found: list[CelRule] = []
    for entry in schema.get("x-kubernetes-validations") or []:
        if isinstance(entry, dict) and isinstance(entry.get("rule"), str):
            found.append(CelRule(path, entry["rule"], str(entry.get("message") or entry["rule"])))
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            found.extend(rules_from_schema(sub, (*path, name)))
    if isinstance(schema.get("items"), dict):
        found.extend(rules_from_schema(schema["items"], (*path, "[]")))
    if isinstance(schema.get("additionalProperties"), dict):
        found.extend(rules_from_schema(schema["additionalProperties"], (*path, "*")))
    return found


def _nodes(value: Any, pattern: tuple[str, ...], at: Path = ()) -> Iterator[tuple[Path, Any]]:
    if not pattern:
        yield at, value
        return
    head, rest = pattern[0], pattern[1:]
    if head == "[]":
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from _nodes(item, rest, (*at, i))
    elif head == "*":
        if isinstance(value, dict):
            for key, item in value.items():
                yield from _nodes(item, rest, (*at, key))
    elif isinstance(value, dict) and head in value:
        yield from _nodes(value[head], rest, (*at, head))


def compile_rules(rules: tuple[CelRule, ...] | list[CelRule]) -> CelCheck | None:
    """Compile rules into one check, or None if cel-python is missing or nothing applies."""
    try:
        import celpy  # optional: cel-python
    except ImportError:
        return None
    env = celpy.Environment()
    programs = [
        (rule, env.program(env.compile(rule.rule))) for rule in rules if "oldSelf" not in rule.rule
    ]
    if not programs:
        return None

    def check(document: Any) -> list[Violation]:
        out: list[Violation] = []
        for rule, program in programs:
            for path, value in _nodes(document, rule.path):
                try:
                    result = program.evaluate({"self": celpy.json_to_cel(value)})
                except Exception:  # noqa: BLE001,S112 - wrong-typed value: the schema reports it
                    continue
                if isinstance(result, bool | celpy.celtypes.BoolType) and not result:
                    out.append(Violation(path, rule.message, "cel"))
        return out

    return check


_cache: dict[Key, CelCheck | None] = {}


def cel_rules(api_version: str, kind: str) -> CelCheck | None:
    """The CEL check of a built-in kind (compiled once), or None when there is nothing to run."""
    key = (api_version, kind)
    if key not in _cache:
        rules = BUILTIN_RULES.get(key)
        _cache[key] = compile_rules(rules) if rules else None
    return _cache[key]
