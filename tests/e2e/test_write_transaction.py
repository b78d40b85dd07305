"""One transaction per command: add-account and render change everything or nothing.

A failure (a full file system, a file render refuses) or SIGTERM/SIGHUP/SIGINT at any step of
the write sequence leaves the repository byte for byte as it was: accounts.yaml included, no
temporary file, no lock file. The file system that fills up is a real tmpfs, mounted in a
private mount namespace (unshare(1)); the step-by-step signals are real signals, sent by the
process to itself at step N (CAPA_ACCOUNTS_TEST_TERM_AT_STEP) or from outside at a random moment.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import edit

from capa_accounts.cli import main
from capa_accounts.core.accounts_file import load_account_set
from capa_accounts.core.filewrite import TERM_ENV, TMP_SUFFIX, temporary_path
from capa_accounts.core.lock import LOCK_FILE

runner = CliRunner()
QA = ["qa", "--account-id", "444444444444", "--region", "eu-west-1"]
INTERRUPTED = "capa-accounts: interrupted by SIGTERM: nothing changed\n"


def snapshot(repo: Path) -> dict[str, bytes]:
    """Every file's bytes, every directory (an empty one left behind is a change too)."""
    return {
        p.relative_to(repo).as_posix(): b"<dir>"
        if p.is_dir() and not p.is_symlink()
        else p.read_bytes()
        for p in sorted(repo.rglob("*"))
    }


def add(repo: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(main, ["add-account", *args, "--repo", str(repo)], env=env)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "capa_accounts.cli", *args]


def test_sigterm_at_every_step_of_add_account_changes_nothing(
    example_repo: Path, tmp_path: Path
) -> None:
    """Steps: each file staged (accounts.yaml among them), the sync, each file put in place
    (accounts.yaml last). SIGTERM at every one of them: exit 2, nothing changed."""
    done = tmp_path / "done"
    shutil.copytree(example_repo, done)
    assert add(done, *QA).exit_code == 0
    new, old = snapshot(done), snapshot(example_repo)
    changed = {
        p
        for p in new.keys() | old.keys()
        if new.get(p) != old.get(p) and b"<dir>" not in (new.get(p), old.get(p))
    }
    steps = 2 * len(changed) + 1
    before = snapshot(example_repo)
    for step in range(steps):
        result = add(example_repo, *QA, env={TERM_ENV: str(step)})
        assert (result.exit_code, result.stderr) == (2, INTERRUPTED), (step, result.output)
        assert snapshot(example_repo) == before, f"step {step}"
    # The step after the last: the batch is complete, too late for the signal to stop it; the
    # command finishes as usual (before, it said "nothing changed" with every file written).
    result = add(example_repo, *QA, env={TERM_ENV: str(steps)})
    assert result.exit_code == 0, result.output
    assert snapshot(example_repo) == snapshot(done)


def test_sigterm_at_sampled_steps_of_render_changes_nothing(example_repo: Path) -> None:
    accounts = example_repo / "accounts.yaml"
    edit(accounts, "222222222222", "222222222299")
    edit(accounts, "- name: live", "- name: prod")
    before = snapshot(example_repo)
    for step in (0, 1, 2, 5, 9, 14):
        result = runner.invoke(
            main, ["render", "--repo", str(example_repo)], env={TERM_ENV: str(step)}
        )
        assert (result.exit_code, result.stderr) == (2, INTERRUPTED), (step, result.output)
        assert snapshot(example_repo) == before, f"step {step}"
    assert runner.invoke(main, ["render", "--repo", str(example_repo)]).exit_code == 0
    assert (
        "delete overlays/live/kustomization.yaml"
        not in runner.invoke(main, ["render", "--repo", str(example_repo)]).output
    )


