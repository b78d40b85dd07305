"""Render's plan for ``check``, kept between runs in the user's cache directory.

``check`` compares the tree with render's plan (CAPA-R001) and reads render's documents for
every file whose text is render's; planning a large fleet costs more than the rest of a check.
A plan depends only on the tool's code and on files it reads, so it is kept with what it read
and reused only when all of that is byte for byte the same:

- the tool: its version (the generated header names it) and the SHA-256 of every source
  file of ``capa_accounts.core`` and of this package;
- the inputs: accounts.yaml, every file render's kustomization evaluator read under ``base/``
  (``Built.files``), the names in each directory those files are in (a file added beside
  them, such as a second kustomization file, is a change), and ``.sourceignore``; none may be
  a symbolic link;
- the fleet's Flux source prefix (where the repository sits in its git work tree).

Render's warnings about hand-written files in the overlays read the tree, not the inputs:
they are left out of the entry and made anew on every read.

Nothing is read from the repository: the entry lives in ``$CAPA_ACCOUNTS_CACHE_DIR``, else
``$XDG_CACHE_HOME/capa-accounts`` (``~/.cache/capa-accounts``), one file per repository
path, written atomically; an entry that is not the current user's own, is writable by others,
or sits inside the repository is ignored, so a pull request cannot plant a plan. Operator
mode, whose plan also depends on which providers have their credentials file, and fleets under
``MIN_ACCOUNTS`` are always planned afresh. ``CAPA_ACCOUNTS_NO_CACHE=1`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from capa_accounts.core import kustomization, version
from capa_accounts.core.model import OPERATOR, AccountSet
from capa_accounts.kustomize_plugin import seen
from capa_accounts.kustomize_plugin.cache_files import cache_dir, owned, owned_dir, replace
from capa_accounts.kustomize_plugin.plan import Plan

MIN_ACCOUNTS = 200  # below this, planning costs about as much as reading an entry
FORMAT = 3  # 2: the entry's token (kustomize_plugin/seen.py); 3: documents apart


def _tool() -> str:
    import capa_accounts.core
    import capa_accounts.kustomize_plugin

    # The version too: a release changes the generated header without changing any source.
    return code_digest(
        f"{FORMAT}\0{version.version()}", capa_accounts.core, capa_accounts.kustomize_plugin
    )


def code_digest(salt: str, *packages: Any) -> str:
    """What a kept result was computed by, so that other code computes it anew: the SHA-256
    of every source file of ``packages`` by its name and what ``lstat`` says of it (inode,
    device, size, modification and change time). Editing, replacing or reinstalling a file
    changes its change time, which no system call sets back (kustomize_plugin/seen.py), so
    this tells any other code apart without reading 140 files on every run."""
    digest = hashlib.sha256(salt.encode())
    for package in packages:
        root = os.path.dirname(str(package.__file__))
        for directory, subdirectories, names in os.walk(root):
            subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
            for name in sorted(n for n in names if n.endswith(".py")):
                path = os.path.join(directory, name)
                info = os.lstat(path)
                fields = (info.st_ino, info.st_dev, info.st_size)
                times = (info.st_mtime_ns, info.st_ctime_ns)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                digest.update(f"{rel}\0{fields}{times}\0".encode())
    return digest.hexdigest()


def _digest(path: Path) -> str | None:
    """The file's SHA-256; None when absent; "" (never a digest) for a link or a non-file."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(directory: Path) -> list[str] | None:
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return None


def _inputs(top: Path, files: list[str], prefix: str) -> dict[str, Any]:
    read = sorted({"accounts.yaml", ".sourceignore", *files})
    directories = sorted({str(Path(f).parent.as_posix()) for f in files})
    return {
        "files": {rel: _digest(top / rel) for rel in read},
        "directories": {d: _listing(top / d) for d in directories},
        "prefix": prefix,
    }


def _seen_path(entry: Path) -> Path:
    """Where the files known to hold the entry's text are kept (kustomize_plugin/seen.py)."""
    return entry.with_name(entry.stem + ".seen.json")


def _entry_path(directory: Path, top: Path, tool: str) -> Path:
    name = hashlib.sha256(f"{tool}\0{top}".encode()).hexdigest()
    return directory / f"plan-{name}.json"


def _documents_path(entry: Path) -> Path:
    """Where the entry's documents are kept: apart, since only ``check`` reads them (decoding
    them is most of the cost of reading an entry)."""
    return entry.with_name(entry.stem + ".documents.json")


def _read(
    path: Path, top: Path, prefix: str, documents: bool = True
) -> tuple[Plan, dict[str, Any]] | None:
    """The entry's plan, and the entry, when nothing the plan was made from changed; without
    ``documents``, the plan's documents are left unread (empty)."""
    if not owned(path) or not owned_dir(path.parent):
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        saved = entry["inputs"]
        if saved["prefix"] != prefix:
            return None
        if _inputs(top, [f for f in saved["files"] if f not in _FIXED], prefix) != saved:
            return None
        plan = entry["plan"]
        token = entry.get("token")
        if not isinstance(token, str):
            return None
        docs: dict[str, Any] = {}
        if documents:
            where = _documents_path(path)
            kept = json.loads(where.read_text(encoding="utf-8")) if owned(where) else {}
            if kept.get("token") != token or not isinstance(kept.get("documents"), dict):
                return None
            docs = kept["documents"]
        return Plan(
            files=plan["files"],
            warnings=plan["warnings"],
            documents=docs,
            merged=set(plan["merged"]),
            managed=tuple(plan["managed"]),
            flux_dir=plan["flux_dir"],
        ), entry
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _verified(entry: dict[str, Any], key: str) -> frozenset[str] | None:
    """The files the entry says ``check`` (its code hashed as ``key``) found nothing in."""
    kept = entry.get("verified")
    if not isinstance(kept, dict) or kept.get("key") != key:
        return None
    files = kept.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return frozenset(files)


