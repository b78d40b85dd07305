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
import hashlib
import posixpath
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from capa_accounts.core import git, yamlio
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
    skipped_dir,
)
from capa_accounts.hooks.git.read import cat_file, stream_blobs

GIT_TIMEOUT = 120
# git's tree entry modes (Documentation/git-fast-import.txt, "filemodify"); 160000 is a
# submodule commit, which has no blob in this repository.
SYMLINK_MODE = "120000"
FILE_MODES = ("100644", "100755")
# What REF's YAML files may hold together. Composed YAML costs tens of times its size in
# memory: 64 MiB of YAML is already a fleet far beyond the largest the benchmarks measure.
MAX_BASE_BYTES = 64 << 20
UNKNOWN = -1  # a blob's size not asked for yet (Tree.size)
FETCH_BY_DIRECTORY = 8  # git processes for shared files before the rest is fetched at once


@dataclass
class Tree:
    """REF's files below the repository directory: paths, blob ids, sizes; contents on demand."""

    root: Path
    # path -> (blob, size); a size is UNKNOWN until asked for (``size``): ``ls-tree -l`` would
    # read every object's header, the work tree's texts give most sizes for nothing.
    files: dict[str, tuple[str, int]] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)  # path -> blob holding the target
    dirs: set[str] = field(default_factory=set)
    contents: dict[str, bytes] = field(default_factory=dict)  # blob id -> bytes read
    fetched: set[str] = field(default_factory=set)  # paths whose blob was asked for

    def read(self, paths: list[str]) -> None:
        """Fetch the blobs of ``paths`` (not yet read) with one ``git cat-file --batch``."""
        wanted = sorted({self.files[p][0] for p in paths if p in self.files} - set(self.contents))
        self.contents.update(cat_file(self.root, wanted))
        self.fetched.update(paths)

    def size(self, path: str) -> int:
        """The size of ``path``'s blob; the first unknown one asks git for every unknown size
        at once (one ``git cat-file --batch-check``)."""
        blob, size = self.files[path]
        if size == UNKNOWN:
            self.sizes([p for p, (_b, n) in self.files.items() if n == UNKNOWN])
            size = self.files[path][1]
        return size

    def sizes(self, paths: list[str]) -> None:
        blobs = sorted({self.files[p][0] for p in paths if self.files[p][1] == UNKNOWN})
        if not blobs:
            return
        done = _git(
            self.root, "cat-file", "--batch-check", stdin="".join(f"{b}\n" for b in blobs).encode()
        )
        if done.returncode != 0:  # a missing object of a partial clone stops git there
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            raise GitError(
                f"objects of that commit are not in this partial clone ({'; '.join(said)}); "
                "check never fetches: run `git fetch` for them first",
                "--base",
            )
        found = {}
        for line in done.stdout.decode("ascii", "replace").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[2].isdigit():
                found[parts[0]] = int(parts[2])
        for path, (blob, size) in list(self.files.items()):
            if size == UNKNOWN and blob in found:
                self.files[path] = (blob, found[blob])
        missing = [b for b in blobs if b not in found]
        if missing:
            raise GitError(
                f"{len(missing)} object(s) of that commit are not in this partial clone "
                f"({', '.join(missing[:5])}); check never fetches: run `git fetch` for them first",
                "--base",
            )

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
    partial = _refuse_missing(root, commit)
    listing = _git(root, "ls-tree", "-r", "-z", "--full-tree", treeish)
    if listing.returncode != 0:
        if b"promisor" in listing.stderr or b"missing" in listing.stderr:
            raise GitError(
                "its tree is not in this partial clone; check never fetches (run "
                "`git fetch` for that commit first)",
                f"--base {commit}",
            )
        return tree  # the repository directory did not exist yet at REF: an empty state
    kept: dict[str, bool] = {"": True}  # directory -> whether its files are read
    for entry in listing.stdout.split(b"\0"):
        if not entry:
            continue
        head, _, raw_path = entry.partition(b"\t")
        mode, _kind, blob = head.split()
        path = raw_path.decode("utf-8", "replace")
        directory, _, name = path.rpartition("/")
        if name in ("", ".", "..", ".git") or not _kept_dir(directory, kept):
            continue
        if mode.decode() in FILE_MODES:
            tree.files[path] = (blob.decode(), UNKNOWN)
        elif mode.decode() == SYMLINK_MODE:
            tree.symlinks[path] = blob.decode()
        else:
            continue
        while directory and directory not in tree.dirs:  # the directories that hold a file
            tree.dirs.add(directory)
            directory = directory.rpartition("/")[0]
    _follow_symlinks(tree)
    if partial:  # every blob present, or stop naming the missing ones (never fetched)
        tree.sizes(list(tree.files))
    return tree


def _kept_dir(directory: str, kept: dict[str, bool]) -> bool:
    """Whether files in ``directory`` are read: none of its names is one git refuses to check
    out (fsck's badTree: never a path) and none is a directory walk_files skips (a top-level
    build/, never overlays/build/). Judged once per directory."""
    if directory not in kept:
        parent, _, name = directory.rpartition("/")
        kept[directory] = (
            name not in ("", ".", "..", ".git")
            and _kept_dir(parent, kept)
            and not skipped_dir(directory)
        )
    return kept[directory]


def _refuse_missing(root: Path, commit: str) -> bool:
    """A partial clone may lack REF's objects: name them and stop (exit 2), never fetch them.
    ``rev-list --missing=print`` lists them without fetching (git
    Documentation/rev-list-options)."""
    # A partial clone names its promisor remote: extensions.partialClone (older git) or
    # remote.<name>.promisor (git Documentation/technical/partial-clone.txt).
    partial = _git(
        root, "config", "--get-regexp", r"^(extensions\.partialclone|remote\..*\.promisor)$"
    )
    values = [line.split(maxsplit=1)[1:] for line in partial.stdout.decode().splitlines()]
    if partial.returncode != 0 or not any(v and v[0].lower() != "false" for v in values):
        return False
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
    return True


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


def same_files(tree: Tree, shared: Loaded | None, paths: list[str]) -> set[str]:
    """The ``paths`` whose blob at REF holds exactly the text the working tree was read as.

    A blob id is the hash of ``blob <size>\\0`` and the bytes (git's object format,
    Documentation/technical/hash-function-transition.txt); the text was decoded from the file's
    bytes (``yamlio.decode``: UTF-8, a leading BOM dropped), so re-encoding a text that starts
    with no BOM gives back those bytes whenever it can match at all."""
    if shared is None:
        return set()
    same = set()
    for path in paths:
        text = shared.texts.get(path)
        if text is None or text.startswith("\ufeff"):
            continue
        blob = tree.files[path][0]
        raw = text.encode("utf-8")
        digest = hashlib.sha1 if len(blob) == 40 else hashlib.sha256  # noqa: S324 - git's id
        if digest(b"blob %d\0" % len(raw) + raw).hexdigest() == blob:
            same.add(path)
            tree.files[path] = (blob, len(raw))
    return same


def _join(directory: str, name: str) -> str:
    return name if directory == "." else f"{directory}/{name}"
