"""The repository as a git ref holds it: what Flux would have applied at ``check --base REF``.

The change-aware rules compare this with the working tree, so it is read the way
``hooks/check/repository.py`` reads the working tree (resources-only kustomizations in-process,
others with a plain kustomize, loose YAML files, ``accounts.yaml``), but from git objects and never
through the working tree, the index or a stash: one ``git ls-tree`` of REF's tree and one
``git cat-file --batch`` process for every blob, so the cost follows the size of REF's tree,
not the length of the history. REF's own problems are not the user's current problem: a file
or kustomization that fails to read at REF is left out with a warning.
"""

from __future__ import annotations

import contextlib
import posixpath
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from capa_accounts.core import git, yamlio
from capa_accounts.core.errors import GitError, InputError
from capa_accounts.core.kustomization import (
    KUSTOMIZATION_FILES,
    NeedsKustomize,
    OutsideRepositoryError,
    escapes,
    evaluate,
)
from capa_accounts.core.model import ACCOUNTS_FILE, AccountSet, parse_account_set
from capa_accounts.hooks.check import fluxapply, kustomize
from capa_accounts.hooks.check.repository import (  # excluded: the one reading of check.exclude
    YAML_SUFFIXES,
    Loaded,
    Source,
    excluded,
    skipped_dir,
)
from capa_accounts.hooks.git.read import cat_file, stream_blobs

GIT_TIMEOUT = 120
# git's tree entry modes (Documentation/git-fast-import.txt, "filemodify"); 160000 is a
# submodule commit, which has no blob in this repository.
SYMLINK_MODE = "120000"
FILE_MODES = ("100644", "100755")


@dataclass
class Tree:
    """REF's files below the repository directory: paths, blob ids, sizes; contents on demand."""

    root: Path
    files: dict[str, tuple[str, int]] = field(default_factory=dict)  # path -> (blob, size)
    symlinks: dict[str, str] = field(default_factory=dict)  # path -> blob holding the target
    dirs: set[str] = field(default_factory=set)
    contents: dict[str, bytes] = field(default_factory=dict)  # blob id -> bytes read

    def read(self, paths: list[str]) -> None:
        """Fetch the blobs of ``paths`` (not yet read) with one ``git cat-file --batch``."""
        wanted = sorted({self.files[p][0] for p in paths if p in self.files} - set(self.contents))
        self.contents.update(cat_file(self.root, wanted))

    def text(self, path: str) -> str:
        blob = self.contents.get(self.files[path][0])
        if blob is None:
            raise InputError("its content is not in this clone (a partial clone?)", path)
        return yamlio.decode(blob, path)


