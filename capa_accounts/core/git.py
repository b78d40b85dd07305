"""The one way capa-accounts runs git: every call of every command goes through here.

The repository being checked may be a pull request's, so its ``.git/config`` is the attacker's:
a configured program must never run and git must never reach the network. Each setting below
names what it turns off (git's own Documentation/config/*.txt and Documentation/git.txt):

- ``core.fsmonitor=false``: a hook program git runs to list changed files, on ``ls-files``,
  ``status`` and any command that refreshes the index (config/core.txt, ``core.fsmonitor``).
- ``core.untrackedCache=false``: no write of the untracked cache into the index.
- ``protocol.allow=never``: no transport at all, so neither a lazy fetch of a partial clone's
  missing objects nor ``remote.*.uploadpack`` can run (config/protocol.txt).
- ``core.hooksPath`` to an empty place, ``core.pager=cat``, ``diff.external`` and
  ``--no-ext-diff``/``--no-textconv`` for diffs: no hook, pager, external diff or textconv
  program (config/core.txt, config/diff.txt).
- ``GIT_CONFIG_NOSYSTEM``: no system-wide configuration; ``GIT_NO_LAZY_FETCH``: no lazy fetch
  even where a git predates ``protocol.allow`` covering it; ``GIT_OPTIONAL_LOCKS=0``: read-only
  commands take no index lock (git.txt, "Environment Variables"); ``GIT_TERMINAL_PROMPT=0``:
  never a credential prompt; ``GIT_PAGER``/``PAGER``: never a pager; ``GIT_EXTERNAL_DIFF`` and
  ``GIT_ASKPASS``/``SSH_ASKPASS`` removed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capa_accounts.core.errors import GitError

if TYPE_CHECKING:
    import subprocess

TIMEOUT = 120.0

OPTIONS: tuple[str, ...] = (
    "--no-pager",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.untrackedCache=false",
    "-c",
    "protocol.allow=never",
    "-c",
    f"core.hooksPath={os.devnull}",
    "-c",
    "core.pager=cat",
    "-c",
    "diff.external=",
    "-c",
    "core.quotepath=off",
)
_SET = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_NO_LAZY_FETCH": "1",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
}
_DROP = ("GIT_EXTERNAL_DIFF", "GIT_ASKPASS", "SSH_ASKPASS", "GIT_SSH", "GIT_SSH_COMMAND")


def env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment git runs with: the caller's (a pre-commit hook's ``GIT_INDEX_FILE``
    stays), hardened."""
    out = {k: v for k, v in (os.environ if base is None else base).items() if k not in _DROP}
    out.update(_SET)
    return out


def argv(*args: str) -> list[str]:
    """``git`` with the hardening options before ``args``."""
    return ["git", *OPTIONS, *args]


def run(
    root: Path,
    *args: str,
    stdin: bytes | None = None,
    timeout: float = TIMEOUT,
    where: str = "git",
) -> subprocess.CompletedProcess[bytes]:
    """Run one git command in ``root``; GitError (naming ``where``) when git cannot run."""
    import subprocess  # here: a check that runs no git does not import it

    try:
        return subprocess.run(
            argv(*args),
            cwd=root,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
            env=env(),
        )
    except FileNotFoundError as err:
        raise GitError("git is not installed", where) from err
    except (OSError, subprocess.TimeoutExpired) as err:
        raise GitError(f"git could not run: {err}", where) from err


def popen(root: Path, args: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start one long-running git command (``cat-file --batch``) in ``root``, hardened."""
    import subprocess

    return subprocess.Popen(argv(*args), cwd=root, env=env(), **kwargs)
