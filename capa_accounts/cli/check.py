"""``capa-accounts check``: the options, the report written in its format, the summary line
where a log shows it, and the exit code; the judging is ``usecases.check``'s."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from capa_accounts import usecases
from capa_accounts.cli.options import EXIT_INPUT, output_option, repo_option, write_output
from capa_accounts.core.aws import is_account_id
from capa_accounts.core.errors import CapaAccountsError
from capa_accounts.hooks.report.formats import FORMATS as REPORT_FORMATS


@click.command()
@click.argument("source", required=False, metavar="[-]")
@repo_option
@click.option(
    "--format",
    "fmt",
    default="text",
    show_default=True,
    type=click.Choice(REPORT_FORMATS),
    help="Output format.",
)
@output_option
@click.option("--strict", is_flag=True, help="Warnings fail the check too.")
@click.option(
    "--base",
    "base_ref",
    metavar="REF",
    help="Also compare with git REF: the change-aware rules (CAPA-D*).",
)
@click.option(
    "--color",
    "color_choice",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "always", "never"]),
    help="Colour the text report: auto is a terminal's, unless NO_COLOR is set, or FORCE_COLOR.",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="No summary line, only the findings (or the report)."
)
@click.option(
    "--with-hooks",
    "with_hooks",
    default="",
    metavar="render,scan-secrets",
    help="The other capa-accounts pre-commit hooks of this commit: leave them what they print "
    "(render: an accounts.yaml that cannot be read, CAPA-R001; scan-secrets: CAPA-S*).",
)
@click.option(
    "--crd",
    "crds",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Validate against these CRDs too (file or directory; repeatable).",
)
@click.option(
    "--complete",
    is_flag=True,
    help="With -: the stream is the whole set, so what it lacks (the identity `default`, "
    "an identity named by identityRef) is an error, not an assumption.",
)
@click.option(
    "--management-account",
    "management_account",
    metavar="ID",
    help="Without accounts.yaml: the 12-digit account CAPA runs in, so that every target's "
    "trust is proven against that account's principal, not assumed from the files.",
)
def check(
    source: str | None,
    repo: Path,
    fmt: str,
    output: Path | None,
    strict: bool,
    base_ref: str | None,
    color_choice: str,
    quiet: bool,
    with_hooks: str,
    crds: tuple[Path, ...],
    complete: bool,
    management_account: str | None,
) -> None:
    """Check the trust and namespace invariants and the schemas of the repository.

    With - (`kubectl kustomize overlays/staging | capa-accounts check -`), check the stream of
    YAML documents on stdin instead: every rule about objects, none about repository files.
    What the stream refers to but does not hold is assumed applied elsewhere (a warning)
    unless --complete.
    """
    if source is not None and source != "-":
        raise click.UsageError(f"got {source!r}: give - to read stdin, or --repo DIR")
    if source == "-" and base_ref:
        raise click.UsageError("--base compares a repository with git history: not with -")
    if source == "-" and repo is not None:
        raise click.UsageError("- reads the documents from stdin: give it or --repo DIR")
    if source != "-" and complete:
        raise click.UsageError("--complete says a stream from - is whole: not with --repo")
    if management_account is not None and not is_account_id(management_account):
        raise click.UsageError(f"--management-account {management_account!r}: not 12 digits")
    others = _other_hooks(with_hooks)
    try:
        report = usecases.check(
            repo,
            stdin=sys.stdin.buffer if source == "-" else None,
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
        click.echo("capa-accounts: not checked: see capa-accounts render above", err=True)
        sys.exit(EXIT_INPUT)
    for failure in report.failures:  # files that could not be read: each named, exit 2
        click.echo(f"capa-accounts: {failure}", err=True)
    for warning in report.warnings_loading:
        click.echo(f"warning: {warning}", err=True)
    # Text prints the failures on stderr only; every other format carries them too.
    shown = report.without_input_errors() if fmt == "text" else report
    # Text names each unreadable file on stderr: no "0 errors" line after them.
    quiet = quiet or bool(fmt == "text" and report.input_errors)
    _finish(shown, fmt, output, strict, color_choice, quiet)
    sys.exit(report.exit_code(strict))


def _other_hooks(value: str) -> set[str]:
    """``--with-hooks``: the other hooks of a commit, which print these rules' findings."""
    names = {n.strip() for n in value.split(",") if n.strip()}
    if unknown := names - set(usecases.HOOK_RULES):
        raise click.BadParameter(
            f"{', '.join(sorted(unknown))}: give render and/or scan-secrets",
            param_hint="--with-hooks",
        )
    return names


def _finish(
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
    write_output(output, usecases.report_text(report, fmt, strict=strict, color=color), color)
    if quiet or (fmt == "github" and to_stdout):
        return
    on_stdout = fmt == "text" and to_stdout and sys.stdout.isatty()
    stream = sys.stdout if on_stdout else sys.stderr
    painted = common.color_wanted(stream, os.environ, color_choice)
    click.echo(common.summary_line(report, color=painted), err=not on_stdout, color=painted)
