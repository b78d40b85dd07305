"""What ``check`` reads: the objects Flux would apply, and the files around them.

Every YAML file of the repository is found (``spec.check.exclude`` and tool directories
skipped). A directory with a kustomization is judged as kustomize builds it: resources-only
kustomizations (what render writes) in-process, others with a real kustomize when one is on
PATH, else file by file with a warning. A file that no kustomization lists is not applied by
Flux; only the credential scan reads it. ``base/`` holds templates when accounts.yaml exists.
A file whose text is exactly what render writes is not parsed again: its documents are
render's own (see "files render wrote" below).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from capa_accounts.core import fluxsource, reporoot, yamlio
from capa_accounts.core.errors import CapaAccountsError, InputError
from capa_accounts.core.kustomization import (
    KUSTOMIZATION_FILES,
    Built,
    MissingResourceError,
    NeedsKustomize,
    OutsideRepositoryError,
    WorkTree,
    build,
    escapes,
)
from capa_accounts.core.model import ACCOUNTS_FILE, AccountSet, load_account_set
from capa_accounts.hooks.check import fluxapply, kustomize, refusals
from capa_accounts.hooks.check.kustomize import command as kustomize_command

# Tool directories, skipped at any depth: none of these names is a DNS-1123 label, so none is
# an account's overlay. Packaging outputs and a virtualenv are skipped at the top only: "build"
# or "venv" may well name an account, whose overlays/build must be judged.
SKIP_DIRS = {
    ".git",
    ".venv",
    "node_modules",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".tools",
}
TOP_LEVEL_SKIP_DIRS = {"build", "dist", "venv"}
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Source:
    """How a document reaches the cluster: from an overlay build, or as a loose file."""

    overlay: str | None  # repository-relative directory of the kustomization, if any
    built: bool = True  # False: the file was read directly (no kustomization lists it)
    flux: str | None = None  # the Flux Kustomization whose substitution made it (fluxapply)


@dataclass
class Loaded:
    """Everything ``check`` judges, read once."""

    root: Path
    account_set: AccountSet | None
    documents: list[tuple[yamlio.Document, Source]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file, exclusions applied
    yaml_files: list[str] = field(default_factory=list)
    kustomization_dirs: list[str] = field(default_factory=list)
    # (file, line, column, rule, message) of problems met while loading
    problems: list[tuple[str, int, int, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The text of every file read, so that no rule reads a file again (CAPA-R001, S001).
    texts: dict[str, str] = field(default_factory=dict)
    # What render would write (render.Plan), or why it cannot (CAPA-R001 reports both).
    plan: Any = None
    plan_error: CapaAccountsError | None = None
    # Files (or kustomization directories) that could not be read: each one is named, and
    # the rest of the repository is still judged.
    input_errors: list[InputError] = field(default_factory=list)
    unread: set[str] = field(default_factory=set)  # their files: nothing is said about them
    # Where the repository is in Flux's source (core/fluxsource.py): "" at its root, else the
    # folder of a monorepo; Flux paths are resolved from ``source_root``.
    source_prefix: str = ""
    source_root: Path = field(default_factory=Path)

    def keep_texts(self, docs: list[yamlio.Document]) -> None:
        for doc in docs:
            text = getattr(doc, "text", "")  # the input layer keeps it (yamlio.Document.text)
            if text:
                self.texts.setdefault(doc.file, text)


def excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    return any(
        fnmatch.fnmatch(rel, p)
        or fnmatch.fnmatch(rel, p.rstrip("/*") + "/*")
        or rel.startswith(p.rstrip("*").rstrip("/") + "/")
        for p in patterns
    )


def skipped_dir(rel: str) -> bool:
    """Whether the directory at repository-relative ``rel`` is a tool's, never judged."""
    parts = rel.split("/")
    return (
        parts[-1] in SKIP_DIRS
        or parts[-1].endswith(".egg-info")
        or (len(parts) == 1 and parts[0] in TOP_LEVEL_SKIP_DIRS)
    )


def walk_files(root: Path, exclude: tuple[str, ...] = ()) -> list[str]:
    """Repository-relative paths of every file, tool directories and excluded globs skipped."""
    out: list[str] = []

    def unreadable(err: OSError) -> None:
        # A directory the walk cannot list would hide what it holds: stop, naming it.
        where = Path(err.filename or root)
        rel = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
        raise InputError(
            f"cannot read this directory ({err.strerror or err}): check would miss what it holds",
            rel,
        )

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        base = Path(dirpath)
        rel_dir = base.relative_to(root).as_posix()
        keep = []
        for d in sorted(dirnames):
            rel = d if rel_dir == "." else f"{rel_dir}/{d}"
            if skipped_dir(rel) or excluded(rel, exclude):
                continue
            if (base / d).is_symlink():
                continue  # never followed: a symlinked directory may leave the repository
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if not excluded(rel, exclude):
                out.append(rel)
    return out


