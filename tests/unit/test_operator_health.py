"""Operator mode waits for CAPA itself: the provider Kustomization's health expression, read by
a CEL engine as Flux reads it (the object's top-level fields as variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml
from test_rules_operator_rbac import operator

PROVIDER = "operator.cluster.x-k8s.io/v1alpha2"


def provider_kustomization(repo: Path, account: str) -> dict[str, Any]:
    path = repo / f"clusters/management/capa-{account}-provider.yaml"
    (doc,) = yaml.safe_load_all(path.read_text(encoding="utf-8"))
    return doc


def provider(status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": PROVIDER,
        "kind": "InfrastructureProvider",
        "metadata": {"name": "aws-live", "namespace": "capa-live", "generation": 1},
        "spec": {"version": "v2.11.1"},
        "status": status,
    }


def current(expression: str, obj: dict[str, Any]) -> bool:
    """What Flux's StatusEvaluator computes for `current` (fluxcd/pkg runtime/cel)."""
    env = celpy.Environment()
    activation = {key: celpy.json_to_cel(value) for key, value in obj.items()}
    try:
        value = env.program(env.compile(expression)).evaluate(activation)
    except celpy.CELEvalError:
        return False  # Flux: an evaluation error is status Unknown, still waiting
    assert isinstance(value, celpy.celtypes.BoolType), value
    return bool(value)


# The operator's first reconcile only adds its finalizer, and the patch then records
# observedGeneration (genericprovider_controller.go): kstatus calls that Current.
FINALIZER_ONLY = {"observedGeneration": 1}
INSTALLING = {
    "observedGeneration": 1,
    "conditions": [
        {"type": "ProviderInstalled", "status": "True"},
        {"type": "Ready", "status": "False", "reason": "DeploymentUnavailable"},
    ],
}
READY = {
    "observedGeneration": 1,
    "conditions": [
        {"type": "ProviderInstalled", "status": "True"},
        {"type": "Ready", "status": "True"},
    ],
}


@pytest.mark.parametrize(
    ("status", "ready"),
    [(FINALIZER_ONLY, False), (INSTALLING, False), (READY, True)],
    ids=["finalizer-only", "deployment-not-available", "ready"],
)
def test_provider_kustomization_waits_for_the_ready_condition(
    example_repo: Path, status: dict[str, Any], ready: bool
) -> None:
    spec = provider_kustomization(operator(example_repo), "live")["spec"]
    assert spec["wait"] is True  # Flux evaluates healthCheckExprs only with wait/healthChecks
    (check,) = spec["healthCheckExprs"]
    assert (check["apiVersion"], check["kind"]) == (PROVIDER, "InfrastructureProvider")
    assert set(check) == {"apiVersion", "kind", "current"}  # no `failed` while rolling out
    assert current(check["current"], provider(status)) is ready


def test_a_provider_without_status_is_not_ready(example_repo: Path) -> None:
    """Before the operator's first status the expression cannot be evaluated: Flux reads the
    error as Unknown and keeps waiting (fluxcd/pkg ssa/manager_wait.go), never as Current."""
    spec = provider_kustomization(operator(example_repo), "live")["spec"]
    obj = provider({})
    del obj["status"]
    assert current(spec["healthCheckExprs"][0]["current"], obj) is False


def test_role_identity_mode_renders_no_provider_kustomization(example_repo: Path) -> None:
    assert not list((example_repo / "clusters/management").glob("*-provider.yaml"))
