"""Kustomizations that only list resources, evaluated in-process.

This is what ``render`` writes (the rendered-manifests pattern) and what ``base/`` is, so the
common case needs no kustomize process: the result is the listed files' documents, in order,
with nested directories expanded. Anything else (patches, generators, transformers, name
prefixes, ...) is ``NeedsKustomize``: callers build it with a real kustomize instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capa_accounts.core import yamlio
from capa_accounts.core.errors import InputError

# Re-exported (`X as X`): render and check import them from here.
from capa_accounts.core.yamlio import OutsideRepositoryError as OutsideRepositoryError
from capa_accounts.core.yamlio import inside as inside

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_PLAIN_KEYS = {"apiVersion", "kind", "resources"}


class NeedsKustomize(InputError):  # noqa: N818 - mostly a signal: `check` builds it for real
    """The kustomization uses features only a real kustomize evaluates.

    ``check`` catches it and runs kustomize; where nothing catches it (``render`` reading
    ``base/``), it is an input error like any other: one line, exit 2.
    """

    def __init__(self, file: str, feature: str) -> None:
        super().__init__(f"uses {feature!r}, which only a real kustomize evaluates; here only "
                         "a plain `resources:` list is supported", file)
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


def find_kustomization(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def relative(repo: Path, path: Path) -> str:
    return path.relative_to(repo).as_posix()


def build(repo: Path, directory: Path, _seen: frozenset[Path] = frozenset()) -> Built:
    """Evaluate a resources-only kustomization rooted at ``directory`` (inside ``repo``).

    Every path is resolved and must stay inside the repository: a resource entry such as
    ``../../../etc`` or a symlink out of the tree is an ``OutsideRepositoryError`` (Flux builds
    only inside its source), never a read.
    """
    top = repo.resolve()
    here = inside(repo, directory)
    kfile = find_kustomization(here)
    if kfile is None:
        raise InputError("no kustomization.yaml", relative(top, here))
    name = relative(top, kfile)
    if kfile.is_symlink():  # ``here`` is resolved: only a symlink can lead out of it
        inside(top, kfile, name)
    docs = yamlio.load_documents(kfile, name, require=True, confine=False)  # confined above
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
    seen = _seen | {here}
    for i, entry in enumerate(resources):
        line, col = yamlio.position(docs[0].node, ("resources", i))
        if not isinstance(entry, str) or not entry:
            raise InputError("a resources entry must be a path or URL", name, line, col)
        if "://" in entry or entry.startswith("git@"):
            raise NeedsKustomize(name, f"remote resource {entry}")
        try:
            resolved = _entry_path(top, here, entry)
        except InputError as err:
            raise type(err)(f"resource {entry!r} {err.message}", name, line, col) from err
        if resolved in seen:
            raise InputError(f"resource {entry!r} forms a cycle", name, line, col)
        if resolved.is_dir():
            sub = build(top, resolved, seen)
            out.extend(sub.documents)
            files.extend(sub.files)
        elif resolved.exists():
            rel = relative(top, resolved)
            out.extend(yamlio.load_documents(resolved, rel, confine=False))  # confined above
            files.append(rel)
        else:
            raise MissingResourceError(f"resource {entry!r} does not exist", name, line, col)
    return Built(out, files)


# Fields of a kustomization that name files or directories (kustomize api/types/kustomization.go).
_PATH_LISTS = ("resources", "components", "bases", "crds", "configurations", "transformers",
               "generators", "validators", "patchesStrategicMerge")
_PATH_OBJECTS = ("patches", "patchesJson6902", "replacements")  # entries with a `path`
_GENERATORS = ("configMapGenerator", "secretGenerator")  # `files` ("key=path"), `envs`, `env`


def _references(data: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    def strings(value: Any) -> list[tuple[int, str]]:
        return [(i, v) for i, v in enumerate(value if isinstance(value, list) else [])
                if isinstance(v, str)]

    for key in _PATH_LISTS:  # an entry with a line break is an inline document, not a path
        yield from (((key, i), v) for i, v in strings(data.get(key)) if "\n" not in v)
    for key in (*_PATH_OBJECTS, *_GENERATORS, "openapi"):
        entries = data.get(key) if key != "openapi" else [data.get(key)]
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict):
                continue
            at: tuple[str | int, ...] = (key,) if key == "openapi" else (key, i)
            for field in ("path", "env"):
                if isinstance(entry.get(field), str):
                    yield (*at, field), entry[field]
            for field in ("files", "envs"):
                yield from (((*at, field, j), v.split("=", 1)[-1])
                            for j, v in strings(entry.get(field)))


def escapes(repo: Path, directory: Path,
            _seen: frozenset[Path] = frozenset()) -> list[tuple[str, int, int, str]]:
    """(file, line, column, entry) of every path that a kustomization, or one it includes,
    names outside the repository: a real kustomize (``--load-restrictor
    LoadRestrictionsNone``, as Flux builds) would read it, but Flux's source holds nothing
    outside. ``check`` asks before it runs kustomize, so the tool never reads there."""
    top = repo.resolve()
    try:
        here = inside(repo, directory)
    except InputError:
        return []
    kfile = find_kustomization(here)
    if kfile is None or here in _seen:
        return []
    name = relative(top, kfile)
    docs = yamlio.load_documents(kfile, name)
    if not docs or not isinstance(docs[0].data, dict):
        return []
    out: list[tuple[str, int, int, str]] = []
    for path, entry in _references(docs[0].data):
        if not entry or "://" in entry or entry.startswith("git@"):
            continue
        try:
            target = inside(top, here / entry, entry)
        except OutsideRepositoryError:
            out.append((name, *yamlio.position(docs[0].node, path), entry))
            continue
        except InputError:  # a symlink loop: kustomize reports it
            continue
        if target.is_dir():
            out.extend(escapes(top, target, _seen | {here}))
    return out


def _entry_path(top: Path, here: Path, entry: str) -> Path:
    """A resource entry resolved inside the repository, as ``inside`` resolves it.

    ``here`` is resolved already: an entry that names a plain file or directory of it (no
    separator, no dot segment, not a symlink) is inside as it stands, which spares resolving
    every component of every path again (render's overlays list only such entries).
    """
    candidate = here / entry
    if any(c in entry for c in "/\\\0") or entry in (".", "..") or candidate.is_symlink():
        return inside(top, candidate, entry)
    return candidate
