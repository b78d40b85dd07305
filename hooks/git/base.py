"""The repository as a git ref holds it: what Flux would have applied at ``check --base REF``.

The change-aware rules compare this with the working tree, so it is read by the same loader
(``hooks/check/loader.py``) as the working tree, from ``RefSource``: git objects, never the
working tree, the index or a stash: one ``git ls-tree`` of REF's tree and one
``git cat-file --batch`` process for every blob, so the cost follows the size of REF's tree,
not the length of the history. REF's own problems are not the user's current problem: a file
or kustomization that fails to read at REF is left out with a warning. What REF's YAML files
may cost is bounded: together at most ``MAX_BASE_BYTES`` are read, else check stops (exit 2)
naming the limit, rather than judging part of REF.

What REF shares with the working tree is not read twice: a file whose blob id at REF is the
git hash of the text check read in the working tree holds the same bytes, so its documents
are the working tree's (``Loaded.loose``), and a kustomization whose every file is such a file
builds what it built in the working tree (``Loaded.built``). Its blob is not even fetched. The
cost of REF then follows the size of the change, not of the repository; the rules compare the
two states as before.
"""

from __future__ import annotations

import contextlib
import posixpath
import shutil
import tempfile
from pathlib import Path

from capa_accounts.core import yamlio
from capa_accounts.core.accounts_file import parse_account_set
from capa_accounts.core.errors import GitError, InputError
from capa_accounts.core.finding import Finding
from capa_accounts.core.kustomization import (
    KUSTOMIZATION_FILES,
    Built,
    NeedsKustomize,
    OutsideRepositoryError,
    in_git_dir,
)
from capa_accounts.core.model import ACCOUNTS_FILE, AccountSet
from capa_accounts.hooks.check import fluxapply, loader
from capa_accounts.hooks.check.loaded import (  # excluded: the one reading of check.exclude
    YAML_SUFFIXES,
    Loaded,
    excluded,
)
from capa_accounts.hooks.git.read import stream_blobs
from capa_accounts.hooks.git.tree import Tree, read_tree, resolve, same_files

# What REF's YAML files may hold together. Composed YAML costs tens of times its size in
# memory: 64 MiB of YAML is already a fleet far beyond the largest the benchmarks measure.
MAX_BASE_BYTES = 64 << 20
FETCH_BY_DIRECTORY = 8  # git processes for shared files before the rest is fetched at once


# --- what Flux would have applied at REF -------------------------------------------------------


def load_ref(
    root: Path, ref: str, exclude: tuple[str, ...] = (), shared: Loaded | None = None
) -> Loaded:
    """The objects Flux would apply at REF, as ``load`` of ``hooks/check/repository.py`` gives
    them now; ``shared``, the working tree as check read it, lends what is byte-identical."""
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
    source = RefSource(tree, loaded, ref, exclude, shared)
    with source.stack:
        loader.load(source)
    return loaded


