"""The command line: parses arguments, calls the use cases (``usecases.py``) and prints.

The roof of the house: the only module that imports click, and the only place on the
``kustomize_plugin`` side that imports ``hooks``. Imports of the work itself are lazy so that
``--help`` starts fast (``capa-accounts fn`` alone does not even come here: ``entry``).
Failures are caught once here: one line on stderr, exit 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from capa_accounts import usecases
from capa_accounts.core.aws import is_account_id
from capa_accounts.core.eks_versions import TABLE_DATE
from capa_accounts.core.errors import CapaAccountsError
from capa_accounts.hooks.report.formats import CATALOGUE_FORMATS
from capa_accounts.hooks.report.formats import FORMATS as REPORT_FORMATS

F = TypeVar("F", bound=Callable[..., Any])
EXIT_INPUT = 2


class _Group(click.Group):
    """Turns every failure into one line and exit 2; a traceback only with --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CapaAccountsError as err:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            for one in (err, *err.more):
                _shift_error(ctx, one)
                click.echo(f"capa-accounts: {one}", err=True)
            ctx.exit(EXIT_INPUT)
        except RecursionError as err:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo("capa-accounts: input nested too deeply", err=True)
            raise SystemExit(EXIT_INPUT) from err

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


def _say(line: str) -> None:
    """A message on the way (a warning), on stderr."""
    click.echo(line, err=True)


def repo_option(func: F) -> F:
    return click.option(
        "--repo",
        "repo",
        default=None,
        type=click.Path(file_okay=False, path_type=Path),
        help="Repository root (holds accounts.yaml); default: the current "
        "directory or the first one above it with accounts.yaml.",
    )(func)


def _repo(path: Path | None) -> Path:
    """The repository root (``usecases.locate``), remembered with the anchor that paths in
    output are relative to, for the failures printed at the top."""
    obj = click.get_current_context().find_root().obj
    root, anchor = usecases.locate(path)
    if isinstance(obj, dict):
        obj["root"], obj["anchor"] = root, anchor
    return root


def _shift_error(ctx: click.Context, err: CapaAccountsError) -> None:
    obj = ctx.obj or {}
    usecases.shown_error(err, obj.get("root"), obj.get("anchor"))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks of failures.")
