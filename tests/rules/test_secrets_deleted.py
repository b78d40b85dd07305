"""A tracked file that render deleted is not a file the credential scan failed to read."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner
from conftest import edit
from gitrepo import LIVE_ACCOUNT, commit, rerender

from capa_accounts.cli import main

runner = CliRunner()


def test_files_render_deleted_are_not_reported_unscanned(committed: Path) -> None:
    edit(committed / "accounts.yaml", LIVE_ACCOUNT, "")
    rerender(committed)
    assert not (committed / "overlays/live/kustomization.yaml").exists()  # tracked, deleted
    result = runner.invoke(main, ["check", "--repo", str(committed)])
    assert "not scanned for credentials" not in result.stderr, result.stderr


def test_a_tracked_path_that_is_no_regular_file_is_still_reported(
    committed: Path,
) -> None:
    """Near miss: the path exists, but is a FIFO the scan will not read."""
    (committed / "notes.txt").write_text("tracked\n", encoding="utf-8")
    commit(committed, "notes")
    (committed / "notes.txt").unlink()
    os.mkfifo(committed / "notes.txt")
    result = runner.invoke(main, ["check", "--repo", str(committed)])
    assert "notes.txt: not scanned for credentials: not a regular file" in result.stderr