Planner = Callable[[AccountSet], Any]


def load(root: Path, planner: Planner | None = None) -> Loaded:
    """Read the repository; ``planner`` (render's plan) spares parsing the files it wrote."""
    if not root.is_dir():
        raise InputError("no such repository directory", str(root))
    # Conflicts between accounts (CAPA-X001) are findings of check, not input errors.
    account_set = (
        load_account_set(root, conflicts=False) if (root / ACCOUNTS_FILE).is_file() else None
    )
    exclude = account_set.check_exclude if account_set else ()
    loaded = Loaded(root, account_set)
    top = reporoot.git_top(root.resolve())
    loaded.source_prefix = fluxsource.source_prefix(
        root, top, account_set.flux if account_set else None
    )
    loaded.source_root = root.resolve()
    for _part in loaded.source_prefix.split("/") if loaded.source_prefix else ():
        loaded.source_root = loaded.source_root.parent
    if planner is not None and account_set is not None:
        try:
            loaded.plan = planner(account_set)
        except CapaAccountsError as err:
            loaded.plan_error = err
    files = loaded.files = walk_files(root, exclude)
    loaded.yaml_files = [f for f in files if f.endswith(YAML_SUFFIXES)]
    kfiles = [f for f in files if posixpath.basename(f) in KUSTOMIZATION_FILES]
    kdirs = sorted({posixpath.dirname(f) or "." for f in kfiles})
    refusals.several_kustomizations(loaded.problems, kfiles)
    loaded.kustomization_dirs = kdirs
    templates = {"base"} if account_set else set()
    listed: set[str] = set()
    referenced: set[str] = set()
    for kdir in kdirs:
        if kdir in templates:
            listed.update(_listed_files(root, kdir))
            continue
        try:
            _load_kustomization(loaded, kdir, listed, referenced)
        except InputError as err:
            loaded.input_errors.append(err)
            skipped = {f for f in loaded.yaml_files if posixpath.dirname(f) == kdir}
            listed.update(skipped)
            loaded.unread.update(skipped | {err.path or kdir})
    # Loose files: no kustomization directory at or above them lists them.
    under = _KustomizationDirs(kdirs)
    charts = fluxapply.charts(files)
    unreadable: list[InputError] = []
    for rel in loaded.yaml_files:
        if rel in listed or rel == ACCOUNTS_FILE or under.holds(rel):
            continue
        if account_set is None and fluxapply.chart_template(rel, charts):
            continue  # Helm renders it with values: not a manifest (fluxapply.charts)
        path = root / rel
        symlink = path.is_symlink()
        if symlink:
            try:
                path.resolve().relative_to(root.resolve())
            except ValueError:
                loaded.problems.append(
                    (rel, 1, 1, "CAPA-R008", "symlink leads outside the repository: not read")
                )
                continue
        # walk_files never enters a symlinked directory: a file it lists that is not itself a
        # symlink is inside the repository without resolving every component of its path.
        docs = None
        try:
            docs = None if symlink else _rendered_documents(loaded, rel)
            if docs is None:
                docs = yamlio.load_documents(path, rel, confine=symlink)
                loaded.keep_texts(docs)
        except InputError as err:
            if account_set is None and not fluxapply.chart_template(rel, charts):
                unreadable.append(err)  # judged once the Flux paths are known
            else:
                loaded.input_errors.append(err)
                loaded.unread.update({rel, err.path or rel})
            continue
        for doc in docs:
            loaded.documents.append((doc, Source(None, built=False)))
    _flux_paths_skipped(loaded, listed, referenced)
    # Directories whose kustomization another one includes are judged as part of that one.
    loaded.documents = [
        (d, s) for d, s in loaded.documents if s.overlay is None or s.overlay not in referenced
    ]
    fluxapply.follow(loaded, unreadable)
    return loaded


_FLUX_GROUP = "kustomize.toolkit.fluxcd.io/"


