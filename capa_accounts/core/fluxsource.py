"""Where Flux reads the repository: the settings of ``spec.flux`` and the source root.

Flux resolves a Kustomization's ``spec.path`` from the root of its source's artifact, not from
the file that declares it (fluxcd/kustomize-controller docs/spec/v1/kustomizations.md, "Path",
commit 00852088: "the path to the directory in the Source Artifact"; a GitRepository's
artifact is the whole repository). A repository of capa-accounts below the top of a git work
tree (``infra/capa`` in a monorepo) therefore writes ``./infra/capa/overlays/live``, and
check resolves every Flux path from the same root. This module is the one home of that
arithmetic: render, the loader and CAPA-R003 import it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capa_accounts.core import layout

DEFAULT_PATH = layout.FLUX_DIR
DEFAULT_NAMESPACE = "flux-system"
# `flux bootstrap` names the GitRepository of the repository it bootstraps `flux-system`, in
# flux-system (fluxcd/flux2 pkg/manifestgen/sync/options.go MakeDefaultOptions, commit 08b39f7b).
DEFAULT_SOURCE_KIND = "GitRepository"
DEFAULT_SOURCE_NAME = "flux-system"
DEFAULT_INTERVAL = "10m"
# Top-level names of the repository that hold the tool's other files: the Kustomizations'
# directory must be apart from them.
RESERVED_TOPS = (layout.OVERLAYS, layout.BOOTSTRAP, layout.BASE, layout.PROVIDERS)


@dataclass(frozen=True)
class FluxSettings:
    """``spec.flux`` of accounts.yaml; the defaults are what render always wrote."""

    path: str = DEFAULT_PATH  # the Kustomizations' directory, relative to accounts.yaml
    namespace: str = DEFAULT_NAMESPACE  # the Kustomizations' namespace
    source_kind: str = DEFAULT_SOURCE_KIND
    source_name: str = DEFAULT_SOURCE_NAME
    source_namespace: str | None = None  # None: the Kustomization's own namespace
    interval: str = DEFAULT_INTERVAL
    retry_interval: str | None = None
    timeout: str | None = None
    # Where accounts.yaml's directory is inside the source artifact; None: below the top of
    # the git work tree, as a GitRepository holds it.
    source_path: str | None = None

    def source_ref(self) -> dict[str, str]:
        ref = {"kind": self.source_kind, "name": self.source_name}
        if self.source_namespace is not None:
            ref["namespace"] = self.source_namespace
        return ref

    def is_source(self, ref: Any, namespace: str | None) -> bool:
        """Whether a Kustomization in ``namespace`` with ``sourceRef`` ``ref`` reads this
        repository (a sourceRef without namespace is in the Kustomization's own)."""
        if not isinstance(ref, dict):
            return False
        mine = self.source_namespace or self.namespace
        theirs = ref.get("namespace") or namespace or self.namespace
        return (
            ref.get("kind", DEFAULT_SOURCE_KIND) == self.source_kind
            and ref.get("name") == self.source_name
            and theirs == mine
        )


def parse(spec: dict[str, Any]) -> FluxSettings:
    """The settings of a validated ``spec`` (accounts.yaml)."""
    flux = spec.get("flux") or {}
    ref = flux.get("sourceRef") or {}
    return FluxSettings(
        path=flux.get("path", DEFAULT_PATH).rstrip("/"),
        namespace=flux.get("namespace", DEFAULT_NAMESPACE),
        source_kind=ref.get("kind", DEFAULT_SOURCE_KIND),
        source_name=ref.get("name", DEFAULT_SOURCE_NAME),
        source_namespace=ref.get("namespace"),
        interval=flux.get("interval", DEFAULT_INTERVAL),
        retry_interval=flux.get("retryInterval"),
        timeout=flux.get("timeout"),
        source_path=flux.get("sourcePath"),
    )


def source_prefix(repo: Path, git_top: Path | None, settings: FluxSettings | None) -> str:
    """accounts.yaml's directory relative to the source root, "" at the root itself.

    ``git_top`` is the top of the git work tree holding ``repo`` (``reporoot.git_top``): a
    GitRepository's artifact is that whole tree (or it is ``spec.flux.sourcePath``).
    """
    if settings is not None and settings.source_path is not None:
        return settings.source_path.strip("/")
    if git_top is None:
        return ""
    try:
        rel = repo.resolve().relative_to(git_top.resolve()).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel


def flux_path(prefix: str, rel: str) -> str:
    """The ``spec.path`` Flux needs for the repository directory ``rel``."""
    return "./" + posixpath.join(prefix, rel) if prefix else f"./{rel}"


def normalized(path: str) -> str:
    """A ``spec.path`` relative to the source root: Flux joins it below the root (securejoin),
    so a leading "/" is the root and ".." cannot leave it."""
    return posixpath.normpath("/" + path.strip()).lstrip("/") or "."


def repo_relative(prefix: str, path: str) -> str | None:
    """A normalized source-root path as a path of the repository, None outside it."""
    if not prefix:
        return path
    if path == prefix:
        return "."
    if path.startswith(prefix + "/"):
        return path[len(prefix) + 1 :]
    return None
