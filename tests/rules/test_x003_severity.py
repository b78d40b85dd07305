"""CAPA-X003's severity: a namespace kustomize stamps on a cluster-scoped identity is a warning
(the API server drops it, Flux applies it all the same); an error only where the namespace
changes meaning (the identity does not admit it, or a static identity's Secret)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edit, line_of, of_rule, run_check

from capa_accounts.cli import main
from capa_accounts.hooks.check.repository import kustomize_command

KUSTOMIZATION = "overlays/staging/kustomization.yaml"
STAGING = "overlays/staging/identity.yaml"
DEFAULT = "overlays/management/controller-identity.yaml"
needs_kustomize = pytest.mark.skipif(
    kustomize_command() is None, reason="needs kubectl or kustomize on PATH"
)


def x003(repo: Path) -> list[tuple[str, int, str]]:
    return [(f.file, f.line, f.severity) for f in of_rule(run_check(repo), "CAPA-X003")]


@needs_kustomize
def test_kustomize_stamped_namespace_is_a_warning(example_repo: Path) -> None:
    edit(example_repo / KUSTOMIZATION, "resources:\n", "namespace: staging\nresources:\n")
    line = line_of(example_repo / KUSTOMIZATION, "namespace: staging")
    assert x003(example_repo) == [(KUSTOMIZATION, line, "warning")]
    result = CliRunner().invoke(main, ["check", "--repo", str(example_repo), "--format", "json"])
    report = json.loads(result.output)
    assert [f["severity"] for f in report["findings"] if f["rule"] == "CAPA-X003"] == ["warning"]


@needs_kustomize
def test_kustomize_stamping_a_namespace_the_identity_refuses_is_an_error(
    example_repo: Path,
) -> None:
    edit(example_repo / KUSTOMIZATION, "resources:\n", "namespace: live\nresources:\n")
    line = line_of(example_repo / KUSTOMIZATION, "namespace: live")
    found = of_rule(run_check(example_repo), "CAPA-X003")
    assert [(f.file, f.line, f.severity) for f in found] == [(KUSTOMIZATION, line, "error")]
    assert "does not even admit 'live'" in found[0].message


@pytest.mark.parametrize(
    ("file", "old", "new", "needle", "severity"),
    [
        (
            STAGING,
            "  name: staging-identity\n",
            "  name: staging-identity\n  namespace: staging\n",
            "namespace: staging",
            "warning",
        ),
        (
            STAGING,
            "  name: staging-identity\n",
            "  name: staging-identity\n  namespace: live\n",
            "namespace: live",
            "error",
        ),
        (
            DEFAULT,
            "  name: default\n",
            "  name: default\n  namespace: capa-system\n",
            "namespace: capa-system",
            "error",
        ),
        (
            DEFAULT,
            "  name: default\n",
            "  name: default\n  namespace: live\n",
            "namespace: live",
            "warning",
        ),
    ],
    ids=["admitted", "not-admitted", "default-capa-system", "default-admitted"],
)
def test_hand_written_namespace(
    example_repo: Path, file: str, old: str, new: str, needle: str, severity: str
) -> None:
    edit(example_repo / file, old, new)
    assert x003(example_repo) == [(file, line_of(example_repo / file, needle), severity)]


def test_static_identity_namespace_is_an_error_even_when_admitted(example_repo: Path) -> None:
    static = example_repo / "overlays/staging/static.yaml"
    static.write_text(
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\n"
        "kind: AWSClusterStaticIdentity\nmetadata:\n  name: keys\n"
        "  namespace: staging\nspec:\n  secretRef: aws-keys\n"
        "  allowedNamespaces:\n    list:\n    - staging\n",
        encoding="utf-8",
    )
    edit(example_repo / KUSTOMIZATION, "- identity.yaml\n", "- identity.yaml\n- static.yaml\n")
    found = of_rule(run_check(example_repo), "CAPA-X003")
    assert [(f.file, f.line, f.severity) for f in found] == [
        ("overlays/staging/static.yaml", line_of(static, "namespace: staging"), "error")
    ]
    assert "Secret" in found[0].message
