"""Kustomizations that only list resources, evaluated in-process.

This is what ``render`` writes (the rendered-manifests pattern) and what ``base/`` is, so the
common case needs no kustomize process: the result is the listed files' documents, in order,
with nested directories expanded. Anything else (patches, generators, transformers, name
prefixes, ...) is ``NeedsKustomize``: callers build it with a real kustomize instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kustomize_plugin import yamlio
from kustomize_plugin.errors import InputError

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_PLAIN_KEYS = {"apiVersion", "kind", "resources"}


class NeedsKustomize(Exception):  # noqa: N818 - a signal, not a failure shown to users
    """The kustomization uses features only a real kustomize evaluates."""

    def __init__(self, file: str, feature: str) -> None:
        super().__init__(f"{file}: uses {feature!r}")
        self.file = file
        self.feature = feature


class OutsideRepositoryError(InputError):
    """A resource entry or symlink leads outside the repository."""


@dataclass(frozen=True)
class Built:
    """The documents a kustomization produces, each with the file it came from."""

    documents: list[yamlio.Document]
    files: list[str]  # every file read, kustomization files included


def find_kustomization(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def relative(repo: Path, path: Path) -> str:
    return path.relative_to(repo).as_posix()


def inside(repo: Path, path: Path) -> Path:
    """``path`` resolved, or OutsideRepositoryError when it (or a symlink on it) leaves ``repo``."""
    resolved = path.resolve()
    root = repo.resolve()
    if resolved != root and root not in resolved.parents:
        shown = path.relative_to(repo).as_posix() if path.is_relative_to(repo) else str(path.name)
        raise OutsideRepositoryError(f"leads outside the repository (to {resolved.name!r})", shown)
    return resolved


def build(repo: Path, directory: Path, _seen: frozenset[Path] = frozenset()) -> Built:
    """Evaluate a resources-only kustomization rooted at ``directory`` (inside ``repo``)."""
    kfile = find_kustomization(directory)
    if kfile is None:
        raise InputError("no kustomization.yaml", relative(repo, directory))
    name = relative(repo, kfile)
    inside(repo, kfile)
    docs = yamlio.load_documents(kfile, name, require=True)
    data = docs[0].data
    if not isinstance(data, dict):
        raise InputError("a kustomization must be a mapping", name, 1)
    for key in data:
        if key not in _PLAIN_KEYS:
            raise NeedsKustomize(name, str(key))
    resources = data.get("resources") or []
    if not isinstance(resources, list):
        line, col = yamlio.position(docs[0].node, ("resources",))
        raise InputError("resources must be a list", name, line, col)
    out: list[yamlio.Document] = []
    files = [name]
    for i, entry in enumerate(resources):
        line, col = yamlio.position(docs[0].node, ("resources", i))
        if not isinstance(entry, str) or "://" in entry or entry.startswith("git@"):
            raise NeedsKustomize(name, f"remote resource {entry}")
        target = directory / entry
        try:
            resolved = inside(repo, target)
        except OutsideRepositoryError as err:
            raise OutsideRepositoryError(f"resource {entry!r} {err.message}", name, line,
                                         col) from err
        if resolved in _seen:
            raise InputError(f"resource {entry!r} forms a cycle", name, line, col)
        if resolved.is_dir():
            sub = build(repo, resolved, _seen | {directory.resolve()})
            out.extend(sub.documents)
            files.extend(sub.files)
        elif resolved.is_file():
            rel = relative(repo.resolve(), resolved)
            out.extend(yamlio.load_documents(resolved, rel))
            files.append(rel)
        else:
            raise InputError(f"resource {entry!r} does not exist", name, line, col)
    return Built(out, files)