class RefSource:
    """REF's tree as a ``loader.FileSource``: the evaluator reads git objects, not files, and
    every problem is a warning (REF's problems are not the user's current problem).

    A path is confined lexically (REF's tree holds no ``..`` and no ``.git``); a symlink reads
    as the file of the repository it leads to (``_follow_symlinks``), and any other symlink as
    nothing.
    """

    def __init__(
        self,
        tree: Tree,
        loaded: Loaded,
        ref: str,
        exclude: tuple[str, ...],
        shared: Loaded | None = None,
    ) -> None:
        self.tree = tree
        self.shared = shared
        self.same: set[str] = set()  # paths whose bytes at REF are the working tree's
        self.unfetched: dict[str, list[str]] = {}  # directory -> its shared files, not read
        self.misses = 0  # shared files asked for after all (see _fetch)
        self.lent: dict[str, list[yamlio.Document]] | None = None  # see _lent
        self.loaded = loaded
        self.ref = ref
        self.exclude = exclude
        self.parsed: dict[str, list[yamlio.Document] | None] = {}
        self.exported: Path | None = None  # REF's copy, made when a kustomization needs one
        self.charts: set[str] = set()  # Helm chart directories (fluxapply.charts)
        self.stack = contextlib.ExitStack()

    # --- kustomization.Files ---------------------------------------------------------------

    def kind(self, rel: str) -> str | None:
        if rel == "." or rel in self.tree.dirs:
            return "dir"
        return "file" if rel in self.tree.files else None

    def resolve(self, directory: str, entry: str) -> str:
        target = posixpath.normpath(posixpath.join(directory, entry))
        if target == ".." or target.startswith("../") or entry.startswith("/"):
            raise OutsideRepositoryError("leads outside the repository", entry)
        if in_git_dir(target):
            raise OutsideRepositoryError("leads outside the repository (into .git)", entry)
        return target

    def documents(self, rel: str) -> list[yamlio.Document]:
        docs = self._parsed(rel)
        if docs is None:
            raise InputError("unreadable at that commit", rel)
        return docs

    def kustomization(self, directory: str) -> str | None:
        return next(
            (f for f in (_join(directory, n) for n in KUSTOMIZATION_FILES) if f in self.tree.files),
            None,
        )

    def size(self, rel: str) -> int:
        return self.tree.size(rel)

    # --- loader.FileSource -----------------------------------------------------------------

    def walk(self) -> list[str]:
        tree, loaded = self.tree, self.loaded
        candidates = [
            p
            for p in tree.files
            if p.endswith(YAML_SUFFIXES) or posixpath.basename(p) in KUSTOMIZATION_FILES
        ]
        self.same = same_files(tree, self.shared, candidates)
        tree.sizes([p for p in candidates if p not in self.same])
        wanted = [p for p in candidates if tree.files[p][1] <= yamlio.MAX_FILE_BYTES]
        total = sum(tree.files[p][1] for p in wanted)
        if total > MAX_BASE_BYTES:
            raise GitError(
                f"its YAML files hold {total >> 20} MiB, over the {MAX_BASE_BYTES >> 20} MiB "
                "limit check reads at a base ref: not compared (compare with a nearer commit)",
                f"--base {self.ref}",
            )
        for path in self.same:
            self.unfetched.setdefault(posixpath.dirname(path), []).append(path)
        tree.read([p for p in wanted if p not in self.same])
        if ACCOUNTS_FILE in self.same and self.shared and self.shared.account_set:
            loaded.account_set = self.shared.account_set
        else:
            loaded.account_set = self._account_set()
        exclude = self.exclude + (loaded.account_set.check_exclude if loaded.account_set else ())
        files = sorted(p for p in tree.files if not excluded(p, exclude))
        self.charts = fluxapply.charts(files)
        return files

    def report(self, finding: Finding) -> None:
        self.warn(f"{finding.file}:{finding.line}: {finding.message}")

    def unreadable(self, err: InputError) -> None:
        self.warn(err)

    def rendered(self, kdir: str) -> Built | None:
        """What the working tree built in-process for ``kdir``, when every file it read is
        byte-identical at REF (evaluating a kustomization reads nothing but its files)."""
        built: Built | None = self.shared.built.get(kdir) if self.shared else None
        if built is not None and all(f in self.same for f in built.files):
            return built
        return None

    def loose(self, rel: str) -> list[yamlio.Document]:
        if self.loaded.account_set is None and fluxapply.chart_template(rel, self.charts):
            return []  # Helm renders it with values: not a manifest (fluxapply.charts)
        if rel in self.same and self.shared and rel in self.shared.loose:
            return self.shared.loose[rel]
        return self._parsed(rel) or []

    def without_kustomize(self, kdir: str, need: NeedsKustomize) -> None:
        self.warn(f"{need.file}: uses {need.feature!r} and no kustomize is on PATH")

    def finish(self, listed: set[str], referenced: set[str]) -> None:
        pass

    def follow(self) -> None:
        """What the Flux Kustomizations at REF applied, judged as the working tree is."""
        fluxapply.follow(self.loaded, tree=(self._is_dir, self._has_kustomization))

    def included(self, kdir: str) -> list[str]:
        return []

    def _is_dir(self, rel: str) -> bool:
        return rel == "." or rel in self.tree.dirs

    def _has_kustomization(self, rel: str) -> bool:
        return self.kustomization(rel) is not None

    def copy(self) -> Path:
        """REF's files (each up to the 8 MiB input limit) in a temporary directory that holds
        nothing else, written blob by blob as git streams them: memory holds one chunk."""
        if self.exported is None:
            self.exported = Path(
                self.stack.enter_context(tempfile.TemporaryDirectory(prefix="capa-accounts-base-"))
            )
            paths: dict[str, list[str]] = {}
            self.tree.sizes(list(self.tree.files))
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

    # --- REF's own --------------------------------------------------------------------------

    def warn(self, err: InputError | str) -> None:
        self.loaded.warnings.append(f"--base {self.ref}: {err} (at that commit; not compared)")

    def _parsed(self, path: str) -> list[yamlio.Document] | None:
        """The documents of a YAML file at REF, or None (with one warning) when it fails to read."""
        if path not in self.parsed and path in self.same:
            lent = self._lent().get(path)
            if lent is not None:
                self.parsed[path] = lent
        if path not in self.parsed:
            try:
                if self.tree.size(path) > yamlio.MAX_FILE_BYTES:
                    raise InputError("over the 8 MiB limit for YAML input", path)
                if path not in self.tree.fetched:
                    self._fetch(path)
                self.parsed[path] = yamlio.documents_from_text(self.tree.text(path), path)
            except InputError as err:
                self.warn(err)
                self.parsed[path] = None
        return self.parsed[path]

    def _lent(self) -> dict[str, list[yamlio.Document]]:
        """The documents of each file as the working tree read them: those its in-process
        kustomizations listed (``evaluate`` takes a file's documents as they are) and its
        loose files; a file whose documents are not all there (indexes 0 to n-1) is left out."""
        if self.lent is None:
            found: dict[str, dict[int, yamlio.Document]] = {}
            shared = self.shared
            for built in shared.built.values() if shared else ():
                for doc in built.documents:
                    found.setdefault(doc.file, {}).setdefault(doc.index, doc)
            self.lent = {
                path: [docs[i] for i in range(len(docs))]
                for path, docs in found.items()
                if set(docs) == set(range(len(docs)))
            }
            self.lent.update(shared.loose if shared else {})
        return self.lent

    def _fetch(self, path: str) -> None:
        """A shared file asked for after all (a kustomization beside it changed): fetched with
        the other shared files of its directory in one process; past a few such directories,
        every shared file left, so the processes stay few whatever changed."""
        self.misses += 1
        if self.misses <= FETCH_BY_DIRECTORY:
            paths = self.unfetched.pop(posixpath.dirname(path), [])
        else:
            paths = [p for near in self.unfetched.values() for p in near]
            self.unfetched.clear()
        self.tree.read([path, *paths])

    def _account_set(self) -> AccountSet | None:
        if ACCOUNTS_FILE not in self.tree.files:
            return None  # REF predates capa-accounts: objects are compared, accounts are not
        docs = self._parsed(ACCOUNTS_FILE)
        if not docs:
            return None
        try:
            return parse_account_set(docs[0], conflicts=False)
        except InputError as err:
            self.warn(err)
            return None


def _join(directory: str, name: str) -> str:
    return name if directory == "." else f"{directory}/{name}"
