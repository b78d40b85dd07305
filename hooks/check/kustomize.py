"""The one kustomize invocation of ``check``, ``check --base`` and the build hook.

Flux's kustomize-controller builds with builtins only and ``LoadRestrictionsNone``
(fluxcd/pkg kustomize/kustomize_generator.go), so this runs the plain kustomize of kubectl
(or a standalone kustomize) with the same load restrictor and no plugin flags.

The repository may be hostile, so kustomize runs with nothing of the caller's: an environment
holding only ``PATH``, a ``HOME`` and ``TMPDIR`` in a new empty directory and ``LANG`` (kustomize
4's env files read a key without a value from the environment, api/kv/kv.go; a CI runner's
environment holds its secrets), proxies pointing at a closed local port and git allowed no
protocol (kustomize clones remote bases with git, api/internal/git/cloner.go), in the
repository's own directory. ``check`` builds only what it proved confined before it gets here
(``capa_accounts.core.confinement``); this is the second wall, and ``sandbox`` the third (a copy
of the repository's files, Landlock where the kernel has it). One check spends at most
``TOTAL_SECONDS`` in kustomize, however many kustomizations it builds, and kustomize's output
is read up to ``MAX_OUTPUT_BYTES``: past that the process is stopped (a tracked file of
hundreds of MiB in a generator would otherwise cost gigabytes of memory).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from capa_accounts.hooks.check import sandbox

if TYPE_CHECKING:
    import subprocess

# shutil, subprocess, tempfile and selectors are imported where kustomize runs: most checks
# never run it, and the four cost more to import than a small repository costs to judge.

TIMEOUT = 120  # seconds for one build
TOTAL_SECONDS = 300.0  # for every build of one check together
MAX_OUTPUT_BYTES = 64 << 20  # what one build may print: more is refused, never held
MAX_STDERR_BYTES = 64 << 10
_NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens, a connection is refused


class OutputTooLarge(Exception):  # noqa: N818 - a signal, reported as a finding by the caller
    """kustomize printed more than ``MAX_OUTPUT_BYTES``: it was stopped, nothing is judged."""


class BudgetSpent(Exception):  # noqa: N818 - a signal, reported as a finding by the caller
    """The check has spent its kustomize time: the build was not started."""


class _Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.protection: str | None = None  # what confined kustomize, once it ran

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


def protection() -> str | None:
    """What confined kustomize in this check (``sandbox.described``), None if it never ran."""
    return _budget.protection if _budget is not None else None


def command() -> list[str] | None:
    """A plugin-free kustomize, as Flux builds (LoadRestrictionsNone, no plugins)."""
    import shutil

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
    *,
    confine: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Build ``directory``, from ``cwd`` (the repository); ``confine`` is the copy of the
    repository it builds in: where Landlock is available, the process reads nothing else.

    OSError or subprocess.TimeoutExpired when kustomize cannot run or runs out of time;
    BudgetSpent when the check's total kustomize time is spent; OutputTooLarge past
    ``MAX_OUTPUT_BYTES`` of output.
    """
    timeout: float = TIMEOUT
    if _budget is not None:
        left = _budget.remaining()
        if left <= 0:
            raise BudgetSpent(f"the check's {_budget.seconds:g} s of kustomize time are spent")
        timeout = min(timeout, left)
    directory = directory.absolute()  # the child runs elsewhere: a relative path would move
    import tempfile

    with tempfile.TemporaryDirectory(prefix="capa-accounts-kustomize-") as home:
        argv = [*kustomize, str(directory)]
        if confine is not None:
            argv = sandbox.wrapped(argv, confine.absolute(), home)
        result = _bounded(argv, home, (cwd or directory).absolute(), timeout)
        if confine is not None and sandbox.exec_failed(result.returncode, result.stderr):
            sandbox.disable(result.stderr.strip().removeprefix(sandbox.MARKER).strip())
            argv = [*kustomize, str(directory)]
            result = _bounded(argv, home, (cwd or directory).absolute(), timeout)
        if confine is not None and _budget is not None:
            _budget.protection = sandbox.described()
        return result


def _bounded(
    argv: list[str], home: str, cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` reading its output as it comes, up to the bounds, within ``timeout``."""
    import subprocess

    deadline = time.monotonic() + timeout
    with subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=environment(home),
        cwd=cwd,
    ) as process:
        try:
            out, err = _read(process, argv, timeout, deadline)
            returncode = process.wait(max(0.1, deadline - time.monotonic()))
        except BaseException:
            process.kill()
            raise
    return subprocess.CompletedProcess(
        argv, returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    )


def _read(
    process: subprocess.Popen[bytes], argv: list[str], timeout: float, deadline: float
) -> tuple[bytearray, bytearray]:
    """stdout (up to ``MAX_OUTPUT_BYTES``, else OutputTooLarge) and the start of stderr."""
    import selectors
    import subprocess

    assert process.stdout is not None and process.stderr is not None  # noqa: S101 - PIPE
    out, err = bytearray(), bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, out)
        selector.register(process.stderr, selectors.EVENT_READ, err)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(argv, timeout)
            for key, _ in selector.select(left):
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                key.data.extend(chunk)
                if key.data is out and len(out) > MAX_OUTPUT_BYTES:
                    raise OutputTooLarge(
                        f"kustomize printed over {MAX_OUTPUT_BYTES >> 20} MiB: stopped"
                    )
                if key.data is err and len(err) > MAX_STDERR_BYTES:
                    del err[MAX_STDERR_BYTES:]
    return out, err
