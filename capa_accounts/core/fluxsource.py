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
from pathlib import Path
from typing import Any

from capa_accounts.core import layout
from capa_accounts.core.record import Record

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


class FluxSettings(Record):
    """``spec.flux`` of accounts.yaml; the defaults are what render always wrote."""

    FIELDS = (
        "path",
        "namespace",
        "source_kind",
        "source_name",
        "source_namespace",
        "interval",
        "retry_interval",
        "timeout",
        "source_path",
    )
    # the Kustomizations' directory, relative to accounts.yaml
    path: str
    # the Kustomizations' namespace
    namespace: str
    source_kind: str
    source_name: str
    # None: the Kustomization's own namespace
    source_namespace: str | None
    interval: str
    retry_interval: str | None
    timeout: str | None
    # Where accounts.yaml's directory is inside the source artifact; None: below the top of
    # the git work tree, as a GitRepository holds it.
    source_path: str | None

    def __init__(
        self,
        path: str = DEFAULT_PATH,
        namespace: str = DEFAULT_NAMESPACE,
        source_kind: str = DEFAULT_SOURCE_KIND,
        source_name: str = DEFAULT_SOURCE_NAME,
        source_namespace: str | None = None,
        interval: str = DEFAULT_INTERVAL,
        retry_interval: str | None = None,
        timeout: str | None = None,
        source_path: str | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "path", path)
        set_(self, "namespace", namespace)
        set_(self, "source_kind", source_kind)
        set_(self, "source_name", source_name)
        set_(self, "source_namespace", source_namespace)
        set_(self, "interval", interval)
        set_(self, "retry_interval", retry_interval)
        set_(self, "timeout", timeout)
        set_(self, "source_path", source_path)

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