def _render_fleet(repo: Path, accounts: int) -> None:
    """``accounts`` accounts, rendered; then accounts.yaml edited so that render rewrites all."""
    text = (repo / "accounts.yaml").read_text(encoding="utf-8")
    head = text[: text.index("  accounts:")]

    def entries(first: int, id_base: int) -> str:
        return "".join(
            f'    - name: a{i:03d}\n      accountId: "{id_base + i:012d}"\n'
            f'      region: eu-west-1\n      kubernetesVersion: "1.35"\n'
            for i in range(first, first + accounts)
        )

    (repo / "accounts.yaml").write_text(f"{head}  accounts:\n{entries(0, 10**11)}")
    assert runner.invoke(main, ["render", "--repo", str(repo)]).exit_code == 0
    (repo / "accounts.yaml").write_text(f"{head}  accounts:\n{entries(2, 2 * 10**11)}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_from_outside_leaves_the_old_tree_or_the_new(
    example_repo: Path, tmp_path: Path, signum: int
) -> None:
    """A real render process, signalled once it has begun to stage (5 seeds per signal): it
    either finished (exit 0, the new tree) or changed nothing (exit 2); never a traceback, a
    temporary file or the lock file left behind."""
    _render_fleet(example_repo, 30)
    old = snapshot(example_repo)
    new_repo = tmp_path / "new"
    shutil.copytree(example_repo, new_repo)
    assert runner.invoke(main, ["render", "--repo", str(new_repo)]).exit_code == 0
    new = snapshot(new_repo)
    interrupted = 0
    for seed in range(5):
        repo = tmp_path / f"repo-{seed}"
        shutil.copytree(example_repo, repo)
        proc = subprocess.Popen(
            cli("render", "--repo", str(repo)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        first = temporary_path(repo / "bootstrap/a002.yaml", proc.pid)
        deadline = time.monotonic() + 60
        while proc.poll() is None and not first.exists() and time.monotonic() < deadline:
            time.sleep(0.0005)
        time.sleep(random.Random(seed).uniform(0, 0.02))  # noqa: S311 - a reproducible moment
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
        name = signal.Signals(signum).name
        assert b"Traceback" not in stderr, stderr
        if proc.returncode == 2:
            interrupted += 1
            assert stderr.decode() == f"capa-accounts: interrupted by {name}: nothing changed\n"
            assert snapshot(repo) == old, f"seed {seed}"
        else:
            # Exit 0, or the signal's own death when it came after the command had written
            # everything and released the lock (its handlers are gone by then): the new tree.
            assert proc.returncode in (0, -signum), (seed, proc.returncode, stderr)
            assert snapshot(repo) == new, f"seed {seed}"
    assert interrupted, "every signal came after render had finished: the test proved nothing"


def test_a_temporary_name_is_unique_to_the_process(tmp_path: Path) -> None:
    target = tmp_path / "identity.yaml"
    assert temporary_path(target) != temporary_path(target, os.getpid() + 1)
    assert temporary_path(target).name.endswith(TMP_SUFFIX)
    assert temporary_path(target).name.startswith(".identity.yaml.")


# --- a full file system --------------------------------------------------------------------


def _unshare_mount_works() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


needs_tmpfs = pytest.mark.skipif(
    not _unshare_mount_works(), reason="cannot mount a tmpfs in a private mount namespace"
)
# Inside a private mount namespace: a tmpfs the size of the repository plus FREE bytes
# (filled up by a filler file), the repository copied in, the command run, the result copied
# back out.
FULL_DISK = """
set -e
mount -t tmpfs -o size=64m tmpfs "$MNT"
cp -a "$SRC" "$MNT/repo"
dd if=/dev/zero of="$MNT/fill" bs=4096 2>/dev/null || true
truncate -s "-$FREE" "$MNT/fill"
set +e
"$PY" -m capa_accounts.cli "$@" --repo "$MNT/repo" 2>"$OUT.stderr"
echo $? >"$OUT.code"
rm -f "$MNT/fill"
cp -a "$MNT/repo" "$OUT"
"""


def _on_a_full_disk(repo: Path, tmp_path: Path, free: int, *args: str) -> tuple[int, str, Path]:
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    env = {
        **os.environ,
        "MNT": str(mnt),
        "SRC": str(repo),
        "OUT": str(out),
        "FREE": str(free),
        "PY": sys.executable,
    }
    subprocess.run(
        ["unshare", "-rm", "sh", "-c", FULL_DISK, "sh", *args], env=env, check=True, timeout=120
    )
    return (int((tmp_path / "out.code").read_text()), (tmp_path / "out.stderr").read_text(), out)


@needs_tmpfs
def test_add_account_on_a_full_disk_exits_2_and_changes_nothing(
    example_repo: Path, tmp_path: Path
) -> None:
    """Room for accounts.yaml but not for the new overlay: before, accounts.yaml was written
    first and stayed changed."""
    code, stderr, out = _on_a_full_disk(example_repo, tmp_path, 4 * 4096, "add-account", *QA)
    assert code == 2, stderr
    assert stderr.startswith("capa-accounts: ") and "No space left on device" in stderr
    assert len(stderr.splitlines()) == 1
    assert snapshot(out) == snapshot(example_repo)


@needs_tmpfs
def test_add_account_with_room_enough_succeeds(example_repo: Path, tmp_path: Path) -> None:
    """The near miss: the same file system with room for every staged file."""
    code, stderr, out = _on_a_full_disk(example_repo, tmp_path, 1024 * 1024, "add-account", *QA)
    assert code == 0, stderr
    assert [a.name for a in load_account_set(out).accounts] == ["staging", "live", "qa"]
    assert runner.invoke(main, ["render", "--check", "--repo", str(out)]).exit_code == 0


@needs_tmpfs
def test_render_on_a_full_disk_exits_2_and_changes_nothing(
    example_repo: Path, tmp_path: Path
) -> None:
    _render_fleet(example_repo, 20)
    code, stderr, out = _on_a_full_disk(example_repo, tmp_path, 16 * 4096, "render")
    assert code == 2, stderr
    assert "No space left on device" in stderr
    assert snapshot(out) == snapshot(example_repo)
    assert not list(out.rglob(f"*{TMP_SUFFIX}")) and not (out / LOCK_FILE).exists()


# --- what the user set ---------------------------------------------------------------------


def test_add_account_keeps_the_mode_of_accounts_yaml(example_repo: Path) -> None:
    accounts = example_repo / "accounts.yaml"
    accounts.chmod(0o600)
    identity = example_repo / "overlays/management/controller-identity.yaml"
    identity.chmod(0o640)
    assert add(example_repo, *QA).exit_code == 0
    assert accounts.stat().st_mode & 0o777 == 0o600
    assert identity.stat().st_mode & 0o777 == 0o640  # rewritten, mode kept
    assert "qa" in identity.read_text()
    # A new file gets the usual mode (the umask's), not accounts.yaml's.
    new = example_repo / "overlays/qa/kustomization.yaml"
    umask = os.umask(0)
    os.umask(umask)
    assert new.stat().st_mode & 0o777 == 0o666 & ~umask


def test_add_account_writes_through_a_symlink_inside_the_repository(example_repo: Path) -> None:
    config = example_repo / "config"
    config.mkdir()
    (example_repo / "accounts.yaml").rename(config / "accounts.yaml")
    (example_repo / "accounts.yaml").symlink_to("config/accounts.yaml")
    result = add(example_repo, *QA)
    assert result.exit_code == 0, result.output
    assert (example_repo / "accounts.yaml").is_symlink()
    assert "- name: qa" in (config / "accounts.yaml").read_text()
    assert not [p for p in config.iterdir() if p.name != "accounts.yaml"]
    assert runner.invoke(main, ["render", "--check", "--repo", str(example_repo)]).exit_code == 0


def test_add_account_refuses_a_symlink_out_of_the_repository(
    example_repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.yaml"
    (example_repo / "accounts.yaml").rename(outside)
    (example_repo / "accounts.yaml").symlink_to(outside)
    text = outside.read_bytes()
    before = snapshot(example_repo)
    result = add(example_repo, *QA)
    assert result.exit_code == 2
    assert result.stderr == (
        "capa-accounts: accounts.yaml: leads outside the repository through a symlink\n"
    )
    assert outside.read_bytes() == text and snapshot(example_repo) == before


def test_the_next_add_account_cleans_up_after_a_killed_one(
    example_repo: Path, tmp_path: Path
) -> None:
    """SIGKILL (no cleanup can run) after 3 of add-account's files are in place: its staged
    files, the old contents it kept and the lock file stay behind. The next add-account removes
    them before it reads anything, and leaves what a clean run leaves; a file that only looks
    similar (no leading dot, another suffix) is the user's and stays."""
    clean = tmp_path / "clean"
    shutil.copytree(example_repo, clean)
    assert add(clean, *QA).exit_code == 0
    proc = subprocess.run(
        cli("add-account", *QA, "--repo", str(example_repo)),
        capture_output=True,
        check=False,
        env={**os.environ, "CAPA_ACCOUNTS_TEST_KILL_AFTER_WRITES": "3"},
    )
    assert proc.returncode == -signal.SIGKILL
    left = sorted(p.name for p in example_repo.rglob(f"*{TMP_SUFFIX}"))
    assert any(".old" not in name for name in left), left  # some staged
    assert any(".old" in name for name in left), left  # and an old content kept
    assert (example_repo / LOCK_FILE).exists()
    mine = [example_repo / "notes.capa-accounts-tmp", example_repo / ".notes.capa-accounts-tmp~"]
    for path in mine:
        path.write_text("mine\n")
    result = add(example_repo, *QA)
    assert result.exit_code == 0, result.output
    for path in mine:
        assert path.read_text() == "mine\n"
        path.unlink()
    assert snapshot(example_repo) == snapshot(clean)
