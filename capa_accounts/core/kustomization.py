"""Kustomizations that only list resources, evaluated in-process.

This is what ``render`` writes (the rendered-manifests pattern) and what ``base/`` is, so the
common case needs no kustomize process: the result is the listed files' documents, in order,
with nested directories expanded. Anything else (patches, generators, transformers, name
prefixes, ...) is ``NeedsKustomize``: callers build it with a real kustomize instead.

The rules are written once, over a small ``Files`` interface that the work tree
(``WorkTree``) and a git REF (``capa_accounts.hooks.git.base.RefSource``) both implement; each
caller keeps its own error policy (the work tree's problems are findings or errors, REF's are
warnings).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from capa_accounts.core import yamlio
from capa_accounts.core.errors import InputError
from capa_accounts.core.record import Record

# Re-exported (`X as X`): render and check import them from here.
from capa_accounts.core.yamlio import OutsideRepositoryError as OutsideRepositoryError
from capa_accounts.core.yamlio import inside as inside

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# The keys evaluated in-process: anything else needs a real kustomize.
PLAIN_KEYS = {"apiVersion", "kind", "resources"}


class NeedsKustomize(InputError):  # noqa: N818 - mostly a signal: `check` builds it for real
    """The kustomization uses features only a real kustomize evaluates.

    ``check`` catches it and runs kustomize; where nothing catches it (``render`` reading
    ``base/``), it is an input error like any other: one line, exit 2.
    """

    def __init__(self, file: str, feature: str) -> None:
        super().__init__(
            f"uses {feature!r}, which only a real kustomize evaluates; here only "
            "a plain `resources:` list is supported",
            file,
        )
        self.file = file
        self.feature = feature


class TooDeepError(InputError):
    """Kustomizations that include each other past ``MAX_DEPTH``: one chain, one error."""


class MissingResourceError(InputError):
    """A resource entry names a file or directory that does not exist: kustomize (and Flux)
    fail the build. ``check`` reports it as a finding; ``render`` stops on it in ``base/``."""


class Built(Record):
    """The documents a kustomization produces, each with the file it came from."""

    FIELDS = ("documents", "files")
    documents: list[yamlio.Document]
    # every file read, kustomization files included
    files: list[str]

    def __init__(
        self,
        documents: list[yamlio.Document],
        files: list[str],
    ) -> None:
        set_ = object.__setattr__
        set_(self, "documents", documents)
        set_(self, "files", files)


def resource_problem(data: Any) -> tuple[tuple[str, ...], str] | None:
    """Where and why ``data`` is not a resource kustomize and the API server accept, or None.

    kustomize reads every document into a resource with a string ``apiVersion`` and ``kind``
    and an ObjectMeta (kyaml/yaml/types.go ``ResourceMeta``); the API server's ObjectMeta
    holds string ``name`` and ``namespace`` and string-to-string ``labels`` and
    ``annotations``. ``render`` and ``fn`` refuse anything else before transforming it.
    """
    if not isinstance(data, dict):
        return (), "a resource must be a mapping (a Kubernetes object)"
    for key in ("apiVersion", "kind"):
        if not isinstance(data.get(key), str) or not data[key]:
            return (key,), f"{key} must be a non-empty string"
    meta = data.get("metadata", {})
    if not isinstance(meta, dict):
        return ("metadata",), "metadata must be a mapping"
    for key in ("name", "namespace"):
        if key in meta and not isinstance(meta[key], str):
            return ("metadata", key), f"metadata.{key} must be a string"
    for key in ("labels", "annotations"):
        values = meta.get(key) or {}
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            return ("metadata", key), f"metadata.{key} must map keys to strings"
    return None


class Files(Protocol):
    """A repository's files as the evaluator reads them, by repository-relative POSIX path
    ("." is the root): the work tree (``WorkTree``) or a git REF (``hooks/git/base.py``).

    Confinement lives in ``resolve``: it turns an entry of a kustomization into a path of the
    repository or raises ``OutsideRepositoryError``, so a fix to what counts as inside is
    written once per kind of tree, and every rule of the evaluator uses it.
    """

    def kind(self, rel: str) -> str | None:
        """ "dir", "file" or None (no such entry)."""

    def resolve(self, directory: str, entry: str) -> str:
        """``entry`` named in ``directory``, as a path inside the repository."""

    def documents(self, rel: str) -> list[yamlio.Document]:
        """The YAML documents of a file (InputError when it does not read)."""

    def kustomization(self, directory: str) -> str | None:
        """The kustomization file of ``directory``, confined, or None."""

    def size(self, rel: str) -> int:
        """The size in bytes of a file."""


class WorkTree:
    """The working tree of the repository at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.top = root.resolve()

    def path(self, rel: str) -> Path:
        return self.top if rel == "." else self.top / rel

    def kind(self, rel: str) -> str | None:
        path = self.path(rel)
        return "dir" if path.is_dir() else "file" if path.exists() else None

    def resolve(self, directory: str, entry: str) -> str:
        here = self.path(directory)
        candidate = here / entry
        # An entry that names a plain file or directory of a resolved directory (no separator,
        # no dot segment, not a symlink) is inside as it stands, which spares resolving every
        # component of every path again (render's overlays list only such entries).
        if any(c in entry for c in "/\\\0") or entry in (".", "..") or candidate.is_symlink():
            # kustomize joins and cleans the path lexically (Go's filepath.Join in
            # api/loader/fileloader.go) before the OS follows the symlinks of what is left:
            # "link/../.." climbs from the kustomization's directory, wherever link leads.
            candidate = inside(self.top, Path(os.path.normpath(candidate)), entry)
        rel = relative(self.top, candidate) or "."
        if in_git_dir(rel):
            raise OutsideRepositoryError("leads outside the repository (into .git)", entry)
        return rel

    def documents(self, rel: str) -> list[yamlio.Document]:
        return yamlio.load_documents(self.path(rel), rel, confine=False)  # confined by resolve

    def size(self, rel: str) -> int:
        return self.path(rel).stat().st_size

    def kustomization(self, directory: str) -> str | None:
        kfile = find_kustomization(self.path(directory))
        if kfile is None:
            return None
        name = relative(self.top, kfile)
        if kfile.is_symlink():  # the directory is resolved: only a symlink can lead out of it
            inside(self.top, kfile, name)
        return name


