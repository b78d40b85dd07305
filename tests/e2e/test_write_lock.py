"""One writer at a time: render and add-account take the repository's lock, check waits for it.

Real processes race here: two add-account runs started together, two renders, checks during a
render. A holder that keeps the lock is a process that takes it with ``core.lock`` and waits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_write_transaction import _render_fleet, _unshare_mount_works, snapshot

from capa_accounts.cli import main
from capa_accounts.core.accounts_file import load_account_set
from capa_accounts.core.filewrite import TMP_PATTERN, TMP_SUFFIX
from capa_accounts.core.lock import LOCK_FILE, LOCK_TIMEOUT_ENV

runner = CliRunner()
PROJECT = Path(__file__).resolve().parents[2]
HOLD = """
import sys, time
from pathlib import Path
from capa_accounts.core import lock
with lock.locked(Path(sys.argv[1]), sys.argv[2], shared=sys.argv[3] == "shared"):
    print("held", flush=True)
    time.sleep(float(sys.argv[4]))
"""


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "capa_accounts.cli", *args]


def hold(repo: Path, command: str, seconds: float, mode: str = "exclusive") -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(repo), command, mode, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def test_a_held_lock_makes_a_writer_exit_2_naming_the_holder(example_repo: Path) -> None:
    holder = hold(example_repo, "render", 30)
    try:
        before = snapshot(example_repo)
        started = time.monotonic()
        result = subprocess.run(
            cli(
                "add-account",
                "qa",
                "--account-id",
                "444444444444",
                "--region",
                "eu-west-1",
                "--repo",
                str(example_repo),
            ),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, LOCK_TIMEOUT_ENV: "0.5"},
        )
        assert result.returncode == 2
        assert result.stderr == (
            f"capa-accounts: {LOCK_FILE}: locked by pid {holder.pid} "
            f"(capa-accounts render): gave up after 0.5 s "
            f"({LOCK_TIMEOUT_ENV})\n"
        )
        assert time.monotonic() - started >= 0.5
        assert snapshot(example_repo) == before
    finally:
        holder.kill()
        holder.wait()


def test_a_writer_waits_for_a_lock_released_in_time(example_repo: Path) -> None:
    """The near miss: the holder lets go within the timeout, the writer goes on."""
    holder = hold(example_repo, "render", 0.5)
    result = subprocess.run(
        cli(
            "add-account",
            "qa",
            "--account-id",
            "444444444444",
            "--region",
            "eu-west-1",
            "--repo",
            str(example_repo),
        ),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, LOCK_TIMEOUT_ENV: "20"},
    )
    holder.wait()
    assert result.returncode == 0, result.stderr
    assert not (example_repo / LOCK_FILE).exists()


def test_a_reader_holding_the_lock_is_named_too(example_repo: Path) -> None:
    holder = hold(example_repo, "check", 30, "shared")
    try:
        result = runner.invoke(
            main, ["render", "--repo", str(example_repo)], env={LOCK_TIMEOUT_ENV: "0.2"}
        )
        assert result.exit_code == 2
        assert "locked by a command reading the repository" in result.stderr
        # Readers share it.
        shared = runner.invoke(
            main, ["render", "--check", "--repo", str(example_repo)], env={LOCK_TIMEOUT_ENV: "0.2"}
        )
        assert shared.exit_code == 0, shared.output
    finally:
        holder.kill()
        holder.wait()


def test_two_add_accounts_at_once_both_land(example_repo: Path, tmp_path: Path) -> None:
    """Before, both read the same accounts.yaml and exited 0 with only one account in it."""
    for attempt in range(3):
        repo = tmp_path / f"repo-{attempt}"
        shutil.copytree(example_repo, repo)
        procs = [
            subprocess.Popen(
                cli(
                    "add-account",
                    name,
                    "--account-id",
                    account_id,
                    "--region",
                    "eu-west-1",
                    "--repo",
                    str(repo),
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, account_id in (("qa", "444444444444"), ("dev", "555555555555"))
        ]
        results = [proc.communicate(timeout=120) for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0], results
        names = [a.name for a in load_account_set(repo).accounts]
        assert sorted(names) == ["dev", "live", "qa", "staging"], names
        assert runner.invoke(main, ["render", "--check", "--repo", str(repo)]).exit_code == 0
        assert not (repo / LOCK_FILE).exists()


def test_two_renders_at_once_both_succeed_and_leave_the_new_tree(
    example_repo: Path, tmp_path: Path
) -> None:
    _render_fleet(example_repo, 30)
    expected = tmp_path / "expected"
    shutil.copytree(example_repo, expected)
    assert runner.invoke(main, ["render", "--repo", str(expected)]).exit_code == 0
    procs = [
        subprocess.Popen(
            cli("render", "--repo", str(example_repo)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], results
    assert snapshot(example_repo) == snapshot(expected)


def test_check_during_a_render_reads_a_consistent_tree(example_repo: Path) -> None:
    """Each check either ran before the render began or after it ended: the findings are those
    of the old tree (drift, R001) or the new (none), never 'no such file' (exit 2)."""
    _render_fleet(example_repo, 30)
    render = subprocess.Popen(
        cli("render", "--repo", str(example_repo)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    codes = []
    while render.poll() is None or not codes:
        result = subprocess.run(
            cli("check", "--repo", str(example_repo)), capture_output=True, text=True, check=False
        )
        assert result.returncode in (0, 1), result.stderr
        assert "no such file" not in result.stdout + result.stderr
        assert TMP_SUFFIX not in result.stdout
        codes.append(result.returncode)
    assert render.wait() == 0
    final = subprocess.run(
        cli("check", "--repo", str(example_repo)), capture_output=True, text=True, check=False
    )
    assert final.returncode == 0, final.stdout


def test_a_lock_file_left_by_a_killed_command_does_not_block(example_repo: Path) -> None:
    (example_repo / LOCK_FILE).write_text("pid 99999999 (capa-accounts render)\n")
    result = runner.invoke(
        main, ["render", "--repo", str(example_repo)], env={LOCK_TIMEOUT_ENV: "0.2"}
    )
    assert (result.exit_code, result.output) == (0, "up to date\n")
    assert not (example_repo / LOCK_FILE).exists()


def test_a_symlink_planted_as_the_lock_file_is_not_followed(
    example_repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.write_text("keep\n")
    (example_repo / LOCK_FILE).symlink_to(outside)
    result = runner.invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"capa-accounts: {LOCK_FILE}: is a symlink: refused as the repository's lock file\n"
    )
    assert outside.read_text() == "keep\n"


def test_the_docs_name_the_temporary_and_lock_file_names() -> None:
    reliability = (PROJECT / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert f"`{TMP_PATTERN}`" in reliability and f"`{LOCK_FILE}`" in reliability


READ_ONLY = """
set -e
mount -t tmpfs tmpfs "$MNT"
cp -a "$SRC" "$MNT/repo"
mount -o remount,ro "$MNT"
set +e
"$PY" -m capa_accounts.cli "$@" --repo "$MNT/repo"
"""


@pytest.mark.skipif(
    not _unshare_mount_works(), reason="cannot mount a tmpfs in a private mount namespace"
)
@pytest.mark.parametrize("command", [["check"], ["render", "--check"], ["render"]])
def test_a_read_only_checkout_is_read_without_the_lock(
    example_repo: Path, tmp_path: Path, command: list[str]
) -> None:
    """No lock file can be created where nothing can be written: the readers read anyway (and
    a writer has nothing to wait for: it fails as it would, exit 2, at the lock)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    run = subprocess.run(
        ["unshare", "-rm", "sh", "-c", READ_ONLY, "sh", *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "MNT": str(mnt), "SRC": str(example_repo), "PY": sys.executable},
    )
    if command == ["render"]:
        assert run.returncode == 2
        assert run.stderr == (
            f"capa-accounts: {LOCK_FILE}: cannot create the lock file: Read-only file system\n"
        )
    else:
        assert run.returncode == 0, run.stdout + run.stderr
