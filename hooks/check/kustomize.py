"""The one kustomize invocation of ``check``, ``check --base`` and the build hook.

Flux's kustomize-controller builds with builtins only and ``LoadRestrictionsNone``
(fluxcd/pkg kustomize/kustomize_generator.go), so this runs the plain kustomize of kubectl
(or a standalone kustomize) with the same load restrictor and no plugin flags.

The repository may be hostile, so kustomize runs with nothing of the caller's: an environment
holding only ``PATH``, a ``HOME`` and ``TMPDIR`` in a new empty directory and ``LANG`` (kustomize
4's env files read a key without a value from the environment, api/kv/kv.go; a CI runner's
environment holds its secrets), proxies pointing at a closed local port and git allowed no
protocol (kustomize clones remote bases with git, api/internal/git/cloner.go), in the
repository's own directory. ``check`` refuses remote entries before it gets here
(``kustomization.escapes``); this is the second wall. One check spends at most
``TOTAL_SECONDS`` in kustomize, however many kustomizations it builds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

TIMEOUT = 120  # seconds for one build
TOTAL_SECONDS = 300.0  # for every build of one check together
_NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens, a connection is refused


class BudgetSpent(Exception):  # noqa: N818 - a signal, reported as a finding by the caller
    """The check has spent its kustomize time: the build was not started."""


class _Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


_budget: _Budget | None = None


@contextlib.contextmanager
def budget(seconds: float | None = None) -> Iterator[None]:
    """One check: every kustomize run inside shares ``seconds`` (``TOTAL_SECONDS``)."""
    global _budget
    if _budget is not None and seconds is None:  # inside a check that has one already
        yield
        return
    previous, _budget = _budget, _Budget(TOTAL_SECONDS if seconds is None else seconds)
    try:
        yield
    finally:
        _budget = previous


def command() -> list[str] | None:
    """A plugin-free kustomize, as Flux builds (LoadRestrictionsNone, no plugins)."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize", "--load-restrictor=LoadRestrictionsNone"]
    if shutil.which("kustomize"):
        return ["kustomize", "build", "--load-restrictor=LoadRestrictionsNone"]
    return None


def environment(home: str) -> dict[str, str]:
    """What a kustomize (or git) child process sees: nothing of the caller's but PATH."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": home,
        "TMPDIR": home,
        "XDG_CONFIG_HOME": home,
        "XDG_CACHE_HOME": home,
        "LANG": "C.UTF-8",
        "GIT_ALLOW_PROTOCOL": "none",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "NO_PROXY": "",
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env[name] = _NOWHERE
    return env


def run(
    kustomize: list[str],
    directory: Path,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Build ``directory``, from ``cwd`` (the repository).

    OSError or subprocess.TimeoutExpired when kustomize cannot run or runs out of time;
    BudgetSpent when the check's total kustomize time is spent.
    """
    timeout: float = TIMEOUT
    if _budget is not None:
        left = _budget.remaining()
        if left <= 0:
            raise BudgetSpent(f"the check's {_budget.seconds:g} s of kustomize time are spent")
        timeout = min(timeout, left)
    directory = directory.absolute()  # the child runs elsewhere: a relative path would move
    with tempfile.TemporaryDirectory(prefix="capa-accounts-kustomize-") as home:
        return subprocess.run(
            [*kustomize, str(directory)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=environment(home),
            cwd=(cwd or directory).absolute(),
            stdin=subprocess.DEVNULL,
        )
