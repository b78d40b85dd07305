"""Who may assume each target's controllers role (CAPA-T003): exactly the management
principal, account included, or the hub role a spoke chains through.

With accounts.yaml the principal is declared there. Without it (a hand-written repository, a
stream) it is read from what the files say (``capa_accounts/core/management.py``), and each
finding says which evidence was used. The stacks, identities and hubs are ``trust.py``'s.
"""

from __future__ import annotations

from capa_accounts.core.finding import Location
from capa_accounts.core.iam_policy import (
    Principal,
    controllers_role,
    parse_role_arn,
    trust_problems,
)
from capa_accounts.core.management import Identity, Management, management, owner, trusted
from capa_accounts.core.model import OPERATOR
from capa_accounts.hooks.check.context import Context, Obj
from capa_accounts.hooks.rules import Reporter, rule
from capa_accounts.hooks.rules.identities import ALLOWED
from capa_accounts.hooks.rules.trust import Stacks, hub_of, hubs_by_account, role_identities, stacks

DECLARE = (
    "declare the management account with `--management-account <12 digits>` to make the "
    "proof complete"
)


@rule("CAPA-T003", "error")
def target_trust(ctx: Context, report: Reporter) -> None:
    """A target account's bootstrap `trustStatements` do not trust exactly the management principal.

    Why: clusterawsadm appends `trustStatements` to the controllers role's trust policy
    (cmd/clusterawsadm/cloudformation/bootstrap/cluster_api_controller.go:54-58). Without one
    for the management principal CAPA's AssumeRole fails (CAPA issue #4046); with `*`, another
    account, a bare `:root` or extra principals, others may take over the account's clusters.
    `:root` passes only with a Condition `ArnEquals`, `ArnLike` or `StringEquals` on
    `aws:PrincipalArn` naming the management principal. `sts:TagSession` beside
    `sts:AssumeRole` is accepted (EKS Pod Identity sessions carry transitive tags). Hub and
    spoke: when the account's identity chains through another role identity
    (`sourceIdentityRef: {kind: AWSClusterRoleIdentity}`), CAPA assumes the spoke with the
    hub's credentials (pkg/cloud/scope/session.go, buildProvidersForRef;
    pkg/cloud/identity/identity.go), so the spoke must trust the hub's role instead.

    Bad:
        trustStatements:
          - {Effect: Allow, Action: sts:AssumeRole, Principal: {AWS: "*"}}

    Good:
        trustStatements:
          - {Effect: Allow, Action: [sts:AssumeRole], Principal: {AWS: <management principal>}}

    In operator mode (`credentials: operator`) no role is assumed across accounts: each
    account's provider runs with that account's own keys, and its stack trusts no one.

    Without accounts.yaml (a hand-written repository, a stream) the whole principal is judged,
    account included, from what the files say: the account declared with
    `--management-account`, else the account the management stack's own trust names (its
    OIDC provider), else the account the other targets agree on; the message says which.
    Every target must trust one and the same management principal. With one target and
    nothing else which account manages cannot be told: a warning asks to declare it. A stack
    whose controllers role only a web identity or an AWS service assumes is the management
    account's own setup (CAPA's specify-management-iam-role page), not a target. A spoke's
    stack, found by a role name only its identity assumes or by its file name, must trust its
    hub's role.

    Fix: run `capa-accounts render`; by hand, trust only the management account's controllers
    role (or its bootstrap user, when CAPA runs with it).
    """
    if ctx.account_set is not None and ctx.account_set.credentials == OPERATOR:
        return
    found = stacks(ctx)
    if ctx.account_set is None:
        by_content(ctx, report, found)
        return
    account_set = ctx.account_set
    hubs = hubs_by_account(ctx)
    for stack, account in found.targets:
        partition = (
            account.partition
            if account
            else str(stack.get("spec", "partition") or account_set.partition)
        )
        principal = Principal(account_set.management.principal_arn(partition))
        related: tuple[Location, ...] = (ctx.config_location(("spec", "management", "accountId")),)
        if account is not None and account.name in hubs:
            spoke, hub = hubs[account.name]
            principal = Principal(
                str(hub.get("spec", "roleARN")),
                role=f"the hub role of {hub.name!r} ({spoke.name} chains through it)",
            )
            related = (hub.location(("spec", "roleARN")),)
        where = (
            f"the controllers role of account {account.name}"
            if account
            else "this target's controllers role"
        )
        for path, message in trust_problems(stack.data, principal):
            # A key that is missing, or whose name is the problem (NotPrincipal), is pointed at.
            report.at(
                stack,
                path,
                f"{where} {message}",
                related=related,
                at_key=path[-1] == "NotPrincipal" or not stack.has(*path),
            )