def _git(root: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return git.run(root, *args, stdin=stdin, timeout=GIT_TIMEOUT, where="--base")


def resolve(root: Path, ref: str) -> tuple[str | None, str]:
    """(commit id or None for a HEAD with no commit yet, the repository's path prefix)."""
    where = f"--base {ref}"
    inside = _git(root, "rev-parse", "--is-inside-work-tree", "--show-prefix")
    if inside.returncode != 0 or not inside.stdout.startswith(b"true"):
        said = inside.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        reason = said[0].removeprefix("fatal: ") if said else "not a git working tree"
        raise GitError(f"cannot read git history here ({reason})", where)
    prefix = inside.stdout.decode("utf-8", "replace").splitlines()[1:2]
    # --end-of-options: a REF that starts with "-" is a name, never an option of rev-parse.
    found = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if found.returncode == 0:
        return found.stdout.decode().strip(), (prefix[0] if prefix else "")
    unborn = _git(root, "symbolic-ref", "--quiet", "HEAD").returncode == 0
    if ref in ("HEAD", "@") and unborn:
        return None, ""
    shallow = _git(root, "rev-parse", "--is-shallow-repository").stdout.startswith(b"true")
    hint = " (this is a shallow clone: fetch that commit first)" if shallow else ""
    raise GitError(f"not a commit in this repository{hint}", where)


def read_tree(root: Path, commit: str, prefix: str) -> Tree:
    """REF's tree below ``prefix``: one ``git ls-tree``, no blob read yet."""
    tree = Tree(root)
    treeish = f"{commit}:{prefix.rstrip('/')}" if prefix else f"{commit}^{{tree}}"
    _refuse_missing(root, commit)
    listing = _git(root, "ls-tree", "-r", "-l", "-z", "--full-tree", treeish)
    if listing.returncode != 0:
        if b"promisor" in listing.stderr or b"missing" in listing.stderr:
            raise GitError(
                "its tree is not in this partial clone; check never fetches (run "
                "`git fetch` for that commit first)",
                f"--base {commit}",
            )
        return tree  # the repository directory did not exist yet at REF: an empty state
    for entry in listing.stdout.split(b"\0"):
        if not entry:
            continue
        head, _, raw_path = entry.partition(b"\t")
        mode, _kind, blob, size = head.split()
        path = raw_path.decode("utf-8", "replace")
        parts = path.split("/")
        # The same directories walk_files skips (a top-level build/, never overlays/build/).
        if any(p in ("", ".", "..", ".git") for p in parts) or any(
            skipped_dir("/".join(parts[: i + 1])) for i in range(len(parts) - 1)
        ):
            continue  # a name git itself refuses to check out (fsck's badTree): never a path
        if mode.decode() in FILE_MODES:
            tree.files[path] = (blob.decode(), int(size))
        elif mode.decode() == SYMLINK_MODE:
            tree.symlinks[path] = blob.decode()
        else:
            continue
        for i in range(1, len(parts)):
            tree.dirs.add("/".join(parts[:i]))
    _follow_symlinks(tree)
    return tree


def _refuse_missing(root: Path, commit: str) -> None:
    """A partial clone may lack REF's objects: name them and stop (exit 2), never fetch them.
    ``rev-list --missing=print`` lists them without fetching (git
    Documentation/rev-list-options)."""
    partial = _git(root, "config", "--get", "extensions.partialClone")
    if partial.returncode != 0 or not partial.stdout.strip():
        return
    listed = _git(root, "rev-list", "--objects", "--no-walk", "--missing=print", commit)
    missing = [line[1:].decode() for line in listed.stdout.splitlines() if line.startswith(b"?")]
    if listed.returncode != 0 or missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise GitError(
            f"{len(missing)} object(s) of that commit are not in this partial "
            f"clone ({shown or 'git rev-list failed'}); check never fetches: run "
            "`git fetch` for them first",
            f"--base {commit}",
        )


def _follow_symlinks(tree: Tree) -> None:
    """A symlink to a file of the repository reads as that file; others are not read."""
    targets = cat_file(tree.root, sorted(set(tree.symlinks.values())))
    for path in tree.symlinks:
        current = path
        for _ in range(40):  # the kernel's own limit on nested symlinks (MAXSYMLINKS)
            target = targets.get(tree.symlinks.get(current, ""), b"").decode("utf-8", "replace")
            current = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
            if current.startswith("../") or current == ".." or target.startswith("/"):
                break  # leaves the repository: Flux would not read it either
            if current in tree.files:
                tree.files[path] = tree.files[current]
                break
            if current not in tree.symlinks:
                break


# --- what Flux would have applied at REF -------------------------------------------------------


def load_ref(root: Path, ref: str, exclude: tuple[str, ...] = ()) -> Loaded:
    """The objects Flux would apply at REF, as ``load`` of ``hooks/check/repository.py`` gives them
    now."""
    commit, prefix = resolve(root, ref)
    # Flux paths start at the top of the work tree, as in the working tree (core/fluxsource.py).
    loaded = Loaded(root, None, source_prefix=prefix.rstrip("/"))
    if commit is None:
        loaded.warnings.append(
            f"--base {ref}: the repository has no commit yet; every object "
            "is compared with an empty state"
        )
        return loaded
    tree = read_tree(root, commit, prefix)
    if prefix and not tree.files:
        loaded.warnings.append(
            f"--base {ref}: the repository directory {prefix.rstrip('/')} "
            "did not exist yet; every object is compared with an empty state"
        )
    loader = _RefLoader(tree, loaded, ref, exclude)
    with loader.stack:
        loader.run()
    return loaded


class RefFiles:
    """REF's tree as ``kustomization.Files``: the evaluator reads git objects, not files.

    A path is confined lexically (REF's tree holds no ``..``); a symlink reads as the file of
    the repository it leads to (``_follow_symlinks``), and any other symlink as nothing.
    """

    def __init__(self, loader: _RefLoader) -> None:
        self.loader = loader
        self.tree = loader.tree

    def kind(self, rel: str) -> str | None:
        if rel == "." or rel in self.tree.dirs:
            return "dir"
        return "file" if rel in self.tree.files else None

    def resolve(self, directory: str, entry: str) -> str:
        target = posixpath.normpath(posixpath.join(directory, entry))
        if target == ".." or target.startswith("../") or entry.startswith("/"):
            raise OutsideRepositoryError("leads outside the repository", entry)
        return target

    def documents(self, rel: str) -> list[yamlio.Document]:
        docs = self.loader.documents(rel)
        if docs is None:
            raise InputError("unreadable at that commit", rel)
        return docs

    def kustomization(self, directory: str) -> str | None:
        return next(
            (f for f in (_join(directory, n) for n in KUSTOMIZATION_FILES) if f in self.tree.files),
            None,
        )


class _RefLoader:
    def __init__(self, tree: Tree, loaded: Loaded, ref: str, exclude: tuple[str, ...]) -> None:
        self.tree = tree
        self.loaded = loaded
        self.ref = ref
        self.exclude = exclude
        self.parsed: dict[str, list[yamlio.Document] | None] = {}
        self.files = RefFiles(self)
        self.exported: Path | None = None  # REF's copy, made when a kustomization needs one
        self.stack = contextlib.ExitStack()

    def warn(self, err: InputError | str) -> None:
        self.loaded.warnings.append(f"--base {self.ref}: {err} (at that commit; not compared)")

    def documents(self, path: str) -> list[yamlio.Document] | None:
        """The documents of a YAML file at REF, or None (with one warning) when it fails to read."""
        if path not in self.parsed:
            try:
                if self.tree.files[path][1] > yamlio.MAX_FILE_BYTES:
                    raise InputError("over the 8 MiB limit for YAML input", path)
                self.parsed[path] = yamlio.documents_from_text(self.tree.text(path), path)
            except InputError as err:
                self.warn(err)
                self.parsed[path] = None
        return self.parsed[path]

    def run(self) -> None:
        tree, loaded = self.tree, self.loaded
        tree.read(
            [
                p
                for p, (_blob, size) in tree.files.items()
                if size <= yamlio.MAX_FILE_BYTES
                and (p.endswith(YAML_SUFFIXES) or posixpath.basename(p) in KUSTOMIZATION_FILES)
            ]
        )
        loaded.account_set = self.account_set()
        exclude = self.exclude + (loaded.account_set.check_exclude if loaded.account_set else ())
        files = sorted(p for p in tree.files if not excluded(p, exclude))
        loaded.yaml_files = [p for p in files if p.endswith(YAML_SUFFIXES)]
        kdirs = sorted(
            {
                posixpath.dirname(p) or "."
                for p in files
                if posixpath.basename(p) in KUSTOMIZATION_FILES
            }
        )
        loaded.kustomization_dirs = kdirs
        listed: set[str] = set()
        referenced: set[str] = set()
        for kdir in kdirs:
            if kdir == "base" and loaded.account_set:
                # Templates, rendered into the overlays: Flux never applies base/ itself.
                with contextlib.suppress(NeedsKustomize, InputError):
                    listed.update(self.build(kdir, frozenset())[1])
                continue
            built = self.build_dir(kdir)
            if built is None:
                continue
            docs, read = built
            listed.update(read)
            referenced.update(
                posixpath.dirname(p) or "."
                for p in read
                if posixpath.basename(p) in KUSTOMIZATION_FILES
                and (posixpath.dirname(p) or ".") != kdir
            )
            loaded.documents.extend((d, Source(kdir)) for d in docs)
        charts = fluxapply.charts(files) if loaded.account_set is None else set()
        for rel in loaded.yaml_files:
            parent = posixpath.dirname(rel) or "."
            if (
                rel in listed
                or rel == ACCOUNTS_FILE
                or any(parent == k or parent.startswith(k + "/") or k == "." for k in kdirs)
                or fluxapply.chart_template(rel, charts)
            ):
                continue
            loaded.documents.extend(
                (d, Source(None, built=False)) for d in self.documents(rel) or []
            )
        loaded.documents = [
            (d, s) for d, s in loaded.documents if s.overlay is None or s.overlay not in referenced
        ]
        # What the Flux Kustomizations at REF applied, judged as the working tree is.
        fluxapply.follow(loaded, tree=(self._is_dir, self._has_kustomization))

    def _is_dir(self, rel: str) -> bool:
        return rel == "." or rel in self.tree.dirs

    def _has_kustomization(self, rel: str) -> bool:
        return any(
            (k if rel == "." else f"{rel}/{k}") in self.tree.files for k in KUSTOMIZATION_FILES
        )

    def account_set(self) -> AccountSet | None:
        if ACCOUNTS_FILE not in self.tree.files:
            return None  # REF predates capa-accounts: objects are compared, accounts are not
        docs = self.documents(ACCOUNTS_FILE)
        if not docs:
            return None
        try:
            return parse_account_set(docs[0], conflicts=False)
        except InputError as err:
            self.warn(err)
            return None

    def build_dir(self, kdir: str) -> tuple[list[yamlio.Document], list[str]] | None:
        try:
            return self.build(kdir, frozenset())
        except NeedsKustomize as need:
            return self.with_kustomize(kdir, need)
        except InputError as err:  # OutsideRepositoryError included
            self.warn(err)
            return None

    def build(self, kdir: str, seen: frozenset[str]) -> tuple[list[yamlio.Document], list[str]]:
        """kustomization.evaluate over REF's tree: the work tree's rules and errors."""
        built = evaluate(self.files, kdir, seen)
        return built.documents, built.files

    def with_kustomize(
        self, kdir: str, need: NeedsKustomize
    ) -> tuple[list[yamlio.Document], list[str]] | None:
        """Build with a plain kustomize from one temporary copy of REF's tree, never the work
        tree; the copy is made once for every kustomization of REF that needs kustomize."""
        command = kustomize.command()
        if command is None:
            self.warn(f"{need.file}: uses {need.feature!r} and no kustomize is on PATH")
            return None
        # kustomize (LoadRestrictionsNone, as Flux builds) would read whatever REF's
        # kustomization names, outside the copy and on the network too: refuse first, with the
        # rules the work tree uses (kustomization.escapes).
        try:
            unsafe = escapes(self.files, kdir)
        except InputError as err:
            self.warn(err)
            return None
        for file, line, _column, entry, why in unsafe:
            self.warn(f"{file}:{line}: {entry!r} {why}: not built")
        if unsafe:
            return None
        copy = self.copy()
        result = _run(command, copy / kdir, copy)
        if result is None or result.returncode != 0:
            message = " ".join((result.stderr if result else "kustomize did not run").split())
            self.warn(f"{need.file}: kustomize build failed: {message[:300]}")
            return None
        try:
            docs = yamlio.documents_from_text(result.stdout, need.file)
        except InputError as err:
            self.warn(err)
            return None
        return (
            docs,
            [],
        )  # as in capa_accounts.hooks.check.repository: a kustomize build lists no files

    def copy(self) -> Path:
        """REF's files (each up to the 8 MiB input limit) in a temporary directory that holds
        nothing else, written blob by blob as git streams them: memory holds one chunk."""
        if self.exported is None:
            self.exported = Path(
                self.stack.enter_context(tempfile.TemporaryDirectory(prefix="capa-accounts-base-"))
            )
            paths: dict[str, list[str]] = {}
            for rel, (blob, size) in self.tree.files.items():
                if size <= yamlio.MAX_FILE_BYTES:
                    paths.setdefault(blob, []).append(rel)
            for blob, chunks in stream_blobs(self.tree.root, sorted(paths)):
                first, *others = paths[blob]
                target = self.exported / first
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "xb") as handle:  # a new file in the new directory
                    for chunk in chunks:
                        handle.write(chunk)
                for other in others:
                    (self.exported / other).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(target, self.exported / other)
        return self.exported


def _join(directory: str, name: str) -> str:
    return name if directory == "." else f"{directory}/{name}"


def _run(command: list[str], directory: Path, cwd: Path) -> subprocess.CompletedProcess[str] | None:
    try:
        return kustomize.run(command, directory, cwd)
    except (OSError, subprocess.TimeoutExpired, kustomize.BudgetSpent):
        return None
