"""``init``: the built-in example repository (management 111111111111, staging, live)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from capa_accounts.core import filewrite

from capa_accounts.kustomize_plugin import generated, render
from capa_accounts.core.errors import InputError
from capa_accounts.core.schema.accountset import ACCOUNT_SET

SCHEMA_FILE = "accounts.schema.json"


def example_files() -> dict[str, str]:
    """The hand-edited files of the example: accounts.yaml, base/ and the pre-commit config."""
    root = resources.files("capa_accounts.kustomize_plugin") / "example"
    files = {"accounts.yaml": (root / "accounts.yaml").read_text(encoding="utf-8"),
             ".pre-commit-config.yaml": (root / "pre-commit-config.yaml").read_text(
                 encoding="utf-8"),
             SCHEMA_FILE: schema_text()}
    for entry in sorted((root / "base").iterdir(), key=lambda e: e.name):
        files[f"base/{entry.name}"] = entry.read_text(encoding="utf-8")
    return files


def schema_text() -> str:
    return json.dumps(ACCOUNT_SET, indent=2) + "\n"


def init(directory: Path) -> int:
    """Write the example into an empty or new directory and render it; returns files written.

    Only a new or empty directory is written to, so no file of the new repository can be a
    symlink leading out of it (the repository is DIRECTORY itself, wherever the user put it).
    """
    try:
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise InputError("exists and is not empty: init writes only into a new or empty "
                             "directory", str(directory))
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the directory: {err.strerror or err}",
                         str(directory)) from err
    files = example_files()
    filewrite.write_all((directory / rel, text, rel) for rel, text in files.items())
    todo = generated.changes(directory, render.plan(directory))
    generated.apply(directory, todo)
    return len(files) + len(todo)
