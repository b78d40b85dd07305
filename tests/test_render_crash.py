"""An interrupted `render` leaves every file old or new, and the next `render` converges.

Two interruptions: the fault `render` injects after N writes when the test-only environment
variable CAPA_ACCOUNTS_TEST_FAIL_AFTER_WRITES is set, and a real SIGKILL of a `render` process
at a random moment of its writing (20 seeds). The change rendered touches every account:
three accounts are removed, three added, and every account ID changes.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kustomize_plugin import example
from kustomize_plugin.cli import main
from kustomize_plugin.yamlio import TMP_SUFFIX

ACCOUNTS = 30
FAULT_ENV = "CAPA_ACCOUNTS_TEST_FAIL_AFTER_WRITES"
runner = CliRunner()


def accounts_yaml(template: str, first: int, id_base: int) -> str:
    head = template[:template.index("  accounts:")]
    entries = "".join(f'    - name: a{i:03d}\n      accountId: "{id_base + i:012d}"\n'
                      f'      region: eu-west-1\n      kubernetesVersion: "1.31"\n'
                      for i in range(first, first + ACCOUNTS))
    return f"{head}  accounts:\n{entries}"


def snapshot(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes() for p in sorted(repo.rglob("*"))
            if p.is_file() and not p.is_symlink()}


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
        changed = {p for p in self.old.keys() | self.new.keys()
                   if self.old.get(p) != self.new.get(p)}
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
        stray = [p for p in now if p not in self.old and p not in self.new
                 and not Path(p).name.endswith(TMP_SUFFIX)]
        assert not stray, f"{run}: files that are neither old nor new: {stray}"
        new = old = 0
        for path in self.changed:
            current = now.get(path)
            assert current in (self.old.get(path), self.new.get(path)), \
                f"{run}: {path} is half-written"
            new += current == self.new.get(path)
            old += current == self.old.get(path)
        return new, old

    def assert_converges(self, repo: Path, run: str = "") -> None:
        code, output = render(repo)
        assert code == 0, (run, output)
        assert render(repo, "--check") == (0, ""), run
        assert snapshot(repo) == self.new, run
        assert not list(repo.rglob(f"*{TMP_SUFFIX}")), f"{run}: a temporary file is left behind"


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> States:
    return States(tmp_path_factory.mktemp("render-crash"))


@pytest.mark.parametrize("after", ["0", "1", "half", "all-but-one"])
def test_render_failing_after_n_writes_leaves_old_or_new_and_converges(
        states: States, tmp_path: Path, after: str) -> None:
    repo = states.fresh(tmp_path / "repo")
    total = len(states.changed)
    writes = {"half": total // 2, "all-but-one": total - 1}.get(after) or int(after)
    code, output = render(repo, env={FAULT_ENV: str(writes)})
    assert code == 2
    assert output.strip().splitlines()[-1].endswith(f"test fault injected after {writes} writes")
    assert states.assert_old_or_new(repo) == (writes, len(states.changed) - writes)
    assert render(repo, "--check")[0] == 1  # the interrupted render is visible as drift
    states.assert_converges(repo)


def _first_write(repo: Path, states: States, proc: subprocess.Popen[bytes]) -> None:
    """Wait until the render process has replaced its first file (render writes in order)."""
    first = repo / states.changed[0]
    old = states.old.get(states.changed[0])
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        current = first.read_bytes() if first.exists() else None
        if current != old:
            return
        time.sleep(0.001)


KILLS = 20


def test_killed_render_leaves_old_or_new_and_converges(states: States, tmp_path: Path) -> None:
    """SIGKILL a render process at a random moment of its writing, 20 times (seeds 0-19)."""
    mid_write = 0
    for seed in range(KILLS):
        repo = states.fresh(tmp_path / f"repo-{seed}")
        rng = random.Random(seed)  # noqa: S311 - a reproducible moment to kill, not cryptography
        proc = subprocess.Popen([sys.executable, "-m", "kustomize_plugin.cli", "render",
                                 "--repo", str(repo)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            _first_write(repo, states, proc)
            time.sleep(rng.uniform(0, 0.12))
            proc.send_signal(signal.SIGKILL)
        finally:
            _, stderr = proc.communicate(timeout=60)
        assert b"Traceback" not in stderr, f"seed {seed}"
        new, old = states.assert_old_or_new(repo, f"seed {seed}")
        if new and old:
            mid_write += 1
        if mid_write == 1 and new and old:
            # The killed process's temporary files break neither check nor render.
            result = runner.invoke(main, ["check", "--repo", str(repo)])
            assert result.exception is None or isinstance(result.exception, SystemExit)
            assert TMP_SUFFIX not in result.output
            # Killed between a new overlay's kustomization.yaml and a file it lists, the
            # missing file is a finding too (test_a_kustomization_naming_a_missing_file_...).
            assert result.exit_code == 1 and "[CAPA-R001]" in result.output, \
                (seed, result.output)
        states.assert_converges(repo, f"seed {seed}")
        shutil.rmtree(repo)
    assert mid_write, "no kill landed while render was writing: the test proved nothing"
    print(f"{mid_write} of {KILLS} kills landed while render was writing")


def test_a_kustomization_naming_a_missing_file_is_a_finding(states: States,
                                                            tmp_path: Path) -> None:
    """The state a render killed between a new overlay's kustomization.yaml and namespace.yaml
    would leave: kustomize (and so Flux) fails that build, which is CAPA-R002, not bad input."""
    repo = states.fresh(tmp_path / "repo")
    overlay = repo / "overlays/a030"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_bytes(states.new["overlays/a030/kustomization.yaml"])
    result = runner.invoke(main, ["check", "--repo", str(repo)])
    assert result.exit_code == 1
    assert ("overlays/a030/kustomization.yaml:5:3: [CAPA-R002] resource 'namespace.yaml' does "
            "not exist") in result.output