def _carried(path: Path, plan: Plan) -> tuple[dict[str, Any], dict[str, Any]]:
    """The verdicts of the entry at ``path`` (another plan of the same repository) for the
    files ``plan`` writes with the same text, marked partial: the rest is judged when
    ``check`` next reads the entry; and that entry's token and planned files (whose kept
    ``seen`` fields hold for the files whose text is the same)."""
    if not owned(path) or not owned_dir(path.parent):
        return {}, {}
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        files = entry["plan"]["files"]
        old = {"token": entry.get("token"), "files": files if isinstance(files, dict) else {}}
        kept = entry["verified"]
        carried = [f for f in kept["files"] if f in plan.files and files.get(f) == plan.files[f]]
        return {"key": kept["key"], "files": carried, "partial": True}, old
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}, {}


_FIXED = ("accounts.yaml", ".sourceignore")


def _write(
    path: Path, plan: Plan, inputs: dict[str, Any], verified: dict[str, Any], token: str
) -> None:
    stored = {
        "files": plan.files,
        "warnings": plan.warnings,
        "merged": sorted(plan.merged),
        "managed": list(plan.managed),
        "flux_dir": plan.flux_dir,
    }
    entry = {"inputs": inputs, "plan": stored, "verified": verified, "token": token}
    text = json.dumps(entry, separators=(",", ":"))
    documents = json.dumps({"token": token, "documents": plan.documents}, separators=(",", ":"))
    if json.loads(documents)["documents"] != plan.documents:
        return  # documents JSON cannot hold as they are (a key that is not a string)
    replace(_documents_path(path), documents)  # first: an entry never names missing ones
    replace(path, text)


# What ``check`` found nothing in, for the rules that judge a file alone: the key (asked only
# when an entry is read or written) hashes the code that judged, so that a later version
# judges again; the function judges a plan's files, those it is given as judged already
# (their text unchanged since) excepted.
Verifier = tuple[Callable[[], str], Callable[[Plan, frozenset[str]], Iterable[str]]]


def cached_plan(
    repo: Path,
    account_set: AccountSet,
    verifier: Verifier | None = None,
    *,
    documents: bool = True,
) -> Plan:
    """Render's plan of ``repo``, from the cache when nothing it depends on changed.

    With ``verifier``, the plan's ``verified`` files are those the verifier found nothing in,
    judged once per plan and code and kept in the entry: ``check`` does not judge render's
    own output again while neither changes. Without ``documents`` (render, which compares and
    writes text only) a kept plan's documents are not read."""
    from capa_accounts.kustomize_plugin import render

    directory = cache_dir()
    top = repo.resolve()
    if (
        directory is None
        or account_set.credentials == OPERATOR
        or len(account_set.accounts) < MIN_ACCOUNTS
        or directory.resolve().is_relative_to(top)
    ):
        return render.plan(repo, account_set)
    prefix = render.source_prefix(repo, account_set)
    tool = _tool()
    path = _entry_path(directory, top, tool)
    found = _read(path, top, prefix, documents or verifier is not None)
    if found is not None:
        plan, entry = found
        if verifier is not None:
            key = verifier[0]()
            known = _verified(entry, key)
            plan.kept = known or frozenset()  # judged by an earlier run
            if known is None or entry["verified"].get("partial"):
                known = frozenset(verifier[1](plan, known or frozenset()))
                entry["verified"] = {"key": key, "files": sorted(known)}
                with contextlib.suppress(OSError):
                    replace(path, json.dumps(entry, separators=(",", ":")))
            plan.verified = known
        plan.seen = seen.read(_seen_path(path), entry["token"])
        # What render says of hand-written files in the overlays is read from the tree anew.
        plan.warnings += render._unlisted_warnings(repo, list(account_set.accounts), plan)
        return plan
    before = _inputs(top, kustomization.build(repo, repo / "base").files, prefix)
    plan = render.plan(repo, account_set)
    # Kept only when nothing it read changed while it was made.
    if _inputs(top, kustomization.build(repo, repo / "base").files, prefix) == before:
        unlisted = set(render._unlisted_warnings(repo, list(account_set.accounts), plan))
        kept = Plan(
            files=plan.files,
            warnings=[w for w in plan.warnings if w not in unlisted],
            documents=plan.documents,
            merged=plan.merged,
            managed=plan.managed,
            flux_dir=plan.flux_dir,
        )
        # The verdicts of the entry this one replaces hold for every file whose text is the
        # same: a render after a change to one account keeps them for the others.
        verified, old = _carried(path, plan)
        if verifier is not None:
            key = verifier[0]()
            known = frozenset(verified["files"]) if verified.get("key") == key else frozenset()
            plan.kept = known
            plan.verified = frozenset(verifier[1](plan, known))
            verified = {"key": key, "files": sorted(plan.verified)}
        token = os.urandom(16).hex()
        before_seen = seen.read(_seen_path(path), old.get("token", ""))
        plan.seen = seen.carried(before_seen, plan.files, old.get("files", {}), token)
        # A read-only or full cache directory: the next check plans again.
        with contextlib.suppress(OSError):
            _write(path, kept, before, verified, token)
    return plan
