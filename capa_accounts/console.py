"""What ``check`` and ``render`` print and the exit code they end with, below the parsing of
their arguments: the command line (click, ``cli/``) and the direct way (``direct.py``) run the
same functions here, so that a command says the same whichever parsed it. No click here: each
front end passes its ``echo`` (``click.echo``, or ``echo`` below where click is not loaded).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from capa_accounts import usecases
from capa_accounts.core.errors import CapaAccountsError

EXIT_INPUT = 2
COLORS = ("auto", "always", "never")  # check --color
T = TypeVar("T")


class Echo(Protocol):
    def __call__(
        self, message: str, *, err: bool = ..., nl: bool = ..., color: bool | None = ...
    ) -> Any: ...


# An ANSI control sequence (ECMA-48 CSI), which click removes from text written to a stream
# that is not a terminal unless told to colour: click/_compat.py (``_ansi_re``,
# ``should_strip_ansi``) and click/utils.py (``echo``, which also flushes after each write).
_ANSI = re.compile(r"\033\[[0-?]*[ -/]*[@-~]")


def echo(message: str, *, err: bool = False, nl: bool = True, color: bool | None = None) -> None:
    """``click.echo`` for text on a UTF-8 standard stream, the only kind the direct way writes
    to (``direct.py`` leaves any other to click)."""
    stream = sys.stderr if err else sys.stdout
    text = message + "\n" if nl else message
    if text:
        if (not stream.isatty()) if color is None else not color:
            text = _ANSI.sub("", text)
        stream.write(text)
    stream.flush()


def guarded(
    call: Callable[[], T],
    echo: Echo,
    *,
    debug: Callable[[], bool] = lambda: False,
    shown: Callable[[CapaAccountsError], None] = lambda err: None,
) -> T:
    """``call()``, its failures each said in one line on stderr and ended with exit 2 (a
    traceback only when ``debug()``); ``shown`` makes an error's path relative as the
    command's findings are."""
    try:
        return call()
    except CapaAccountsError as err:
        if debug():
            raise
        for one in (err, *err.more):
            shown(one)
            echo(f"capa-accounts: {one}", err=True)
        raise SystemExit(EXIT_INPUT) from None
    except RecursionError as err:
        if debug():
            raise
        echo("capa-accounts: input nested too deeply", err=True)
        raise SystemExit(EXIT_INPUT) from err
    except KeyboardInterrupt:
        # Ctrl-C outside a write (a write catches it and puts everything back): die of the
        # signal, as SIGTERM and SIGHUP do, so that a shell or CI runner sees an
        # interrupt, not click's "Aborted!" and exit 1 after, say, a complete render.
        import signal

        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        raise


def write_output(echo: Echo, output: Path | None, text: str, color: bool | None = None) -> None:
    """The report on stdout (``output`` None or ``-``), else written to ``output`` whole."""
    if output is None or str(output) == "-":
        echo(text, nl=False, color=color)  # color=True: ANSI is kept in a pipe
        return
    usecases.write_report(output, text)


def render(echo: Echo, root: Path, check_only: bool) -> int:
    """``render`` (``--check``: write nothing, print the diff) in the repository at ``root``;
    the exit code."""
    todo = usecases.render(root, check_only=check_only, say=lambda line: echo(line, err=True))
    if check_only:
        if todo:
            echo(usecases.diff(todo), nl=False)
            echo(f"{len(todo)} generated file(s) out of date: run `capa-accounts render`", err=True)
            return 1
        return 0
    echo("".join(f"{c.action:6} {c.path}\n" for c in todo) or "up to date\n", nl=False)
    return 0


def check(
    echo: Echo,
    repo: Path | None,
    *,
    stdin: bool = False,
    fmt: str = "text",
    output: Path | None = None,
    strict: bool = False,
    base_ref: str | None = None,
    color_choice: str = "auto",
    quiet: bool = False,
    other_hooks: Iterable[str] = (),
    crds: tuple[Path, ...] = (),
    complete: bool = False,
    management_account: str | None = None,
) -> int:
    """``check`` with arguments already validated: the report in its format, the summary line
    where a log shows it; the exit code."""
    others = set(other_hooks)
    try:
        report = usecases.check(
            repo,
            stdin=sys.stdin.buffer if stdin else None,
            fmt=fmt,
            base_ref=base_ref,
            crds=crds,
            complete=complete,
            management_account=management_account,
            other_hooks=others,
        )
    except CapaAccountsError:
        if "render" not in others:
            raise
        # render --check ran first (it is first in the config init writes) and printed why.
        echo("capa-accounts: not checked: see capa-accounts render above", err=True)
        return EXIT_INPUT
    for failure in report.failures:  # files that could not be read: each named, exit 2
        echo(f"capa-accounts: {failure}", err=True)
    for warning in report.warnings_loading:
        echo(f"warning: {warning}", err=True)
    # Text prints the failures on stderr only; every other format carries them too.
    shown = report.without_input_errors() if fmt == "text" else report
    # Text names each unreadable file on stderr: no "0 errors" line after them.
    quiet = quiet or bool(fmt == "text" and report.input_errors)
    _finish(echo, shown, fmt, output, strict, color_choice, quiet)
    return report.exit_code(strict)


def hook_names(value: str) -> tuple[set[str], set[str]]:
    """``--with-hooks``: the other hooks of a commit, which print these rules' findings; and
    the names in it that are no capa-accounts hook."""
    names = {n.strip() for n in value.split(",") if n.strip()}
    return names, names - set(usecases.HOOK_RULES)


def other_hooks(value: str) -> set[str] | None:
    """``--with-hooks`` as the direct way takes it: None when it names what is no hook."""
    names, unknown = hook_names(value)
    return None if unknown else names


def _finish(
    echo: Echo,
    report: usecases.Report,
    fmt: str,
    output: Path | None,
    strict: bool,
    color_choice: str,
    quiet: bool,
) -> None:
    """Write the report, then the summary line, in every log: after a text report on stdout
    when that is a terminal, else on stderr (a pipe or a file keeps only findings or the
    report). `--format github` on stdout ends with it already."""
    from capa_accounts.hooks.report import common

    to_stdout = output is None or str(output) == "-"
    color = to_stdout and common.color_wanted(sys.stdout, os.environ, color_choice)
    write_output(echo, output, usecases.report_text(report, fmt, strict=strict, color=color), color)
    if quiet or (fmt == "github" and to_stdout):
        return
    on_stdout = fmt == "text" and to_stdout and sys.stdout.isatty()
    stream = sys.stdout if on_stdout else sys.stderr
    painted = common.color_wanted(stream, os.environ, color_choice)
    echo(common.summary_line(report, color=painted), err=not on_stdout, color=painted)
