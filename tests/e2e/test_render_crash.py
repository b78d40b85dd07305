"""An interrupted `render` changes nothing (or, killed, leaves every file old or new), and the
next `render` converges.

The interruptions: the fault render injects once it has staged every file it writes and put
N of them in place when the test-only environment variable
CAPA_ACCOUNTS_TEST_FAIL_AFTER_WRITES is set (a failure: everything is put back), a SIGKILL it
sends itself at that point (CAPA_ACCOUNTS_TEST_KILL_AFTER_WRITES: no cleanup runs, 20 seeds),
a SIGKILL from outside at a random moment of its writing (10 seeds), and SIGTERM and SIGHUP
(test_signals.py). The change rendered touches every account: three accounts are removed,
three added, and every account ID changes.
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
from click.testing import CliRunner

from capa_accounts.cli import main
from capa_accounts.core.filewrite import TMP_SUFFIX, backup_path, is_temporary, temporary_path
from capa_accounts.core.lock import LOCK_FILE
from capa_accounts.kustomize_plugin import example, generated
from capa_accounts.kustomize_plugin import render as rendering

ACCOUNTS = 30
FAULT_ENV = "CAPA_ACCOUNTS_TEST_FAIL_AFTER_WRITES"
KILL_ENV = "CAPA_ACCOUNTS_TEST_KILL_AFTER_WRITES"
runner = CliRunner()


def accounts_yaml(template: str, first: int, id_base: int) -> str:
    head = template[: template.index("  accounts:")]
    entries = "".join(
        f'    - name: a{i:03d}\n      accountId: "{id_base + i:012d}"\n'
        f'      region: eu-west-1\n      kubernetesVersion: "1.35"\n'
        for i in range(first, first + ACCOUNTS)
    )
    return f"{head}  accounts:\n{entries}"


def snapshot(repo: Path) -> dict[str, bytes]:
    return {
        p.relative_to(repo).as_posix(): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def render(repo: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(main, ["render", *args, "--repo", str(repo)], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


class States:
    """The repository before (rendered, accounts.yaml already edited) and after `render`."""

    def __init__(self, root: Path) -> None:
        self.before = root / "before"
        example.init(self.before)
        accounts = self.before / "accounts.yaml"
        template = accounts.read_text(encoding="utf-8")
        accounts.write_text(accounts_yaml(template, 0, 100_000_000_000), encoding="utf-8")
        assert render(self.before)[0] == 0
        accounts.write_text(accounts_yaml(template, 3, 200_000_000_000), encoding="utf-8")
        self.old = snapshot(self.before)
        after = root / "after"
        shutil.copytree(self.before, after)
        assert render(after)[0] == 0
        self.new = snapshot(after)
        changed = {
            p for p in self.old.keys() | self.new.keys() if self.old.get(p) != self.new.get(p)
        }
        # render's order: files to write, sorted, then files to delete
        self.changed = sorted(changed & self.new.keys()) + sorted(changed - self.new.keys())
        assert len(self.changed) > 2 * ACCOUNTS  # identity and bootstrap per account, and more

    def fresh(self, path: Path) -> Path:
        shutil.copytree(self.before, path)
        return path

    def assert_old_or_new(self, repo: Path, run: str = "") -> tuple[int, int]:
        """Every file is its old or its new content (absent counts when that is old or new);
        returns how many changed files are new and how many old."""
        now = snapshot(repo)
        # A SIGKILL'ed render leaves its temporary files and the (unlocked) lock file.
        stray = [
            p
            for p in now
            if p not in self.old
            and p not in self.new
            and not is_temporary(Path(p).name)
            and p != LOCK_FILE
        ]
        assert not stray, f"{run}: files that are neither old nor new: {stray}"
        new = old = 0
        for path in self.changed:
            current = now.get(path)
            assert current in (self.old.get(path), self.new.get(path)), (
                f"{run}: {path} is half-written"
            )
            new += current == self.new.get(path)
            old += current == self.old.get(path)
        return new, old

    def assert_converges(self, repo: Path, run: str = "") -> None:
        code, output = render(repo)
        assert code == 0, (run, output)
        assert render(repo, "--check") == (0, ""), run
        assert snapshot(repo) == self.new, run
        assert not list(repo.rglob(f"*{TMP_SUFFIX}")), f"{run}: a temporary file is left behind"
        assert not (repo / LOCK_FILE).exists(), f"{run}: the lock file is left behind"


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> States:
    return States(tmp_path_factory.mktemp("render-crash"))


@pytest.mark.parametrize("after", ["0", "1", "half", "all-but-one"])
def test_render_failing_after_n_writes_changes_nothing_and_converges(
    states: States, tmp_path: Path, after: str
) -> None:
    """One transaction: the N files already in place (and deleted) are put back."""
    repo = states.fresh(tmp_path / "repo")
    total = len(states.changed)
    writes = {"half": total // 2, "all-but-one": total - 1}.get(after) or int(after)
    code, output = render(repo, env={FAULT_ENV: str(writes)})
    assert code == 2
    assert output.strip().splitlines()[-1].endswith(f"test fault injected after {writes} writes")
    assert snapshot(repo) == states.old  # no temporary file, no lock file either
    assert render(repo, "--check")[0] == 1  # the interrupted render is visible as drift
    states.assert_converges(repo)


def _render_process(repo: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "capa_accounts.cli", "render", "--repo", str(repo)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


def _leftovers(repo: Path) -> list[Path]:
    return sorted(repo.rglob(f"*{TMP_SUFFIX}"))


KILLS = 20


def test_render_killed_after_n_writes_leaves_old_or_new_and_converges(
    states: States, tmp_path: Path
) -> None:
    """SIGKILL (no cleanup runs) after N files are in place, N drawn by 20 seeds: every file is
    old or new, the staged files not yet in place are left behind and break nothing."""
    total = len(states.changed)
    writes = sum(1 for path in states.changed if path in states.new)
    checked = False
    for seed in range(KILLS):
        rng = random.Random(seed)  # noqa: S311 - a reproducible fault point, not cryptography
        n = (0, total - 1)[seed] if seed < 2 else rng.randrange(1, total - 1)
        repo = states.fresh(tmp_path / f"repo-{seed}")
        proc = _render_process(repo, {KILL_ENV: str(n)})
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL, (seed, stderr)
        assert states.assert_old_or_new(repo, f"seed {seed}") == (n, total - n)
        staged = [p for p in states.new if temporary_path(repo / p, proc.pid).exists()]
        backups = {backup_path(repo / p, proc.pid) for p in states.old}
        assert len(staged) == max(writes - n, 0), f"seed {seed}"
        assert (
            set(_leftovers(repo)) - {temporary_path(repo / p, proc.pid) for p in staged} <= backups
        ), f"seed {seed}"
        if not checked and 0 < n < writes:
            checked = True
            # The killed process's staged files break neither check nor render.
            result = runner.invoke(main, ["check", "--repo", str(repo)])
            assert result.exception is None or isinstance(result.exception, SystemExit)
            assert TMP_SUFFIX not in result.output
            # Killed between a new overlay's kustomization.yaml and a file it lists, the
            # missing file is a finding too (test_a_kustomization_naming_a_missing_file_...).
            assert result.exit_code == 1 and "[CAPA-R001]" in result.output, (seed, result.output)
        states.assert_converges(repo, f"seed {seed}")
        shutil.rmtree(repo)
    assert checked


def test_render_killed_at_a_random_moment_leaves_old_or_new_and_converges(
    states: States, tmp_path: Path
) -> None:
    """SIGKILL at a random moment once render has begun to write (10 seeds)."""
    unfinished = 0
    for seed in range(KILLS // 2):
        repo = states.fresh(tmp_path / f"repo-{seed}")
        first = repo / generated.changes(repo, rendering.plan(repo))[0].path
        rng = random.Random(seed)  # noqa: S311 - a reproducible moment, not cryptography
        proc = _render_process(repo)
        staged = temporary_path(first, proc.pid)
        try:
            deadline = time.monotonic() + 60
            while (
                proc.poll() is None
                and time.monotonic() < deadline
                and not staged.exists()
                and not first.exists()
            ):
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.01))
            proc.send_signal(signal.SIGKILL)
        finally:
            _, stderr = proc.communicate(timeout=60)
        assert b"Traceback" not in stderr, f"seed {seed}"
        new, _ = states.assert_old_or_new(repo, f"seed {seed}")
        unfinished += proc.returncode == -signal.SIGKILL and (
            new < len(states.changed) or bool(_leftovers(repo))
        )
        states.assert_converges(repo, f"seed {seed}")
        shutil.rmtree(repo)
    assert unfinished, "every kill came after render had finished: the test proved nothing"
    print(f"{unfinished} of {KILLS // 2} kills landed while render was writing")


def test_a_kustomization_naming_a_missing_file_is_a_finding(states: States, tmp_path: Path) -> None:
    """The state a render killed between a new overlay's kustomization.yaml and namespace.yaml
    would leave: kustomize (and so Flux) fails that build, which is CAPA-R007, not bad input."""
    repo = states.fresh(tmp_path / "repo")
    overlay = repo / "overlays/a030"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_bytes(states.new["overlays/a030/kustomization.yaml"])
    result = runner.invoke(main, ["check", "--repo", str(repo)])
    assert result.exit_code == 1
    assert (
        "overlays/a030/kustomization.yaml:7:3: [CAPA-R007] resource 'namespace.yaml' does not exist"
    ) in result.output