@click.version_option(
    package_name="capa-accounts",
    prog_name="capa-accounts",
    message=f"%(prog)s, version %(version)s (EKS release calendar of {TABLE_DATE})",
)
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Multi-account CAPA for GitOps: render overlays from accounts.yaml, check the invariants."""
    ctx.obj = {"debug": debug}


@main.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--here",
    is_flag=True,
    help="Into the current directory (the top of a git repository, or empty).",
)
@click.option(
    "--hooks",
    default="remote",
    show_default=True,
    type=click.Choice(["remote", "local"]),
    help="pre-commit hooks from this project's repository, pinned to what this capa-accounts "
    "was installed from (remote), or repo: local hooks that run the capa-accounts on PATH "
    "with no network at all (local).",
)
def init(directory: Path | None, here: bool, hooks: str) -> None:
    """Write a complete, rendered example repository (management, staging, live) into DIRECTORY:
    a new or empty directory, or the top of an existing git repository (no other file is
    touched; nothing is written if a name init writes exists)."""
    if (directory is None) == (not here):
        raise click.UsageError(
            "give DIRECTORY or --here (the current directory), not both"
            if here
            else "give DIRECTORY, or --here for the current directory"
        )
    target = Path(".") if here or directory is None else directory
    click.echo(usecases.init(target, hooks=hooks), nl=False)


@main.command()
@repo_option
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; print a diff and exit 1 if generated files are out of date.",
)
def render(repo: Path, check_only: bool) -> None:
    """(Re)write every generated file from accounts.yaml and base/."""
    todo = usecases.render(_repo(repo), check_only=check_only, say=_say)
    if check_only:
        if todo:
            click.echo(usecases.diff(todo), nl=False)
            click.echo(
                f"{len(todo)} generated file(s) out of date: run `capa-accounts render`", err=True
            )
            sys.exit(1)
        return
    click.echo("".join(f"{c.action:6} {c.path}\n" for c in todo) or "up to date\n", nl=False)


def output_option(func: F) -> F:
    return click.option(
        "-o",
        "--output",
        "output",
        metavar="FILE",
        type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
        help="Write the report to FILE (atomically: old or new, never half) "
        "instead of stdout; - is stdout.",
    )(func)


def _write_output(output: Path | None, text: str, color: bool | None = None) -> None:
    if output is None or str(output) == "-":
        click.echo(text, nl=False, color=color)  # color=True: click keeps ANSI in a pipe
        return
    usecases.write_report(output, text)


@main.command()
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
    _write_output(output, usecases.report_text(report, fmt, strict=strict, color=color), color)
    if quiet or (fmt == "github" and to_stdout):
        return
    on_stdout = fmt == "text" and to_stdout and sys.stdout.isatty()
    stream = sys.stdout if on_stdout else sys.stderr
    painted = common.color_wanted(stream, os.environ, color_choice)
    click.echo(common.summary_line(report, color=painted), err=not on_stdout, color=painted)


@main.command("import")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--into",
    "destination",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write accounts.yaml and base/ into (no existing file is replaced).",
)
@click.option("--management-account-id", default=None, help="When no target stack names it.")
def import_command(source: Path, destination: Path, management_account_id: str | None) -> None:
    """Write accounts.yaml and base/ from a hand-written tree (manifests, kustomizations,
    clusterawsadm configs) so that render reproduces it; list what it cannot represent."""
    click.echo(usecases.import_tree(source, destination, management_account_id), nl=False)


@main.command("add-account")
@click.argument("name")
@click.option("--account-id", required=True, help="12-digit AWS account ID.")
@click.option("--region", required=True, help="AWS region, such as eu-west-1.")
@click.option(
    "--kubernetes-version",
    default=None,
    help='Kubernetes "major.minor" (default: the newest version other accounts use, while '
    "EKS gives it standard support; else the newest version that has it).",
)
@click.option("--namespace", default=None, help="Namespace (default: the account name).")
@repo_option
def add_account(
    name: str,
    account_id: str,
    region: str,
    kubernetes_version: str | None,
    namespace: str | None,
    repo: Path,
) -> None:
    """Add an account to accounts.yaml (comments and layout kept), then render."""
    lines = usecases.add_account(
        _repo(repo),
        name,
        account_id=account_id,
        region=region,
        kubernetes_version=kubernetes_version,
        namespace=namespace,
    )
    for line in lines:
        click.echo(line)


@main.command()
@repo_option
@click.option(
    "--format",
    "fmt",
    default="mermaid",
    show_default=True,
    type=click.Choice(["mermaid", "dot"]),
    help="Mermaid (GitHub) or Graphviz DOT.",
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="NAME",
    help="Only this account's box and what it links to (repeatable).",
)
@click.option("--errors-only", is_flag=True, help="Only the broken links (check errors).")
@click.option(
    "--base",
    "base_ref",
    metavar="REF",
    help="Only what changed since the git ref REF, marked added, removed or changed.",
)
@output_option
def graph(
    repo: Path,
    fmt: str,
    accounts: tuple[str, ...],
    errors_only: bool,
    base_ref: str | None,
    output: Path | None,
) -> None:
    """Draw the trust chain: management principal, roles, identities, namespaces, clusters.

    One box per account. Mermaid text over Mermaid's default limits (50,000 characters, 500
    edges) is refused: select accounts, --errors-only, or --format dot. With --base, only what
    the change touches is drawn, cut to those limits by account (the rest named), for a pull
    request.
    """
    picture = usecases.graph(
        _repo(repo), fmt, accounts=accounts, errors_only=errors_only, base_ref=base_ref
    )
    _write_output(output, picture)


@main.command()
@click.argument("rule_id", metavar="RULE")
def explain(rule_id: str) -> None:
    """Explain a rule: what it guards against, why, a bad and a good example, how to fix."""
    click.echo(usecases.explain(rule_id), nl=False)


@main.command("rules")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(CATALOGUE_FORMATS),
    default="text",
    show_default=True,
    help="text: one line per rule; json: a list of objects, each with its documentation page.",
)
def rules_command(fmt: str) -> None:
    """List every rule: ID, severity and what it fires on (`explain RULE` for the rest)."""
    click.echo(usecases.rules(fmt), nl=False)


@main.command("fn")
def fn_command() -> None:
    """The KRM function: a ResourceList on stdin, the transformed ResourceList on stdout."""
    from capa_accounts.kustomize_plugin import fn

    sys.exit(fn.main())


@main.command()
@click.argument("kind", type=click.Choice(["accountset", "account"]))
def schema(kind: str) -> None:
    """Print the JSON Schema of accounts.yaml (accountset) or the function config (account)."""
    click.echo(usecases.schema(kind), nl=False)


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script: `eval "$(capa-accounts completion bash)"` in ~/.bashrc
    (zsh: ~/.zshrc; fish: `capa-accounts completion fish | source` in config.fish)."""
    from click.shell_completion import get_completion_class

    # click's own scripts (click/shell_completion.py): the shell calls back into capa-accounts
    # with _CAPA_ACCOUNTS_COMPLETE=<shell>_complete, the variable named after the program.
    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click ships all three
        raise click.UsageError(f"click has no completion for {shell}")
    click.echo(cls(main, {}, "capa-accounts", "_CAPA_ACCOUNTS_COMPLETE").source(), nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