def _flux_paths_skipped(loaded: Loaded, listed: set[str], referenced: set[str]) -> None:
    """A Flux Kustomization applies its ``spec.path`` wherever it is, a tool directory such as
    build/ included: every path Flux applies is judged, even where the walk skips."""
    root = loaded.root
    for doc, _source in list(loaded.documents):
        data = doc.data
        if not (
            isinstance(data, dict)
            and data.get("kind") == "Kustomization"
            and str(data.get("apiVersion", "")).startswith(_FLUX_GROUP)
        ):
            continue
        spec = data.get("spec")
        path = spec.get("path") if isinstance(spec, dict) else None
        if not isinstance(path, str):
            continue
        rel = posixpath.normpath(path.lstrip("/")) if path.strip("./") else "."
        parts = rel.split("/")
        if rel.startswith("..") or not any(
            skipped_dir("/".join(parts[: i + 1])) for i in range(len(parts))
        ):
            continue
        try:
            directory = yamlio.inside(root, root / rel, rel)
        except InputError:
            continue  # outside the repository or a loop: not a tool directory of ours
        if not directory.is_dir() or rel in loaded.kustomization_dirs:
            continue
        loaded.kustomization_dirs.append(rel)
        if any((directory / name).is_file() for name in KUSTOMIZATION_FILES):
            _load_kustomization(loaded, rel, listed, referenced)
            continue
        # No kustomization: Flux generates one listing every manifest below the path
        # (fluxcd/pkg kustomize/kustomize_generator.go).
        for sub in sorted(directory.rglob("*")):
            if sub.suffix in YAML_SUFFIXES and sub.is_file() and not sub.is_symlink():
                name = sub.relative_to(root).as_posix()
                loaded.files.append(name)
                for d in yamlio.load_documents(sub, name):
                    loaded.documents.append((d, Source(rel)))


class _KustomizationDirs:
    """Whether a kustomization directory is at or above a file: one set lookup per ancestor,
    not one comparison per directory (a fleet has one overlay per account)."""

    def __init__(self, kdirs: list[str]) -> None:
        self.dirs = set(kdirs)

    def holds(self, rel: str) -> bool:
        if "." in self.dirs:
            return True
        parent = posixpath.dirname(rel)
        while parent:
            if parent in self.dirs:
                return True
            parent = posixpath.dirname(parent)
        return False


def _listed_files(root: Path, kdir: str) -> list[str]:
    try:
        return build(root, root / kdir).files
    except (NeedsKustomize, InputError):
        return []


def _load_kustomization(loaded: Loaded, kdir: str, listed: set[str], referenced: set[str]) -> None:
    root = loaded.root
    try:
        built = _rendered_overlay(loaded, kdir) or build(root, root / kdir)
    except OutsideRepositoryError as err:
        loaded.problems.append(
            (
                err.path or kdir,
                err.line or 1,
                err.column or 1,
                "CAPA-R008",
                f"{err.message}: Flux builds only inside its source; not read",
            )
        )
        return
    except MissingResourceError as err:
        # kustomize, and so Flux, fails this build (a render killed between a new overlay's
        # kustomization.yaml and the files it lists leaves this): a finding, not bad input.
        loaded.problems.append(
            (err.path or kdir, err.line or 1, err.column or 1, "CAPA-R007", err.message)
        )
        return
    except NeedsKustomize as need:
        if _build_with_kustomize(loaded, kdir, need):
            referenced.update(fluxapply.included_directories(root, kdir))
        return
    if refusals.refused_by_kustomize(loaded.problems, built.documents):
        return
    listed.update(built.files)
    loaded.keep_texts(built.documents)
    for rel in built.files:
        sub = posixpath.dirname(rel) or "."
        if sub != kdir and posixpath.basename(rel) in KUSTOMIZATION_FILES:
            referenced.add(sub)
    for doc in built.documents:
        loaded.documents.append((doc, Source(kdir)))


# --- files render wrote: render's own documents, not parsed again --------------------------------
# In a fleet repository almost every file is generated, and render's plan (which CAPA-R001
# needs anyway) holds each one's text and the documents it was dumped from. A file whose text
# is exactly that text loads as exactly those documents (the safe dumper writes plain data so
# that it reads back equal), so it is read and compared, not composed: composing is most of
# what check costs. Its node tree, only needed for a finding's line and column, is composed
# the first time a finding asks for it. Anything else (drift, a hand edit, a symlink, a
# kustomization render would not write) takes the ordinary way.


class RenderedDocument(yamlio.Document):
    """A document of a file whose text is render's: render's data; nodes composed on demand."""

    def __init__(self, file: str, index: int, data: Any, text: str) -> None:
        for name, value in (
            ("file", file),
            ("index", index),
            ("data", data),
            ("text", text),
            ("_node", None),
        ):
            object.__setattr__(self, name, value)

    @property  # type: ignore[override]
    def node(self) -> yaml.Node:
        node: yaml.Node | None = self.__dict__["_node"]
        if node is None:
            node = yamlio.compose(self.__dict__["text"], self.file)[self.index]
            object.__setattr__(self, "_node", node)
        return node


def _rendered_documents(loaded: Loaded, rel: str) -> list[yamlio.Document] | None:
    """The documents of a regular file render would write, read once: render's own when the
    text is render's, else parsed; None when render does not write it."""
    plan = loaded.plan
    expected = plan.files.get(rel) if plan is not None else None
    data = getattr(plan, "documents", {}).get(rel) if expected is not None else None
    if data is None or not all(type(d) is dict for d in data):
        return None
    text = yamlio.read_text(loaded.root / rel, rel, confine=False)
    loaded.texts[rel] = text
    if text != expected:
        return yamlio.documents_from_text(text, rel)
    return [RenderedDocument(rel, i, d, text) for i, d in enumerate(data)]


