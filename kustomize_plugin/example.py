"""``init``: the built-in example repository (management 111111111111, staging, live)."""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path

from capa_accounts.core import filewrite, lock, version
from capa_accounts.core.errors import InputError
from capa_accounts.core.schema import published
from capa_accounts.kustomize_plugin import generated, render

SCHEMA_FILE = published.SCHEMA_FILE
GITIGNORE = ".gitignore"
HOOKS = ("remote", "local")
# What a command leaves in the work tree only while it runs (core.lock, core.filewrite): never
# to be committed, even by a `git add -A` during a render.
IGNORED = (lock.LOCK_FILE, filewrite.TMP_PATTERN)
_IGNORE_HEADER = "# capa-accounts: the repository's lock and the temporary files of a write"


def example_files(hooks: str = "remote") -> dict[str, str]:
    """The hand-edited files of the example: accounts.yaml, base/ and the pre-commit config."""
    root = resources.files("capa_accounts.kustomize_plugin") / "example"
    files = {
        "accounts.yaml": (root / "accounts.yaml").read_text(encoding="utf-8"),
        ".pre-commit-config.yaml": pre_commit_config(hooks=hooks),
        SCHEMA_FILE: schema_text(),
    }
    for entry in sorted((root / "base").iterdir(), key=lambda e: e.name):
        files[f"base/{entry.name}"] = entry.read_text(encoding="utf-8")
    return files


def pre_commit_config(tag: str | None = None, hooks: str = "remote") -> str:
    """The pre-commit config ``init`` writes. ``remote``: this project's hooks pinned to ``tag``
    (default: what the running capa-accounts was installed from, ``version.hook_rev``, so that
    the hooks check as the tool that wrote the repository). ``local``: ``repo: local`` hooks
    that run the capa-accounts on PATH, with no network at all."""
    root = resources.files("capa_accounts.kustomize_plugin") / "example"
    if hooks == "local":
        return (root / "pre-commit-config-local.yaml").read_text(encoding="utf-8")
    text = (root / "pre-commit-config.yaml").read_text(encoding="utf-8")
    rev, note = version.hook_rev()
    if tag is not None:
        rev, note = tag, "the release of capa-accounts that wrote this repository"
    return text.replace("{release_tag}", rev).replace("{rev_note}", note)


def gitignore(existing: str = "") -> str | None:
    """``existing`` with the names of ``IGNORED`` it lacks appended; None when it has them."""
    have = {line.strip() for line in existing.splitlines()}
    missing = [name for name in IGNORED if name not in have]
    if not missing:
        return None
    head = existing if not existing or existing.endswith("\n") else existing + "\n"
    return head + "\n".join([_IGNORE_HEADER, *missing]) + "\n"


def schema_text() -> str:
    return published.text()


def init(directory: Path, hooks: str = "remote") -> int:
    """Write the example into ``directory`` and render it; returns the number of files written.

    ``directory`` is new, empty, or the top of an existing git repository (it holds ``.git``).
    In a repository, no file is touched but those init writes, and init refuses (writing
    nothing) when any top-level name it would write exists already (``accounts.yaml``,
    ``base/``, ``overlays/``, ...), so no file of the example can be a symlink leading out of
    the repository or a hand-written file render would overwrite.
    """
    try:
        existing = directory.exists()
        if existing and not directory.is_dir():
            raise InputError("exists and is not a directory", str(directory))
        if existing and any(directory.iterdir()) and not os.path.lexists(directory / ".git"):
            raise InputError(
                "exists, is not empty and is not the top of a git repository: init "
                "writes into a new or empty directory, or beside .git",
                str(directory),
            )
    except OSError as err:
        raise InputError(
            f"cannot read the directory: {err.strerror or err}", str(directory)
        ) from err
    files = rendered_example(hooks)
    taken = sorted(
        {rel.split("/", 1)[0] for rel in files if os.path.lexists(directory / rel.split("/", 1)[0])}
    )
    if taken:
        raise InputError(
            f"{', '.join(taken)} already exist{'s' if len(taken) == 1 else ''}: "
            "init writes only files that are not there, and nothing was written",
            str(directory),
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(
            f"cannot create the directory: {err.strerror or err}", str(directory)
        ) from err
    ignore = _gitignore_of(directory)
    if ignore is not None:
        files[GITIGNORE] = ignore
    filewrite.write_all((directory / rel, text, rel) for rel, text in files.items())
    return len(files)


def _gitignore_of(directory: Path) -> str | None:
    """The .gitignore init writes: the repository's own with the names it lacks appended (the
    one file init changes rather than only adds), or a new one."""
    path = directory / GITIGNORE
    if path.is_symlink() or (os.path.lexists(path) and not path.is_file()):
        raise InputError("is not a regular file: init adds its names to it", GITIGNORE)
    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read it: {err}", GITIGNORE) from err
    return gitignore(existing)


def rendered_example(hooks: str = "remote") -> dict[str, str]:
    """Every file of the example repository, hand-edited and rendered, in write order (listed
    files before the kustomizations that list them), made in a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="capa-accounts-init-") as scratch:
        repo = Path(scratch)
        files = example_files(hooks)
        filewrite.write_all((repo / rel, text, rel) for rel, text in files.items())
        todo = generated.changes(repo, render.plan(repo))
        generated.apply(repo, todo)
        rendered = {
            c.path: (repo / c.path).read_text(encoding="utf-8")
            for c in todo
            if c.action != "delete"
        }
    return dict(
        sorted({**files, **rendered}.items(), key=lambda kv: kv[0].endswith("kustomization.yaml"))
    )


def next_steps(directory: Path, hooks: str) -> str:
    """What to do after ``init``, as it prints them."""
    cd = "" if directory == Path(".") else f"  cd {directory}\n"
    where = (
        "repo: local hooks run the capa-accounts on PATH (no network)"
        if hooks == "local"
        else "the hooks come from the pinned rev (pre-commit fetches it once)"
    )
    return (
        "next steps:\n"
        f"{cd}"
        "  $EDITOR accounts.yaml              # your management and target accounts\n"
        "  capa-accounts render && capa-accounts check\n"
        f"  pip install pre-commit && pre-commit install   # {where}\n"
        '  git add -A && git commit -m "capa-accounts"\n'
    )
