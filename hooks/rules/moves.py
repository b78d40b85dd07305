"""An account that moves (CAPA-D006): the same name in accounts.yaml, another AWS account.

Render derives every role ARN from an account's ``accountId``, ``partition`` and role name
(``namePrefix`` + ``controllers`` + ``nameSuffix``), so editing one of them on an existing
account silently points its identity, and with it every running control plane, at another
AWS account's role.
"""

from __future__ import annotations

from capa_accounts.core.model import Account
from capa_accounts.core.resources import ROLE_IDENTITY
from capa_accounts.hooks.check.context import Context
from capa_accounts.hooks.rules import Reporter, rule
from capa_accounts.hooks.rules.changes import base_of


@rule("CAPA-D006", change_aware=True, name="AccountMoved")
def check_account_moved(ctx: Context, report: Reporter) -> None:
    """(--base) An existing account's accountId, partition or role name changed.

    Why: the account's AWSClusterRoleIdentity keeps its name, so every control plane that
    uses it stays on it, but its `roleARN` now names a role in another AWS account (or
    partition, or another role): CAPA then calls AWS for the running EKS clusters with that
    role's credentials, where those clusters do not exist (CAPA assumes `roleARN` on every
    reconcile: pkg/cloud/scope/session.go), and creates new ones there for a new cluster. The
    old account's clusters are left without a reconciler. Compared by account name with
    accounts.yaml at the base ref; without accounts.yaml, by the `roleARN` of each role
    identity that exists at both.

    Bad (at REF "222222222222", now):
        - name: staging
          accountId: "444444444444"

    Good: a new account entry (new name, namespace and identity) for the other AWS account.

    Fix: restore the old value; to move workloads, add the other AWS account as a new account
    and decommission this one (`decommissioning: true`).
    """
    base = base_of(ctx)
    if ctx.account_set is not None and base.account_set is not None:
        for account in ctx.account_set.accounts:
            old = base.accounts_by_name.get(account.name)  # one lookup, not a scan
            if old is not None:
                _compare(ctx, report, old, account)
        return
    for ident in ctx.identities(ROLE_IDENTITY):
        before = base.identity(ROLE_IDENTITY, ident.name)
        was = before.get("spec", "roleARN") if before else None
        now = ident.get("spec", "roleARN")
        if isinstance(was, str) and isinstance(now, str) and was and now and was != now:
            report.at(
                ident,
                ("spec", "roleARN"),
                f"roleARN of {ROLE_IDENTITY} {ident.name!r} changed from {was!r} at "
                f"{ctx.base_ref} to {now!r}: every control plane that uses it moves to "
                "another role; add a new identity instead",
            )


def _compare(ctx: Context, report: Reporter, old: Account, new: Account) -> None:
    entry = _entry(ctx, new.index)
    changes = (
        ("accountId", old.account_id, new.account_id, ("accountId",)),
        ("partition", old.partition, new.partition, ("partition",)),
        ("role name", old.role_name, new.role_name, ("namePrefix", "nameSuffix")),
    )
    for what, was, now, keys in changes:
        if was == now:
            continue
        key = next((k for k in keys if k in entry), None)
        if key is not None:
            path: tuple[str | int, ...] = ("spec", "accounts", new.index, key)
        elif what == "partition":
            path = ("spec", "partition")
        else:
            path = ("spec", "accounts", new.index, "name")
        report.config(
            path,
            f"{what} of account {new.name!r} changed from {was!r} at "
            f"{ctx.base_ref} to {now!r}: its identity {new.identity_name!r} now "
            f"assumes {new.role_arn} and every running control plane of the account "
            "would be reconciled there; add a new account for the other AWS account "
            "and decommission this one instead",
        )


def _entry(ctx: Context, index: int) -> dict[str, object]:
    doc = ctx.account_set.document if ctx.account_set else None
    entry = doc.data["spec"]["accounts"][index] if doc else None
    return entry if isinstance(entry, dict) else {}
