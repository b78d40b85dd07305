"""What ``check`` judges, read once: ``Loaded``, and the names of the files it walks."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any

from capa_accounts.core import yamlio
from capa_accounts.core.errors import CapaAccountsError, InputError
from capa_accounts.core.finding import Finding
from capa_accounts.core.model import AccountSet
from capa_accounts.core.record import Mutable, Record

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
YAML_SUFFIXES = yamlio.YAML_SUFFIXES


class Source(Record):
    """How a document reaches the cluster: from an overlay build, or as a loose file."""

    FIELDS = ("overlay", "built", "flux")
    overlay: str | None  # repository-relative directory of the kustomization, if any
    built: bool  # False: the file was read directly (no kustomization lists it)
    flux: str | None  # the Flux Kustomization whose substitution made it (fluxapply)

    def __init__(self, overlay: str | None, built: bool = True, flux: str | None = None) -> None:
        set_ = object.__setattr__
        set_(self, "overlay", overlay)
        set_(self, "built", built)
        set_(self, "flux", flux)


class Loaded(Mutable):
    """Everything ``check`` judges, read once."""

    FIELDS = (
        "root",
        "account_set",
        "documents",
        "files",
        "yaml_files",
        "kustomization_dirs",
        "problems",
        "warnings",
        "unlisted",
        "scanned",
        "texts",
        "verified",
        "plan",
        "plan_error",
        "input_errors",
        "unread",
        "source_prefix",
        "source_root",
        "built",
        "loose",
    )
    root: Path
    account_set: AccountSet | None
    documents: list[tuple[yamlio.Document, Source]]
    files: list[str]  # every file, exclusions applied
    yaml_files: list[str]
    kustomization_dirs: list[str]
    # Problems met while loading (CAPA-R007, R008 and the like), judged with the rules' findings.
    problems: list[Finding]
    warnings: list[str]
    # YAML files beside a kustomization that neither it nor any other lists (CAPA-R010)
    unlisted: list[str]
    # Every file the credential scan reads (CAPA-S001 to S003): ``files`` and those git tracks
    # where the walk does not go (``secret_files.scan_list``).
    scanned: list[str]
    # The text of every file read, so that no rule reads a file again (CAPA-R001, S001).
    texts: dict[str, str]
    # Files whose text is render's and in which the file-alone judgements found nothing when
    # the plan was made (hooks/check/verified.py): not judged by them again.
    verified: set[str]
    # What render would write (render.Plan), or why it cannot (CAPA-R001 reports both).
    plan: Any
    plan_error: CapaAccountsError | None
    # Files (or kustomization directories) that could not be read: each one is named, and
    # the rest of the repository is still judged.
    input_errors: list[InputError]
    unread: set[str]  # their files: nothing is said about them
    # Where the repository is in Flux's source (core/fluxsource.py): "" at its root, else the
    # folder of a monorepo; Flux paths are resolved from ``source_root``.
    source_prefix: str
    source_root: Path
    # What each kustomization built in-process (``kustomization.Built``) and each loose file
    # held: ``check --base`` takes them for a file whose blob at REF is the same (git/base.py).
    built: dict[str, Any]
    loose: dict[str, list[yamlio.Document]]

    def __init__(
        self,
        root: Path,
        account_set: AccountSet | None,
        documents: list[tuple[yamlio.Document, Source]] | None = None,
        files: list[str] | None = None,
        yaml_files: list[str] | None = None,
        kustomization_dirs: list[str] | None = None,
        problems: list[Finding] | None = None,
        warnings: list[str] | None = None,
        unlisted: list[str] | None = None,
        scanned: list[str] | None = None,
        texts: dict[str, str] | None = None,
        verified: set[str] | None = None,
        plan: Any = None,
        plan_error: CapaAccountsError | None = None,
        input_errors: list[InputError] | None = None,
        unread: set[str] | None = None,
        source_prefix: str = "",
        source_root: Path | None = None,
        built: dict[str, Any] | None = None,
        loose: dict[str, list[yamlio.Document]] | None = None,
    ) -> None:
        self.root = root
        self.account_set = account_set
        self.documents = [] if documents is None else documents
        self.files = [] if files is None else files
        self.yaml_files = [] if yaml_files is None else yaml_files
        self.kustomization_dirs = [] if kustomization_dirs is None else kustomization_dirs
        self.problems = [] if problems is None else problems
        self.warnings = [] if warnings is None else warnings
        self.unlisted = [] if unlisted is None else unlisted
        self.scanned = [] if scanned is None else scanned
        self.texts = {} if texts is None else texts
        self.verified = set() if verified is None else verified
        self.plan = plan
        self.plan_error = plan_error
        self.input_errors = [] if input_errors is None else input_errors
        self.unread = set() if unread is None else unread
        self.source_prefix = source_prefix
        self.source_root = Path() if source_root is None else source_root
        self.built = {} if built is None else built
        self.loose = {} if loose is None else loose

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
