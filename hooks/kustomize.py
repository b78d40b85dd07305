"""The one kustomize invocation of ``check``, ``check --base`` and the build hook.

Flux's kustomize-controller builds with builtins only and ``LoadRestrictionsNone``
(fluxcd/pkg kustomize/kustomize_generator.go), so this runs the plain kustomize of kubectl
(or a standalone kustomize) with the same load restrictor and no plugin flags.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

TIMEOUT = 120  # seconds for one build


def command() -> list[str] | None:
    """A plugin-free kustomize, as Flux builds (LoadRestrictionsNone, no plugins)."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize", "--load-restrictor=LoadRestrictionsNone"]
    if shutil.which("kustomize"):
        return ["kustomize", "build", "--load-restrictor=LoadRestrictionsNone"]
    return None


def run(kustomize: list[str], directory: Path) -> subprocess.CompletedProcess[str]:
    """Build ``directory``; OSError or subprocess.TimeoutExpired when kustomize cannot run."""
    return subprocess.run([*kustomize, str(directory)], capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
