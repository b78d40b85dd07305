"""Shared fixtures: example repositories made by `init`, and running `check` on them."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from gitrepo import commit, git
from hypothesis import settings

from capa_accounts.core import eks_versions
from capa_accounts.core.finding import Finding
from capa_accounts.hooks.check import engine
from capa_accounts.kustomize_plugin import example

# The suite judges EKS support (CAPA-C009) on one fixed day, the calendar's own date, so its
# outcome does not change as the calendar ages; tests of the clock set their own date.
os.environ[eks_versions.TODAY_VARIABLE] = eks_versions.TABLE_DATE
# check keeps render's plan in the user's cache directory (kustomize_plugin/plan_cache.py): the
# suite's go to a directory of its own, which it and its subprocesses share.
os.environ["CAPA_ACCOUNTS_CACHE_DIR"] = tempfile.mkdtemp(prefix="capa-accounts-tests-cache-")

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"
CAPA_REFERENCE = SHARED / "capa-reference"


@pytest.fixture(scope="session")
def _pristine_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pristine") / "repo"
    example.init(path)
    return path


@pytest.fixture(scope="session")
def _pristine_files(_pristine_example: Path) -> list[tuple[str, bytes | None, int]]:
    """The rendered example as (path, bytes, mode) rows, directories (None) before their
    files: read once, written for each test (a third of what copying the tree costs)."""
    rows: list[tuple[str, bytes | None, int]] = []
    for top, dirs, files in os.walk(_pristine_example):
        dirs.sort()
        here = Path(top)
        assert not any((here / d).is_symlink() for d in dirs), "the example holds no symlink"
        rows.append((here.relative_to(_pristine_example).as_posix(), None, here.stat().st_mode))
        for name in sorted(files):
            path = here / name
            assert not path.is_symlink(), "the example holds no symlink"
            rel = path.relative_to(_pristine_example).as_posix()
            rows.append((rel, path.read_bytes(), path.stat().st_mode))
    return rows


@pytest.fixture
def example_repo(_pristine_files: list[tuple[str, bytes | None, int]], tmp_path: Path) -> Path:
    """A fresh copy of the rendered example repository (management, staging, live)."""
    path = tmp_path / "repo"
    umask = os.umask(0)
    os.umask(umask)
    made = {True: 0o777 & ~umask, False: 0o666 & ~umask}  # what mkdir and open give
    for rel, data, mode in _pristine_files:
        target = path / rel
        if data is None:
            target.mkdir()
        else:
            target.write_bytes(data)
        if stat.S_IMODE(mode) != made[data is None]:
            os.chmod(target, stat.S_IMODE(mode))
    return path


@pytest.fixture
def committed(example_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example repository as the only commit of a fresh git repository."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(example_repo.parent))
    git(example_repo, "init", "-q")
    commit(example_repo, "init")
    return example_repo


def run_check(repo: Path, **kwargs: object) -> engine.Report:
    return engine.check(repo, **kwargs)  # type: ignore[arg-type]


def of_rule(report: engine.Report, rule: str) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule]


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace text in a file, failing loudly when the text is not there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once for the suite from a copy of the checkout (setuptools
    writes build/ and *.egg-info/ beside the sources) without build isolation: offline, with
    the setuptools of the test extra."""
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"
    shutil.copytree(
        PROJECT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", ".tools", "build", "*.egg-info", "__pycache__", "node_modules"
        ),
    )
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=out,
    )
    assert build.returncode == 0, build.stderr
    (found,) = out.glob("capa_accounts-*.whl")
    return found


E2E = Path(__file__).resolve().parent / "e2e"

# Property tests run a twentieth of their examples (at least 10) in the fast lane
# (`pytest -m "not e2e"`) and all of them in the full run; HYPOTHESIS_PROFILE=fast or =full
# chooses either lane's count.
LANE = {"fast": False}
settings.register_profile("full", deadline=None)
settings.register_profile("fast", deadline=None, max_examples=10)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """The fast lane (`pytest -m "not e2e"`) spreads its tests over the machine's cores (up to
    four) with pytest-xdist, unless `-n`/`--dist` says otherwise or xdist is not installed:
    one process costs it about 45 s on two cores, two about 30 s. The full run stays in one
    process (the signal and timing tests of e2e want a quiet machine)."""
    option = config.option
    if (
        "not e2e" in (getattr(option, "markexpr", "") or "")
        and config.pluginmanager.has_plugin("xdist")
        and getattr(option, "numprocesses", None) is None
        and getattr(option, "dist", "no") == "no"
        and not hasattr(config, "workerinput")
        and (os.cpu_count() or 1) > 1
    ):
        option.numprocesses = min(os.cpu_count() or 1, 4)
        option.dist = "load"


def pytest_configure(config: pytest.Config) -> None:
    profile = os.environ.get("HYPOTHESIS_PROFILE") or (
        "fast" if "not e2e" in (config.getoption("markexpr") or "") else "full"
    )
    LANE["fast"] = profile == "fast"
    settings.load_profile(profile)


def lane_examples(full: int) -> int:
    """How many examples a property test with ``full`` examples runs in this lane."""
    return max(10, full // 20) if LANE["fast"] else full


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e/ is end to end: `pytest -m "not e2e"` is the fast lane."""
    for item in items:
        if E2E in item.path.resolve().parents:
            item.add_marker(pytest.mark.e2e)
