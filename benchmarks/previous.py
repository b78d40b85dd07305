"""Another commit's capa-accounts beside this one, so a benchmark compares them in one run.

``install(ref, workdir)`` extracts REF's tree from the repository this script is in (``git
archive``, through the project's hardened git runner) and installs it with pip into a folder
of its own, without dependencies, build isolation or network: it runs on this interpreter
with this environment's dependencies, and ``PYTHONPATH`` puts it before the installed
(editable) capa-accounts, so the two differ only by the project's own code.

Both are timed as whole processes, interleaved round by round (see ``bench.rounds``).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from capa_accounts.core import git

ROOT = Path(__file__).resolve().parent.parent


class PreviousError(Exception):
    """REF could not be installed: the comparison would be meaningless."""


@dataclass(frozen=True)
class Version:
    """One capa-accounts to run: where its console scripts are and what its processes need."""

    label: str
    bin: Path
    env: dict[str, str] = field(default_factory=dict)

    def tool(self, name: str) -> str:
        path = self.bin / name
        if not path.is_file():
            raise PreviousError(f"{self.label}: no {name} console script")
        return str(path)


def current() -> Version:
    """The capa-accounts installed in this interpreter's environment."""
    return Version("this tree", Path(sys.executable).parent)


def install(ref: str, workdir: Path) -> Version:
    """REF's capa-accounts, installed under ``workdir`` (REF: anything ``git rev-parse`` takes)."""
    commit = _resolve(ref)
    target = workdir / f"previous-{commit[:12]}"
    site = target / "site"
    if not (site / "bin" / "capa-accounts").is_file():
        source = target / "source"
        source.mkdir(parents=True, exist_ok=True)
        done = git.run(ROOT, "archive", "--format=tar", commit, timeout=300)
        if done.returncode != 0:
            raise PreviousError(f"git archive {ref}: {done.stderr.decode(errors='replace')}")
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
            tar.extractall(source, filter="data")
        _pip_install(source, site, ref)
    python_path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    # A cache of its own: render's plan cache keeps one entry per repository, keyed by the
    # tool's code, so two versions sharing it would evict each other's entries every round.
    env = {"PYTHONPATH": python_path, "CAPA_ACCOUNTS_CACHE_DIR": str(target / "cache")}
    return Version(f"{ref} ({commit[:7]})", site / "bin", env)


def install_tree(workdir: Path) -> Version:
    """This work tree's capa-accounts (uncommitted changes included), installed as ``install``
    installs REF: both measured as a user's ``pip install`` leaves them, not as an editable
    install, whose import hook costs every process a few milliseconds."""
    listed = git.run(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if listed.returncode != 0:
        raise PreviousError(f"git ls-files: {listed.stderr.decode(errors='replace')}")
    target = workdir / "this-tree"
    source = target / "source"
    if target.exists():
        shutil.rmtree(target)
    for rel in filter(None, listed.stdout.decode().split("\0")):
        path = ROOT / rel
        if path.is_file() and not path.is_symlink():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, source / rel)
    _pip_install(source, target / "site", "this tree")
    env = {"PYTHONPATH": str(target / "site"), "CAPA_ACCOUNTS_CACHE_DIR": str(target / "cache")}
    return Version("this tree", target / "site" / "bin", env)


def _pip_install(source: Path, site: Path, what: str) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(source),
        ],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise PreviousError(
            f"installing {what}: {proc.stderr.decode(errors='replace').strip()[-500:]}"
        )


def _resolve(ref: str) -> str:
    done = git.run(ROOT, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise PreviousError(f"{ref}: not a commit of this repository")
    return done.stdout.decode().strip()
