"""``capa-accounts check``: its options and what they may not be given with; what it prints
and its exit code are ``console.check``'s (which ``direct.py`` runs too), the judging
``usecases.check``'s."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from capa_accounts import console
from capa_accounts.cli.options import output_option, repo_option
from capa_accounts.core.aws import is_account_id
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
    type=click.Choice(console.COLORS),
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
    sys.exit(
        console.check(
            click.echo,
            repo,
            stdin=source == "-",
            fmt=fmt,
            output=output,
            strict=strict,
            base_ref=base_ref,
            color_choice=color_choice,
            quiet=quiet,
            other_hooks=others,
            crds=crds,
            complete=complete,
            management_account=management_account,
        )
    )


def _other_hooks(value: str) -> set[str]:
    """``--with-hooks``: the other hooks of a commit, which print these rules' findings."""
    names, unknown = console.hook_names(value)
    if unknown:
        raise click.BadParameter(
            f"{', '.join(sorted(unknown))}: give render and/or scan-secrets",
            param_hint="--with-hooks",
        )
    return names
