"""``init``: the built-in example repository (management 111111111111, staging, live)."""

from __future__ import annotations

import json
import os
import tempfile
from importlib import resources
from pathlib import Path

from capa_accounts.core import filewrite, version
from capa_accounts.core.errors import InputError
from capa_accounts.core.schema.accountset import ACCOUNT_SET
from capa_accounts.kustomize_plugin import generated, render

SCHEMA_FILE = "accounts.schema.json"


def example_files() -> dict[str, str]:
    """The hand-edited files of the example: accounts.yaml, base/ and the pre-commit config."""
    root = resources.files("capa_accounts.kustomize_plugin") / "example"
    files = {
        "accounts.yaml": (root / "accounts.yaml").read_text(encoding="utf-8"),
        ".pre-commit-config.yaml": pre_commit_config(),
        SCHEMA_FILE: schema_text(),
    }
    for entry in sorted((root / "base").iterdir(), key=lambda e: e.name):
        files[f"base/{entry.name}"] = entry.read_text(encoding="utf-8")
    return files


def pre_commit_config(tag: str | None = None) -> str:
    """The pre-commit config ``init`` writes, pinned to ``tag`` (default: the release tag of
    the running capa-accounts, so that the hooks check as the tool that wrote the repository)."""
    root = resources.files("capa_accounts.kustomize_plugin") / "example"
    text = (root / "pre-commit-config.yaml").read_text(encoding="utf-8")
    return text.replace("{release_tag}", tag or version.release_tag())


def schema_text() -> str:
    return json.dumps(ACCOUNT_SET, indent=2) + "\n"


def init(directory: Path) -> int:
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
    files = rendered_example()
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
    filewrite.write_all((directory / rel, text, rel) for rel, text in files.items())
    return len(files)


def rendered_example() -> dict[str, str]:
    """Every file of the example repository, hand-edited and rendered, in write order (listed
    files before the kustomizations that list them), made in a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="capa-accounts-init-") as scratch:
        repo = Path(scratch)
        files = example_files()
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
