"""render's transaction, spelled out once: read accounts.yaml (after a killed run's temporary
files are gone), plan every generated file, compare with the tree, and write the difference
all or nothing. ``render``, ``add-account`` and ``init`` all go through ``render`` here; each
runs it under the repository's lock (``core.lock``), which the caller takes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from capa_accounts.core import accounts_file, model
from capa_accounts.core.record import Mutable
from capa_accounts.kustomize_plugin import generated, plan_cache
from capa_accounts.kustomize_plugin import render as rendering
from capa_accounts.kustomize_plugin.generated import Change
from capa_accounts.kustomize_plugin.plan import Plan


class Rendered(Mutable):
    """What one render transaction planned and changed."""

    FIELDS = ("account_set", "plan", "todo")
    account_set: model.AccountSet
    plan: Plan
    todo: list[Change]  # what changed (or, with check_only, what is out of date)

    def __init__(self, account_set: model.AccountSet, plan: Plan, todo: list[Change]) -> None:
        self.account_set = account_set
        self.plan = plan
        self.todo = todo


def load(repo: Path, *, check_only: bool = False) -> model.AccountSet:
    """accounts.yaml, read once a killed run's temporary files are removed (not by a
    read-only run: it holds the shared lock, a writer may be at work)."""
    if not check_only:
        generated.remove_leftovers(repo)  # a killed run's, before anything is read
    return accounts_file.load_account_set(repo)


def render(
    repo: Path,
    account_set: model.AccountSet | None = None,
    *,
    check_only: bool = False,
    only: Iterable[str] | None = None,
    scope: Iterable[str] | None = None,
    also: list[tuple[Path, str, str]] | None = None,
) -> Rendered:
    """Plan, compare and (unless ``check_only``) write as one transaction (``generated.apply``).

    ``only``/``scope``: plan some accounts only and delete only in their directories
    (add-account); ``also``: more files put in place last, in the same transaction (the edited
    accounts.yaml)."""
    if account_set is None:
        account_set = load(repo, check_only=check_only)
    if not check_only and account_set.flux.path not in generated.MANAGED_DIRS:
        generated.remove_leftovers(repo, (account_set.flux.path,))
    # The whole fleet's plan is kept between runs (plan_cache: reused only while the tool and
    # everything the plan read are byte for byte the same), so a render with nothing to do
    # costs reading the tree; a plan of some accounts (add-account) is made afresh.
    if only is None:
        plan = plan_cache.cached_plan(repo, account_set, documents=False)
    else:
        plan = rendering.plan(repo, account_set, only=only)
    todo = generated.changes(repo, plan, scope=scope)
    if not check_only:
        generated.apply(repo, todo, also=also)
    return Rendered(account_set, plan, todo)
