"""``init`` where a team already is: beside a Flux bootstrap, in a folder of a monorepo.

What init learns from the work tree before writing: where the folder is below the top of git
(Flux paths start there, core/fluxsource.py), the cluster `flux bootstrap` wrote (its
``<path>/flux-system/gotk-sync.yaml``: the Kustomizations go beside it, reading its
GitRepository), and where pre-commit reads its configuration: the top of the work tree only
(pre-commit/pre-commit ``pre_commit/main.py`` ``_adjust_args_and_chdir`` changes to the git
root before it reads ``.pre-commit-config.yaml``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from capa_accounts.core import fluxsource, yamlio
from capa_accounts.core.errors import CapaAccountsError
from capa_accounts.core.resources import FLUX_KUSTOMIZE_API

GOTK_SYNC = "gotk-sync.yaml"  # fluxcd/flux2 pkg/manifestgen/sync/options.go ManifestFile
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
_SEARCH_DEPTH = 6  # clusters/<env>/<cluster>/flux-system/ and deeper layouts
_SKIP = {".git", "node_modules", ".venv", "venv", ".terraform"}


@dataclass(frozen=True)
class Bootstrap:
    """A cluster `flux bootstrap` set up in this work tree."""

    path: str  # its --path, relative to the source root (the top of the work tree)
    source_name: str
    source_namespace: str


def bootstraps(top: Path) -> list[Bootstrap]:
    """Every ``flux-system/gotk-sync.yaml`` below ``top`` that reads as flux bootstrap's."""
    found: list[Bootstrap] = []
    for dirpath, dirnames, filenames in os.walk(top):
        depth = len(Path(dirpath).relative_to(top).parts)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in _SKIP and depth < _SEARCH_DEPTH and not (Path(dirpath) / d).is_symlink()
        )
        if Path(dirpath).name == "flux-system" and GOTK_SYNC in filenames:
            rel = (Path(dirpath) / GOTK_SYNC).relative_to(top).as_posix()
            bootstrap = _read_sync(Path(dirpath) / GOTK_SYNC, rel)
            if bootstrap is not None:
                found.append(bootstrap)
    return found


def _read_sync(path: Path, rel: str) -> Bootstrap | None:
    try:
        docs = [d.data for d in yamlio.load_documents(path, rel)]
    except CapaAccountsError:
        return None  # not bootstrap's file after all: init writes its defaults
    for data in docs:
        if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
            continue
        spec = data["spec"]
        ref = spec.get("sourceRef")
        if (
            data.get("kind") == "Kustomization"
            and isinstance(ref, dict)
            and ref.get("kind") == "GitRepository"
            and isinstance(spec.get("path"), str)
            and isinstance(ref.get("name"), str)
        ):
            namespace = (data.get("metadata") or {}).get("namespace") or "flux-system"
            return Bootstrap(
                fluxsource.normalized(spec["path"]),
                ref["name"],
                ref.get("namespace") or namespace,
            )
    return None


def flux_block(bootstrap: Bootstrap, rel: str) -> str:
    """The ``spec.flux`` lines of accounts.yaml that put the Kustomizations beside it."""
    lines = [
        f"  # init found `flux bootstrap --path={bootstrap.path}`",
        "  flux:",
        f"    path: {rel}",
    ]
    if (bootstrap.source_name, bootstrap.source_namespace) != (
        fluxsource.DEFAULT_SOURCE_NAME,
        fluxsource.DEFAULT_NAMESPACE,
    ):
        lines += [
            "    sourceRef:",
            "      kind: GitRepository",
            f"      name: {bootstrap.source_name}",
            f"      namespace: {bootstrap.source_namespace}",
        ]
    return "\n".join(lines) + "\n"


def kustomization_hint(bootstrap: Bootstrap, prefix: str, flux_dir: str) -> str:
    """What to add beside a bootstrap outside the folder, so that Flux applies the folder's
    Kustomizations (the bootstrap Kustomization applies only its own --path)."""
    path = fluxsource.flux_path(prefix, flux_dir)
    return (
        f"Flux applies {path} only through a Kustomization: add this file as "
        f"{bootstrap.path}/capa-accounts.yaml\n"
        "---\n"
        f"apiVersion: {FLUX_KUSTOMIZE_API}\n"
        "kind: Kustomization\n"
        "metadata:\n"
        "  name: capa-accounts\n"
        f"  namespace: {bootstrap.source_namespace}\n"
        "spec:\n"
        "  interval: 10m\n"
        f"  path: {path}\n"
        "  prune: true\n"
        "  sourceRef:\n"
        "    kind: GitRepository\n"
        f"    name: {bootstrap.source_name}\n"
    )


_HOOK_LINE = re.compile(r"^( +)- id: capa-accounts-(render|check|build)\n", re.MULTILINE)


def pre_commit_for_folder(config: str, prefix: str) -> str:
    """The pre-commit config for a repository in folder ``prefix`` of the work tree: the hooks
    that read the repository get ``--repo`` (before the ``args`` a hook has already), the build
    hook its folder's files (in place of its own ``files``)."""
    if not prefix:
        return config
    escaped = re.escape(prefix + "/")
    out: list[str] = []
    blocks = re.split(r"(?m)^(?= +- id: )", config)
    for block in blocks:
        match = _HOOK_LINE.match(block)
        if match is None:
            out.append(block)
            continue
        indent = match.group(1) + "  "
        files = f"{indent}files: ^{escaped}(overlays/|base/|accounts\\.yaml$)\n"
        if re.search(rf"(?m)^{indent}args: \[", block):
            block = re.sub(
                rf"(?m)^({indent}args: \[)",
                lambda m: f"{m.group(1)}--repo={prefix}, ",
                block,
                count=1,
            )
        else:
            block = match.group(0) + f"{indent}args: [--repo={prefix}]\n" + block[match.end() :]
        if match.group(2) == "build":
            found = re.search(rf"(?m)^{indent}files: .*\n", block)
            if found is not None:
                block = block[: found.start()] + files + block[found.end() :]
            else:
                head = block.index("\n") + 1
                block = block[:head] + files + block[head:]
        out.append(block)
    return "".join(out)


def repos_entry(config: str) -> str:
    """The ``repos:`` item of a config, to add to a user's own config by hand."""
    lines = config.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("repos:"))
    return "".join(lines[start + 1 :])
