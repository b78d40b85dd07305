"""What ``check`` reads in the working tree: the objects Flux would apply, and what is around.

Every YAML file of the repository is found (``spec.check.exclude`` and tool directories
skipped) and walked by the one loader (``hooks/check/loader.py``) as ``WorkTreeSource``: a
directory with a kustomization is judged as kustomize builds it (resources-only kustomizations
in-process, others with a real kustomize in a copy of the repository's files once proven
confined, else file by file with a warning when no kustomize is on PATH). A file that no
kustomization lists is not applied by Flux; only the credential scan reads it. ``base/`` holds
templates when accounts.yaml exists. A file whose text is exactly what render writes is not
parsed again: its documents are render's own (see "files render wrote" below).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from capa_accounts.core import fluxsource, git, reporoot, yamlio
from capa_accounts.core.accounts_file import load_account_set
from capa_accounts.core.errors import CapaAccountsError, GitError, InputError
from capa_accounts.core.finding import Finding
from capa_accounts.core.kustomization import (
    KUSTOMIZATION_FILES,
    Built,
    NeedsKustomize,
    WorkTree,
    in_git_dir,
)
from capa_accounts.core.model import ACCOUNTS_FILE, AccountSet
from capa_accounts.core.resources import FLUX_KUSTOMIZE_GROUP
from capa_accounts.hooks.check import fluxapply, loader, secret_files
from capa_accounts.hooks.check.kustomize import command as kustomize_command
from capa_accounts.hooks.check.loaded import (
    SKIP_DIRS as SKIP_DIRS,
)
from capa_accounts.hooks.check.loaded import (
    TOP_LEVEL_SKIP_DIRS as TOP_LEVEL_SKIP_DIRS,
)
from capa_accounts.hooks.check.loaded import (
    YAML_SUFFIXES,
    Loaded,
    Source,
    excluded,
    skipped_dir,
    walk_files,
)

__all__ = [
    "YAML_SUFFIXES",
    "Loaded",
    "Planner",
    "Source",
    "excluded",
    "kustomize_command",
    "load",
    "skipped_dir",
    "walk_files",
]

Planner = Callable[[AccountSet], Any]


def load(root: Path, planner: Planner | None = None) -> Loaded:
    """Read the repository; ``planner`` (render's plan) spares parsing the files it wrote."""
    if not root.is_dir():
        raise InputError("no such repository directory", str(root))
    source = WorkTreeSource(root, planner)
    with source.stack:
        loaded = loader.load(source)
    if loaded.plan is not None and loaded.plan.seen is not None:
        loaded.plan.seen.save(loaded.plan.files)
    loaded.scanned, unscannable = secret_files.scan_list(root, loaded.files, set(loaded.texts))
    loaded.warnings += unscannable
    return loaded


class WorkTreeSource(WorkTree):
    """The working tree as a ``loader.FileSource``: its problems are findings (CAPA-R007, R008), a
    kustomization that does not read is an error (exit 2)."""

    def __init__(self, root: Path, planner: Planner | None) -> None:
        super().__init__(root)
        self.planner = planner
        self.loaded = Loaded(root, None)
        self.stack = contextlib.ExitStack()
        self.copied: Path | None = None
        self.charts: set[str] = set()  # Helm chart directories (fluxapply.charts)
        self.not_yaml: list[InputError] = []  # loose files judged once Flux paths are known

    def walk(self) -> list[str]:
        root, loaded = self.root, self.loaded
        # Conflicts between accounts (CAPA-X001) are findings of check, not input errors.
        if (root / ACCOUNTS_FILE).is_file():
            loaded.account_set = load_account_set(root, conflicts=False)
            document = loaded.account_set.document
            if document is not None and document.text:  # for check --base (git/base.py)
                loaded.texts.setdefault(ACCOUNTS_FILE, document.text)
        if self.planner is not None and loaded.account_set is not None:
            try:
                loaded.plan = self.planner(loaded.account_set)
            except CapaAccountsError as err:
                loaded.plan_error = err
        account_set = loaded.account_set
        top = reporoot.git_top(root.resolve())
        loaded.source_prefix = fluxsource.source_prefix(
            root, top, account_set.flux if account_set else None
        )
        loaded.source_root = root.resolve()
        for _part in loaded.source_prefix.split("/") if loaded.source_prefix else ():
            loaded.source_root = loaded.source_root.parent
        exclude = account_set.check_exclude if account_set else ()
        files = walk_files(root, exclude)
        self.charts = fluxapply.charts(files)
        return files

    def report(self, finding: Finding) -> None:
        self.loaded.problems.append(finding)

    def unreadable(self, err: InputError) -> None:
        self.loaded.input_errors.append(err)  # named once; the rest is judged (engine)

    def rendered(self, kdir: str) -> Built | None:
        return _rendered_overlay(self.loaded, kdir)

    def loose(self, rel: str) -> list[yamlio.Document]:
        loaded = self.loaded
        chart = fluxapply.chart_template(rel, self.charts)
        if loaded.account_set is None and chart:
            return []  # Helm renders it with values: not a manifest (fluxapply.charts)
        path = self.root / rel
        symlink = path.is_symlink()
        if symlink:
            try:
                path.resolve().relative_to(self.top)
            except ValueError:
                self.report(
                    Finding(
                        "CAPA-R008",
                        "error",
                        rel,
                        1,
                        1,
                        "symlink leads outside the repository: not read",
                    )
                )
                return []
        # walk_files never enters a symlinked directory: a file it lists that is not itself a
        # symlink is inside the repository without resolving every component of its path.
        docs = None if symlink else _rendered_documents(loaded, rel)
        if docs is None:
            try:
                docs = yamlio.load_documents(path, rel, confine=symlink)
            except InputError as err:
                if loaded.account_set is not None or chart:
                    loaded.input_errors.append(err)
                    loaded.unread.update({rel, err.path or rel})
                else:
                    self.not_yaml.append(err)  # judged once the Flux paths are known
                return []
            loaded.keep_texts(docs)
        return docs

    def without_kustomize(self, kdir: str, need: NeedsKustomize) -> None:
        loaded = self.loaded
        loaded.warnings.append(
            f"{need.file}: uses {need.feature!r} and no kustomize is on PATH; "
            "its files were judged one by one"
        )
        for rel in loaded.yaml_files:
            if posixpath.dirname(rel) == ("" if kdir == "." else kdir) and (
                posixpath.basename(rel) not in KUSTOMIZATION_FILES
            ):
                for doc in yamlio.load_documents(self.root / rel, rel):
                    loaded.documents.append((doc, Source(kdir)))

    def copy(self) -> Path:
        """The repository's files (git's tracked and untracked-not-ignored ones, or every
        file the walk finds outside git; each up to the 8 MiB input limit; no ``.git``) in
        a new temporary directory, made once per check: kustomize builds there, as Flux
        builds an artifact that holds no ``.git``."""
        if self.copied is None:
            import tempfile  # most checks copy nothing

            self.copied = Path(
                self.stack.enter_context(tempfile.TemporaryDirectory(prefix="capa-accounts-copy-"))
            )
            for rel in self._repository_files():
                self._copy_one(rel)
        return self.copied

    def _repository_files(self) -> list[str]:
        try:
            listed = git.run(
                self.root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"
            )
        except GitError:
            listed = None
        if listed is None or listed.returncode != 0:  # no git, or not a git work tree
            return walk_files(self.root)
        names = listed.stdout.decode("utf-8", "surrogateescape").split("\0")
        return sorted({p for p in names if p})

    def _copy_one(self, rel: str) -> None:
        assert self.copied is not None  # noqa: S101 - copy() made it
        if in_git_dir(rel) or rel.startswith("../"):
            return
        source = self.root / rel
        target = self.copied / rel
        try:
            if source.is_symlink():
                resolved = source.resolve()
                inside = resolved.relative_to(self.top).as_posix()
                if in_git_dir(inside) or not resolved.is_file():
                    return
                source = resolved
            if not source.is_file() or source.stat().st_size > yamlio.MAX_FILE_BYTES:
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            import shutil

            shutil.copyfile(source, target, follow_symlinks=False)
        except (OSError, ValueError, RuntimeError):
            return  # outside, a loop, gone meanwhile: not the repository's file to build from

    def finish(self, listed: set[str], referenced: set[str]) -> None:
        _flux_paths_skipped(self, listed, referenced)

    def follow(self) -> None:
        fluxapply.follow(self.loaded, self.not_yaml)

    def included(self, kdir: str) -> list[str]:
        return fluxapply.included_directories(self.root, kdir)


_FLUX_GROUP = f"{FLUX_KUSTOMIZE_GROUP}/"


def _flux_paths_skipped(source: WorkTreeSource, listed: set[str], referenced: set[str]) -> None:
    """A Flux Kustomization applies its ``spec.path`` wherever it is, a tool directory such as
    build/ included: every path Flux applies is judged, even where the walk skips."""
    loaded = source.loaded
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
            loader.load_kustomization(source, rel, listed, referenced)
            continue
        # No kustomization: Flux generates one listing every manifest below the path
        # (fluxcd/pkg kustomize/kustomize_generator.go).
        for sub in sorted(directory.rglob("*")):
            if sub.suffix in YAML_SUFFIXES and sub.is_file() and not sub.is_symlink():
                name = sub.relative_to(root).as_posix()
                loaded.files.append(name)
                for d in yamlio.load_documents(sub, name):
                    loaded.documents.append((d, Source(rel)))


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

    def __init__(self, file: str, index: int, data: Any, text: str, verified: bool = False) -> None:
        for name, value in (
            ("file", file),
            ("index", index),
            ("data", data),
            ("text", text),
            ("_node", None),
            ("verified", verified),  # judged with the plan (hooks/check/verified.py)
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
    # A file unchanged since it held render's text is not read again (kustomize_plugin/
    # seen.py); else one open and one fstat: a symlink or anything but a regular file takes
    # the ordinary way.
    path = os.path.join(loaded.root, rel)
    if plan.seen is None:
        text = yamlio.read_regular(path, rel)
    else:
        text = plan.seen.text(path, rel, expected, lambda: yamlio.read_regular(path, rel))
    if text is None:
        return None
    loaded.texts[rel] = text
    if text != expected:
        return yamlio.documents_from_text(text, rel)
    verified = rel in plan.verified
    if verified:
        loaded.verified.add(rel)
    return [RenderedDocument(rel, i, d, text, verified) for i, d in enumerate(data)]


def _rendered_overlay(loaded: Loaded, kdir: str) -> Built | None:
    """A kustomization directory exactly as render writes it, without parsing it again."""
    kfile = f"{kdir}/{KUSTOMIZATION_FILES[0]}"
    if loaded.plan is None or kfile not in loaded.plan.files:
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
        ):
            return None
        docs = _rendered_documents(loaded, rel)
        if not docs or not all(isinstance(d, RenderedDocument) for d in docs):
            return None
        documents += docs
        files.append(rel)
    return Built(documents, files)
