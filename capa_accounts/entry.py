"""The ``capa-accounts`` console script.

``capa-accounts fn`` is what kustomize runs for every build that uses the function as an exec
plugin: it goes straight to the function, without loading the command line (click) that it
does not use. ``check`` and ``render`` as hooks and CI run them go the direct way
(``direct.py``), without click too. Everything else is parsed by ``cli``.
"""

from __future__ import annotations

import gc
import sys


def main() -> None:
    if sys.argv[1:] == ["fn"]:
        fn()
    if sys.argv[1:2] in (["fn"], ["check"]):
        _without_cycle_collector()
    if sys.argv[1:2] in (["check"], ["render"]):
        from capa_accounts import direct

        try:
            code = direct.run(sys.argv[1:])
        except SystemExit as done:
            leave(done.code)
        if code is not None:
            leave(code)
    from capa_accounts.cli import main as command_line

    try:
        command_line()
    except SystemExit as done:
        leave(done.code)


def fn() -> None:
    """The ``capa-accounts-fn`` console script (``capa-accounts fn`` without the rest)."""
    _without_cycle_collector()
    from capa_accounts.kustomize_plugin import fn as function

    leave(function.main())


def _without_cycle_collector() -> None:
    """The cycle collector off for the whole of a short process whose objects hold no cycles
    (the KRM function: one ResourceList; check: see ``hooks/check/engine.py``), which ends with
    ``leave``: its collections during the imports and the one over everything built when it
    was turned back on are about 5% of the function's time, and freeing is left to the end."""
    gc.disable()


def leave(code: object) -> None:
    """End the process as ``sys.exit(code)`` would, without freeing what the command built.

    A check of a large fleet holds hundreds of thousands of objects until the end; freeing
    them one by one as the interpreter unwinds costs about 6% of the check's CPU time at
    1,000 accounts, for memory the kernel takes back at once. Output is flushed and the exit
    handlers run (temporary directories are removed: tempfile registers them there through
    weakref.finalize), then ``os._exit``, as mypy ends its runs (mypy/util.py, hard_exit).
    """
    import atexit
    import os

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)  # what sys.exit("message") prints
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        # The reader went away (`check | head`): as Python reports a failed flush at exit.
        status = status or 120
    atexit._run_exitfuncs()
    os._exit(status)