def _rendered_overlay(loaded: Loaded, kdir: str) -> Built | None:
    """A kustomization directory exactly as render writes it, without parsing it again."""
    kfile = f"{kdir}/{KUSTOMIZATION_FILES[0]}"
    if (
        loaded.plan is None
        or kfile not in loaded.plan.files
        or not _regular_file(loaded.root / kfile)
    ):
        return None
    kdocs = _rendered_documents(loaded, kfile)
    if (
        not kdocs
        or not isinstance(kdocs[0], RenderedDocument)
        or set(kdocs[0].data) - {"apiVersion", "kind", "resources"}
    ):
        return None
    documents: list[yamlio.Document] = []
    files = [kfile]
    for entry in kdocs[0].data.get("resources") or []:
        rel = f"{kdir}/{entry}"
        if (
            not isinstance(entry, str)
            or "/" in entry
            or entry in (".", "..")
            or rel not in loaded.plan.files
            or not _regular_file(loaded.root / rel)
        ):
            return None
        docs = _rendered_documents(loaded, rel)
        if not docs or not all(isinstance(d, RenderedDocument) for d in docs):
            return None
        documents += docs
        files.append(rel)
    return Built(documents, files)


def _regular_file(path: Path) -> bool:
    return not path.is_symlink() and path.is_file()


def _build_with_kustomize(loaded: Loaded, kdir: str, need: NeedsKustomize) -> bool:
    """Build with a real kustomize; True when its documents were judged as built."""
    kfile = need.file
    # kustomize would read whatever these name, outside the repository and on the network
    # too: refuse first, and build nothing that cannot be proven confined.
    unsafe = escapes(WorkTree(loaded.root), kdir)
    for file, line, column, entry, why in unsafe:
        loaded.problems.append(
            (
                file,
                line,
                column,
                "CAPA-R008",
                f"{entry!r} {why}: Flux builds only inside its source; not built",
            )
        )
    if unsafe:
        return False
    if need.feature in ("transformers", "generators", "validators"):
        plugin = _function_plugin(loaded.root, kfile, need.feature)
        if plugin:
            loaded.problems.append(
                (
                    kfile,
                    plugin[0],
                    plugin[1],
                    "CAPA-R002",
                    f"{need.feature} uses an exec/container KRM function: Flux's "
                    "kustomize-controller runs no plugins and fails this build "
                    "(render the overlay instead)",
                )
            )
            return False
    command = kustomize_command()
    if command is None:
        loaded.warnings.append(
            f"{kfile}: uses {need.feature!r} and no kustomize is on PATH; "
            "its files were judged one by one"
        )
        for rel in loaded.yaml_files:
            if Path(rel).parent.as_posix() == kdir and Path(rel).name not in KUSTOMIZATION_FILES:
                for doc in yamlio.load_documents(loaded.root / rel, rel):
                    loaded.documents.append((doc, Source(kdir)))
        return False
    try:
        result = kustomize.run(command, loaded.root / kdir, loaded.root)
    except (OSError, subprocess.TimeoutExpired, kustomize.BudgetSpent) as err:
        loaded.problems.append(
            (kfile, 1, 1, "CAPA-R007", f"kustomize could not run: {err}; not built")
        )
        return False
    if result.returncode != 0:
        message = " ".join(result.stderr.split())[:300] or "kustomize build failed"
        loaded.problems.append(
            (kfile, 1, 1, "CAPA-R007", f"plain kustomize build fails (as Flux's would): {message}")
        )
        return False
    for doc in yamlio.documents_from_text(result.stdout, kfile):
        loaded.documents.append((doc, Source(kdir)))
    return True


def _function_plugin(root: Path, kfile: str, feature: str) -> tuple[int, int] | None:
    """Position of a transformers/generators entry whose config names a KRM function."""
    docs = yamlio.load_documents(root / kfile, kfile)
    entries = docs[0].data.get(feature) if docs and isinstance(docs[0].data, dict) else None
    if not isinstance(entries, list):
        return None
    for i, entry in enumerate(entries):
        texts: list[Any] = []
        if isinstance(entry, str):
            path = (root / kfile).parent / entry
            if path.is_file():
                texts = [d.data for d in yamlio.load_documents(path, entry)]
        elif isinstance(entry, dict):
            texts = [entry]
        for data in texts:
            meta = data.get("metadata") if isinstance(data, dict) else None
            annotations = (meta or {}).get("annotations") or {}
            if any(
                k in annotations
                for k in ("config.kubernetes.io/function", "config.k8s.io/function")
            ):
                return yamlio.position(docs[0].node, (feature, i))
    return None
