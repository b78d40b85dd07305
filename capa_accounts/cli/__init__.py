"""The command line: parses arguments, calls the use cases (``usecases.py``) and prints.

The roof of the house: the only package that imports click (``check.py`` is the ``check``
command, ``options.py`` what the commands share). Imports of the work itself are lazy so that
``--help`` starts fast (``capa-accounts fn`` alone does not even come here, nor ``check`` and
``render`` as hooks run them: ``entry``, ``direct``). Failures are caught once here, by
``console.guarded``: one line on stderr, exit 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from capa_accounts import console, usecases
from capa_accounts.cli.check import check
from capa_accounts.cli.options import (
    output_option,
    repo_option,
    repo_root,
    shift_error,
    write_output,
)
from capa_accounts.core.eks_versions import TABLE_DATE
from capa_accounts.hooks.report.formats import CATALOGUE_FORMATS


class _Group(click.Group):
    """Turns every failure into one line and exit 2; a traceback only with --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        return console.guarded(
            lambda: super(_Group, self).invoke(ctx),
            click.echo,
            debug=lambda: bool(ctx.obj and ctx.obj.get("debug")),
            shown=lambda err: shift_error(ctx, err),
        )

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


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
    sys.exit(console.render(click.echo, repo_root(repo), check_only))


main.add_command(check)


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
        repo_root(repo),
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
        repo_root(repo), fmt, accounts=accounts, errors_only=errors_only, base_ref=base_ref
    )
    write_output(output, picture)


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
