"""Shared by the hostile-input tests: invoking the command line as a user does, one-line
errors, snapshots of a repository, a file outside it."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner, Result

from capa_accounts.cli import main

runner = CliRunner()
GiB = 1 << 30
BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)
)
DEEP = "a: " + "[" * 20_000 + "]" * 20_000 + "\n"
OUTSIDE_TEXT = "root:x:0:0:outside-marker:/root:/bin/bash\n"
# Every command that reads accounts.yaml.
COMMANDS = [
    ("check",),
    ("render",),
    ("render", "--check"),
    ("add-account", "qa", "--account-id", "444444444444", "--region", "eu-west-1"),
]


def invoke(*args: str, stdin: bytes | None = None) -> Result:
    result = runner.invoke(main, list(args), input=stdin, catch_exceptions=True)
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), (exc, result.output)
    assert "Traceback" not in result.output
    return result


def assert_one_line_error(result: Result, where: str, message: str, code: int = 2) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(where), lines[0]
    assert message in lines[0], lines[0]


def snapshot(repo: Path) -> dict[str, bytes | str]:
    return {
        p.relative_to(repo).as_posix(): (os.readlink(p) if p.is_symlink() else p.read_bytes())
        for p in sorted(repo.rglob("*"))
        if p.is_symlink() or p.is_file()
    }


def outside_file(tmp_path: Path, text: str = OUTSIDE_TEXT, name: str = "passwd") -> Path:
    path = tmp_path / "outside" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
