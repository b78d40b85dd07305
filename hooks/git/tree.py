"""REF's tree for ``check --base``: one ``git ls-tree`` (paths and blob ids, no sizes), the
sizes git is asked for only where they are needed, and which files REF shares byte for byte
with the working tree as check read it (``same_files``). Every git call goes through the
project's hardened runner (``capa_accounts.core.git``) and never fetches: a partial clone's
missing objects are named and check stops.
"""

from __future__ import annotations

import hashlib
import posixpath
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from capa_accounts.core import git, yamlio
from capa_accounts.core.errors import GitError, InputError
from capa_accounts.hooks.check.loaded import Loaded, skipped_dir
from capa_accounts.hooks.git.read import cat_file

GIT_TIMEOUT = 120
# git's tree entry modes (Documentation/git-fast-import.txt, "filemodify"); 160000 is a
# submodule commit, which has no blob in this repository.
SYMLINK_MODE = "120000"
FILE_MODES = ("100644", "100755")
UNKNOWN = -1  # a blob's size not asked for yet (Tree.size)


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