def in_git_dir(rel: str) -> bool:
    """Whether a repository path is in a ``.git`` directory: git's own files (its config holds
    the CI job's token: actions/checkout persists GITHUB_TOKEN there, GitLab runners put
    CI_JOB_TOKEN in remote.origin.url) are never the repository's files. Any letter case: a
    case-insensitive filesystem opens .GIT/config too."""
    return any(part.lower() == ".git" for part in rel.split("/"))


def find_kustomization(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def relative(repo: Path, path: Path) -> str:
    return path.relative_to(repo).as_posix()


def build(repo: Path, directory: Path) -> Built:
    """Evaluate the resources-only kustomization of ``directory`` in the work tree ``repo``.

    Every path is resolved and must stay inside the repository: a resource entry such as
    ``../../../etc`` or a symlink out of the tree is an ``OutsideRepositoryError`` (Flux builds
    only inside its source), never a read.
    """
    tree = WorkTree(repo)
    return evaluate(tree, relative(tree.top, inside(repo, directory)))


MAX_DEPTH = 100  # kustomizations including kustomizations: deeper is an input error


def evaluate(files: Files, directory: str, _seen: frozenset[str] = frozenset()) -> Built:
    """The resources-only kustomization of ``directory`` over any ``Files``: the one set of
    rules for the work tree and for ``check --base REF``. Errors are InputErrors (with file,
    line and column); what a caller makes of them (an error, a finding, a warning) is its own.
    """
    name = files.kustomization(directory)
    if name is None:
        raise InputError("no kustomization.yaml", directory)
    if len(_seen) > MAX_DEPTH:
        raise TooDeepError(f"kustomizations include each other over {MAX_DEPTH} deep", name, 1)
    docs = files.documents(name)
    if not docs:
        raise InputError("holds no YAML document", name, 1)
    data = docs[0].data
    if not isinstance(data, dict):
        raise InputError("a kustomization must be a mapping", name, 1)
    for key in data:
        if key not in PLAIN_KEYS:
            raise NeedsKustomize(name, str(key))
    resources = data.get("resources") or []
    if not isinstance(resources, list):
        line, col = yamlio.position(docs[0].node, ("resources",))
        raise InputError("resources must be a list", name, line, col)
    out: list[yamlio.Document] = []
    read = [name]
    seen = _seen | {directory}
    for i, entry in enumerate(resources):
        line, col = yamlio.position(docs[0].node, ("resources", i))
        if not isinstance(entry, str) or not entry:
            raise InputError("a resources entry must be a path or URL", name, line, col)
        if remote(entry):
            raise NeedsKustomize(name, f"remote resource {entry}")
        try:
            target = files.resolve(directory, entry)
        except InputError as err:
            raise type(err)(f"resource {entry!r} {err.message}", name, line, col) from err
        if target in seen:
            raise InputError(f"resource {entry!r} forms a cycle", name, line, col)
        kind = files.kind(target)
        if kind == "dir":
            sub = evaluate(files, target, seen)
            out.extend(sub.documents)
            read.extend(sub.files)
        elif kind == "file":
            out.extend(files.documents(target))
            read.append(target)
        else:
            raise MissingResourceError(f"resource {entry!r} does not exist", name, line, col)
    return Built(out, read)


def remote(entry: str) -> bool:
    """Whether a resources/components entry names something kustomize would fetch."""
    return "://" in entry or entry.startswith("git@")
