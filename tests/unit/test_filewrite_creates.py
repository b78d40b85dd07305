"""A file render found absent is created only if it is still absent when put in place: what
appears meanwhile is never replaced, and the batch puts back everything else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capa_accounts.core import filewrite
from capa_accounts.core.errors import RenderError


def test_a_create_puts_the_new_file_in_place(tmp_path: Path) -> None:
    new = tmp_path / "deep" / "er" / "new.yaml"
    with filewrite.stage([(new, "kind: A\n", "new.yaml")], creates=[new]) as staged:
        staged.commit(new)
    assert new.read_text() == "kind: A\n"
    assert sorted(p.name for p in new.parent.iterdir()) == ["new.yaml"]  # no temporary left


def test_a_file_that_appeared_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    kept = tmp_path / "kept.yaml"
    kept.write_text("old\n")
    new = tmp_path / "sub" / "new.yaml"
    with (
        pytest.raises(RenderError, match="appeared while render was writing"),
        filewrite.stage(
            [(kept, "changed\n", "kept.yaml"), (new, "render's\n", "sub/new.yaml")], creates=[new]
        ) as staged,
    ):
        staged.commit(kept)
        new.write_text("the user's\n")  # between the plan and the commit
        staged.commit(new)
    assert new.read_text() == "the user's\n"
    assert kept.read_text() == "old\n"  # the batch was put back
    assert not [p for p in tmp_path.rglob("*") if filewrite.is_temporary(p.name)]


def test_an_update_keeps_the_mode_a_create_takes_the_default(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("old\n")
    script.chmod(0o750)
    new = tmp_path / "new.yaml"
    with filewrite.stage(
        [(script, "new\n", "run.sh"), (new, "kind: A\n", "new.yaml")], creates=[new]
    ) as staged:
        staged.commit(script)
        staged.commit(new)
    assert script.stat().st_mode & 0o777 == 0o750
    umask = os.umask(0)
    os.umask(umask)
    assert new.stat().st_mode & 0o777 == 0o666 & ~umask
