"""Kustomizations that only list resources, evaluated in-process.

This is what ``render`` writes (the rendered-manifests pattern) and what ``base/`` is, so the
common case needs no kustomize process: the result is the listed files' documents, in order,
with nested directories expanded. Anything else (patches, generators, transformers, name
prefixes, ...) is ``NeedsKustomize``: callers build it with a real kustomize instead.

The rules are written once, over a small ``Files`` interface that the work tree
(``WorkTree``) and a git REF (``capa_accounts.hooks.git.base.RefFiles``) both implement; each
caller keeps its own error policy (the work tree's problems are findings or errors, REF's are
warnings).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from capa_accounts.core import yamlio
from capa_accounts.core.errors import InputError

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


class MissingResourceError(InputError):
    """A resource entry names a file or directory that does not exist: kustomize (and Flux)
    fail the build. ``check`` reports it as a finding; ``render`` stops on it in ``base/``."""


@dataclass(frozen=True)
class Built:
    """The documents a kustomization produces, each with the file it came from."""

    documents: list[yamlio.Document]
    files: list[str]  # every file read, kustomization files included


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
    ("." is the root): the work tree (``WorkTree``) or a git REF (``hooks.git_base``).

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
            candidate = inside(self.top, candidate, entry)
        return relative(self.top, candidate) or "."

    def documents(self, rel: str) -> list[yamlio.Document]:
        return yamlio.load_documents(self.path(rel), rel, confine=False)  # confined by resolve

    def kustomization(self, directory: str) -> str | None:
        kfile = find_kustomization(self.path(directory))
        if kfile is None:
            return None
        name = relative(self.top, kfile)
        if kfile.is_symlink():  # the directory is resolved: only a symlink can lead out of it
            inside(self.top, kfile, name)
        return name


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


def evaluate(files: Files, directory: str, _seen: frozenset[str] = frozenset()) -> Built:
    """The resources-only kustomization of ``directory`` over any ``Files``: the one set of
    rules for the work tree and for ``check --base REF``. Errors are InputErrors (with file,
    line and column); what a caller makes of them (an error, a finding, a warning) is its own.
    """
    name = files.kustomization(directory)
    if name is None:
        raise InputError("no kustomization.yaml", directory)
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


# What ``check`` must prove of a kustomization before a real kustomize builds it, from the
# fields that name files, directories or sources (kustomize api/types/kustomization.go, and the
# builtin generator and transformer configs of api/types/*.go): every one is inside the
# repository, nothing is fetched (kustomize loads an http(s) file path, api/loader/fileloader.go,
# and clones a resources/components entry that is no local directory but parses as a git
# repository, api/internal/git/repospec.go), and no helm runs.
_ROOTS = ("resources", "components", "bases")  # a directory or file of the repository
_FILE_LISTS = ("crds", "configurations", "patchesStrategicMerge")
_CONFIG_LISTS = ("generators", "transformers", "validators")  # config files or inline configs
_PATH_OBJECTS = ("patches", "patchesJson6902", "replacements")  # entries with a `path`
_GENERATORS = ("configMapGenerator", "secretGenerator")  # `files` ("key=path"), `envs`, `env`
_HELM = ("helmCharts", "helmChartInflationGenerator", "helmGlobals")
_HELM_KINDS = ("HelmChartInflationGenerator",)

HELM = "runs helm, which fetches charts (Flux's kustomize-controller inflates none)"
Problem = tuple[str, int, int, str, str]  # file, line, column, entry, what is wrong


def _strings(value: Any) -> list[tuple[int, str]]:
    return [
        (i, v) for i, v in enumerate(value if isinstance(value, list) else []) if isinstance(v, str)
    ]


def _file_fields(
    data: dict[str, Any],
    at: tuple[str | int, ...],
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """The file paths of one generator, patch or builtin plugin config mapping."""
    for key in ("path", "env"):
        if isinstance(data.get(key), str):
            yield (*at, key), data[key]
    for key in ("files", "envs", "paths"):
        yield from (((*at, key, j), v.split("=", 1)[-1]) for j, v in _strings(data.get(key)))
    for j, entry in enumerate(
        data.get("replacements") or [] if isinstance(data.get("replacements"), list) else []
    ):
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            yield (*at, "replacements", j, "path"), entry["path"]


def escapes(files: Files, directory: str, _seen: frozenset[str] = frozenset()) -> list[Problem]:
    """Every entry of a kustomization, of one it includes or of a builtin plugin config it
    names, that a plain kustomize (``--load-restrictor LoadRestrictionsNone``, as Flux builds)
    would read outside the repository, fetch from the network or hand to helm, or a root that
    does not exist (kustomize would try it as a remote repository). ``check`` asks before it
    runs kustomize and builds nothing that has one, so the tool never reads or fetches there.
    """
    try:
        name = files.kustomization(directory)
    except InputError as err:  # the kustomization file itself is a symlink out
        return [(err.path or directory, 1, 1, directory, err.message)]
    if name is None or directory in _seen:
        return []
    docs = files.documents(name)
    if not docs or not isinstance(docs[0].data, dict):
        return []
    proof = _Escapes(files, directory, name, docs[0].node, _seen | {directory})
    proof.walk(docs[0].data)
    return proof.out


class _Escapes:
    """The proof of one kustomization file: its problems in ``out``, included directories
    proved in turn."""

    def __init__(
        self, files: Files, directory: str, name: str, node: Any, seen: frozenset[str]
    ) -> None:
        self.files = files
        self.directory = directory
        self.name = name
        self.node = node
        self.seen = seen  # the directories on the way here, this one included
        self.out: list[Problem] = []

    def report(self, path: tuple[str | int, ...], entry: str, why: str) -> None:
        self.out.append((self.name, *yamlio.position(self.node, path), entry, why))

    def target(self, path: tuple[str | int, ...], entry: Any) -> str | None:
        """``entry`` resolved inside the repository, or None (reported unless harmless)."""
        if not isinstance(entry, str) or not entry:
            return None
        if "://" in entry or entry.startswith("git@") or entry.startswith("git::"):
            self.report(
                path,
                entry,
                "is remote (check never fetches; Flux fetches sources with "
                "its own source controller)",
            )
            return None
        try:
            return self.files.resolve(self.directory, entry)
        except OutsideRepositoryError:
            self.report(path, entry, "leads outside the repository")
        except InputError:  # a symlink loop or a NUL: kustomize fails on it, reading nothing
            pass
        return None

    def walk(self, data: dict[str, Any]) -> None:
        for key in _HELM:
            if data.get(key):
                self.report((key,), key, HELM)
        for key in _ROOTS:
            for i, entry in _strings(data.get(key)):
                self.root((key, i), entry)
        for key in _FILE_LISTS:  # an entry with a line break is an inline patch, not a path
            for i, entry in _strings(data.get(key)):
                if "\n" not in entry:
                    self.target((key, i), entry)
        for key in (*_PATH_OBJECTS, *_GENERATORS, "openapi"):
            entries = [data.get(key)] if key == "openapi" else data.get(key)
            for i, entry in enumerate(entries if isinstance(entries, list) else []):
                if isinstance(entry, dict):
                    at: tuple[str | int, ...] = (key,) if key == "openapi" else (key, i)
                    for path, value in _file_fields(entry, at):
                        self.target(path, value)
        for key in _CONFIG_LISTS:
            for i, entry in _strings(data.get(key)):
                self.config((key, i), entry)

    def root(self, at: tuple[str | int, ...], entry: str) -> None:
        """A resources/components/bases entry: a file or a directory of the repository."""
        resolved = self.target(at, entry)
        if resolved is None:
            return
        kind = self.files.kind(resolved)
        if kind is None:
            self.report(
                at,
                entry,
                "does not exist in the repository (kustomize would "
                "try to fetch it as a remote repository)",
            )
        elif kind == "dir":
            self.out.extend(escapes(self.files, resolved, self.seen))

    def config(self, at: tuple[str | int, ...], entry: str) -> None:
        """A generators/transformers/validators entry: an inline config, a config file or a
        directory of them, and the files each config names."""
        configs: list[Any] = []
        if "\n" in entry:  # an inline config (kustomize reads it as YAML)
            with contextlib.suppress(InputError):
                configs = [d.data for d in yamlio.documents_from_text(entry, self.name)]
        else:
            resolved = self.target(at, entry)
            kind = self.files.kind(resolved) if resolved else None
            if kind == "dir":
                self.out.extend(escapes(self.files, resolved, self.seen))  # type: ignore[arg-type]
            elif kind == "file":
                with contextlib.suppress(InputError):
                    configs = [d.data for d in self.files.documents(resolved)]  # type: ignore[arg-type]
        for config in configs:
            if not isinstance(config, dict):
                continue
            if config.get("kind") in _HELM_KINDS:
                self.report(at, entry, HELM)
            for _path, value in _file_fields(config, ()):
                self.target(at, value)
