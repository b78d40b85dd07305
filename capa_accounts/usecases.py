"""The use cases the command line runs, below it: each takes the repository root and plain
values, takes the repository's lock, and returns what to print; ``cli.py`` only parses
arguments, prints and chooses the exit code. Nothing here imports click: a message for the
user on the way (a warning before a long run) goes through the ``say`` callback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from capa_accounts.core import lock

if TYPE_CHECKING:
    from capa_accounts.kustomize_plugin.generated import Change

Say = Callable[[str], None]


def render(repo: Path, *, check_only: bool, say: Say) -> list[Change]:
    """``render`` (``--check``: write nothing): the changes, as ``generated.Change``s."""
    from capa_accounts.core import model
    from capa_accounts.kustomize_plugin import transaction

    with lock.locked(repo, "render --check" if check_only else "render", shared=check_only):
        account_set = transaction.load(repo, check_only=check_only)
        for first, later in model.shared_account_ids(account_set):
            say(model.shared_id_warning(first, later))
        done = transaction.render(repo, account_set, check_only=check_only)
    for warning in done.plan.warnings:
        say(f"warning: {warning}")
    return done.todo


def diff(todo: list[Change]) -> str:
    """What ``render --check`` found out of date, as a unified diff."""
    from capa_accounts.kustomize_plugin import generated

    return generated.diff(todo)


def add_account(
    repo: Path,
    name: str,
    *,
    account_id: str,
    region: str,
    kubernetes_version: str | None,
    namespace: str | None,
) -> list[str]:
    """``add-account``: accounts.yaml edited and rendered in one transaction; the lines to print."""
    from capa_accounts.kustomize_plugin import accounts_edit

    with lock.locked(repo, "add-account"):
        return accounts_edit.add_account(
            repo,
            name,
            account_id=account_id,
            region=region,
            kubernetes_version=kubernetes_version,
            namespace=namespace,
        )


def graph(
    repo: Path,
    fmt: str,
    *,
    accounts: tuple[str, ...],
    errors_only: bool,
    base_ref: str | None,
) -> str:
    """``graph``: the trust chain drawn in ``fmt`` (it runs check: the same consistent read)."""
    from capa_accounts.hooks.graph import draw

    with lock.locked(repo, "graph", shared=True):
        return draw.draw(repo, fmt, accounts=accounts, errors_only=errors_only, base_ref=base_ref)


def explain(rule_id: str) -> str:
    """``explain RULE``: the rule's page for a terminal."""
    from capa_accounts.hooks.report import explain as explaining

    return explaining.explain(rule_id)


def rules(fmt: str) -> str:
    """``rules``: the catalogue of every rule."""
    from capa_accounts.hooks.report import catalogue

    return catalogue.render(fmt)