def _identities(ctx: Context) -> tuple[list[Identity], dict[str, Obj]]:
    """Role identities as plain data, and the hub each spoke account chains through."""
    out: list[Identity] = []
    hubs: dict[str, Obj] = {}
    for obj, _ in role_identities(ctx):
        arn = parse_role_arn(obj.get("spec", "roleARN"))
        if arn is None:
            continue
        listed = obj.get(*ALLOWED, "list")
        namespaces = (
            tuple(n for n in listed if isinstance(n, str)) if isinstance(listed, list) else ()
        )
        out.append(
            Identity(obj.name, str(obj.get("spec", "roleARN")), arn.account, arn.name, namespaces)
        )
        hub = hub_of(ctx, obj)
        if hub is not None:
            hubs.setdefault(arn.account, hub)
    return out, hubs


def by_content(ctx: Context, report: Reporter, found: Stacks) -> None:
    """T003 where no accounts.yaml names the management account: by what the files say."""
    identities, hubs = _identities(ctx)
    hub_arns = {str(h.get("spec", "roleARN")): h for h in hubs.values()}
    names = Principal.of_management([m.data for m in found.management]).names
    plan: list[tuple[Obj, Principal | None, str]] = []  # None: the management principal
    for stack, _ in found.targets:
        mapped = owner(stack.file, controllers_role(stack.data), identities)
        hub = hubs.get(mapped[0].account) if mapped else None
        why = f"; {mapped[0].name}'s stack, as {mapped[1]}" if mapped and hub else ""
        if hub is None:  # a stack that trusts a hub role exactly is that hub's spoke
            hub = next(
                (hub_arns[t.value] for t in trusted(stack.data) if t.value in hub_arns), None
            )
        if hub is None:
            plan.append((stack, None, ""))
            continue
        principal = Principal(str(hub.get("spec", "roleARN")), role=f"the hub role of {hub.name!r}")
        plan.append((stack, principal, f" (its spoke chains through {hub.name}{why})"))
    managed = [trusted(s.data) for s, p, _why in plan if p is None]
    mgmt = management(
        ctx.management_account,
        [o.data for o in found.management + found.own],
        managed,
        names,
    )
    for stack, principal, why in plan:
        if principal is not None:
            _report(report, stack, trust_problems(stack.data, principal), why)
            continue
        principal = Principal(None, names, account=mgmt.account)
        evidence = f" (management account {mgmt.account}: {mgmt.evidence})" if mgmt.known else ""
        problems = trust_problems(stack.data, principal)
        _report(report, stack, problems, evidence)
        if not problems and not mgmt.known:
            _unknown_account(report, stack, mgmt, len(managed))


def _report(
    report: Reporter, stack: Obj, problems: list[tuple[tuple[str | int, ...], str]], evidence: str
) -> None:
    for path, message in problems:
        report.at(
            stack,
            path,
            f"this target's controllers role {message}{evidence}",
            at_key=path[-1] == "NotPrincipal" or not stack.has(*path),
        )


def _unknown_account(report: Reporter, stack: Obj, mgmt: Management, targets: int) -> None:
    """The stack trusts one principal, but nothing tells whether its account manages."""
    shown = [t for t in trusted(stack.data)]
    if not shown:
        return
    first = shown[0]
    if targets >= 2 and len(mgmt.trusted_by_targets) > 1:
        others = ", ".join(f"{a} ({n})" for a, n in mgmt.trusted_by_targets)
        report.at(
            stack,
            first.path,
            f"this target's controllers role trusts {first.value}, but the target stacks "
            f"trust different accounts ({others}): every target must trust one and the same "
            f"management principal; {DECLARE}",
        )
        return
    report.at(
        stack,
        first.path,
        f"this target's controllers role trusts {first.value}, but no file tells which "
        f"account manages (one target, no management stack naming its account): the "
        f"principal is assumed, not proven; {DECLARE}",
        severity="warning",
    )
