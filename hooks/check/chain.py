"""The links of the trust chain as the repository holds them, found once for the rules that
judge them (CAPA-T*, CAPA-I*) and the graph that draws them: the IAM stacks by role (the
management stack, each target's, the management account's own setup), the role identities
with their accounts, and which identity chains through which (hub and spoke)."""

from __future__ import annotations

from capa_accounts.core import layout
from capa_accounts.core.iam_policy import TRUST, grants_assume_role, parse_role_arn
from capa_accounts.core.management import own_setup
from capa_accounts.core.model import Account
from capa_accounts.core.record import Mutable
from capa_accounts.core.resources import ROLE_IDENTITY
from capa_accounts.hooks.check.context import Context, Obj

MANAGEMENT_FILE = layout.MANAGEMENT_BOOTSTRAP


class Stacks(Mutable):
    """The IAM bootstrap stacks of the repository, by the role each plays."""

    FIELDS = ("management", "targets", "by_account", "own")
    management: list[Obj]
    targets: list[tuple[Obj, Account | None]]
    by_account: dict[str, Obj]
    # The management account's own setup (its controllers role assumed by a web identity or
    # an AWS service): no target, and evidence of which account manages.
    own: list[Obj]

    def __init__(
        self,
        management: list[Obj] | None = None,
        targets: list[tuple[Obj, Account | None]] | None = None,
        by_account: dict[str, Obj] | None = None,
        own: list[Obj] | None = None,
    ) -> None:
        self.management = [] if management is None else management
        self.targets = [] if targets is None else targets
        self.by_account = {} if by_account is None else by_account
        self.own = [] if own is None else own


def stacks(ctx: Context) -> Stacks:
    out = Stacks()
    for obj in ctx.iam_configs():
        account = ctx.account_of(obj) if ctx.account_set else None
        if ctx.account_set and obj.file == MANAGEMENT_FILE:
            out.management.append(obj)
        elif account is not None:
            out.targets.append((obj, account))
            out.by_account.setdefault(account.name, obj)
        elif grants_assume_role(obj.data):
            out.management.append(obj)
        elif own_setup(obj.data):
            out.own.append(obj)
        elif obj.has(*TRUST):
            out.targets.append((obj, None))
    return out


def role_identities(ctx: Context) -> list[tuple[Obj, Account | None]]:
    return [
        (obj, ctx.account_of(obj) if ctx.account_set else None)
        for obj in ctx.identities(ROLE_IDENTITY)
    ]


def hub_of(ctx: Context, obj: Obj) -> Obj | None:
    """The role identity whose credentials make ``obj``'s AssumeRole (hub and spoke), if any.

    CAPA builds one credentials provider per hop and hands each role provider the previous
    hop's provider as its source (pkg/cloud/scope/session.go, buildProvidersForRef:
    ``sourceProvider = providers[len(providers)-1]``; pkg/cloud/identity/identity.go,
    NewAWSRolePrincipalTypeProvider and Retrieve, whose STS client signs with the source's
    credentials). So a spoke that chains through another role identity is assumed by the hub's
    role, never by the management principal; only a chain from `default` starts there.
    """
    ref = obj.get("spec", "sourceIdentityRef")
    if not isinstance(ref, dict) or ref.get("kind") != ROLE_IDENTITY:
        return None
    name = ref.get("name")
    hub = ctx.identity(ROLE_IDENTITY, name) if isinstance(name, str) and name else None
    if hub is None or hub.id == obj.id or parse_role_arn(hub.get("spec", "roleARN")) is None:
        return None  # dangling, a cycle or a bad roleARN: I007 and T001 say so
    return hub


def hubs_by_account(ctx: Context) -> dict[str, tuple[Obj, Obj]]:
    """Account name → (its spoke identity, the hub that identity chains through), read once."""
    out: dict[str, tuple[Obj, Obj]] = {}
    for obj, owner in role_identities(ctx):
        hub = hub_of(ctx, obj) if owner is not None else None
        if owner is not None and hub is not None:
            out.setdefault(owner.name, (obj, hub))
    return out
