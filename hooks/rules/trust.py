"""The trust chain between AWS accounts (CAPA-T001 … T005): can the management principal, and
only it, assume each target's controllers role the way the identities ask? (Role ARNs, the
targets' ``trustStatements``, the management ``sts:AssumeRole`` grant; how IAM reads a stack is
``capa_accounts/core/iam_policy.py``, which account manages where no accounts.yaml says so is
``capa_accounts/core/management.py``.) With accounts.yaml, ``bootstrap/management.yaml`` is the
management stack and ``bootstrap/<account>.yaml`` each target's, as render writes them; any
other ``AWSIAMConfiguration``, and all of a hand-written repository, is judged by content:
granting ``sts:AssumeRole`` makes a management stack, a web-identity or service trust the
management account's own setup, ``trustStatements`` a target.
"""

from __future__ import annotations

from capa_accounts.core.finding import Location
from capa_accounts.core.iam_policy import (
    Grant,
    Principal,
    assume_role_grant,
    controllers_role,
    parse_role_arn,
    trust_problems,
)
from capa_accounts.core.management import Hub, Identity, by_content
from capa_accounts.core.model import OPERATOR
from capa_accounts.core.resources import ROLE_IDENTITY
from capa_accounts.core.substitution import templated
from capa_accounts.hooks.check.chain import (
    Stacks,
    hub_of,
    hubs_by_account,
    role_identities,
    stacks,
)
from capa_accounts.hooks.check.context import Context, Obj
from capa_accounts.hooks.rules import Reporter, rule

MAX_CHAINED_SESSION = 3600


@rule("CAPA-T001", "error", name="InvalidRoleArn")
def check_role_arn_form(ctx: Context, report: Reporter) -> None:
    """A role identity's `roleARN` is not `arn:<partition>:iam::<12 digits>:role/<path/name>`.

    Why: CAPA passes `roleARN` to STS AssumeRole unchanged (pkg/cloud/identity/identity.go:77-90);
    a placeholder, a wildcard or a user ARN fails there, and no cluster using the identity
    reconciles.

    Bad:
        roleARN: arn:aws:iam::<account-id>:role/controllers.cluster-api-provider-aws.sigs.k8s.io

    Good:
        roleARN: arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io

    Fix: write the 12-digit ID and role name (accounts.yaml: set `accountId`, then render).
    """
    for obj in ctx.identities(ROLE_IDENTITY):
        arn = obj.get("spec", "roleARN")
        if obj.has("spec", "roleARN") and not templated(arn) and parse_role_arn(arn) is None:
            report.at(
                obj,
                ("spec", "roleARN"),
                f"roleARN {obj.get('spec', 'roleARN')!r} is not arn:<partition>:iam::"
                "<12-digit account>:role/<name>: STS rejects the AssumeRole, so no cluster "
                f"using {obj.name} reconciles",
            )


@rule("CAPA-T002", "error", name="RoleArnWrongAccount")
def check_role_arn_account(ctx: Context, report: Reporter) -> None:
    """`roleARN`'s account is not the account declared for that identity's account.

    Why: CAPA builds clusters in whichever account `roleARN` names (pkg/cloud/scope/session.go:
    273-289): staging's clusters would be created, billed and exposed in another account.

    Bad:
        # accounts.yaml: staging has accountId "222222222222"
        roleARN: arn:aws:iam::333333333333:role/controllers.cluster-api-provider-aws.sigs.k8s.io

    Good:
        roleARN: arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io

    Fix: run `capa-accounts render`, or correct `accountId` in accounts.yaml if that is wrong.
    """
    if ctx.account_set is None:
        return
    for obj, account in role_identities(ctx):
        arn = parse_role_arn(obj.get("spec", "roleARN"))
        if arn is None or account is None or arn.account == account.account_id:
            continue
        report.at(
            obj,
            ("spec", "roleARN"),
            f"roleARN names AWS account {arn.account}, but accounts.yaml declares "
            f"{account.account_id} for account {account.name}: its clusters would be built "
            "in another account",
            related=(ctx.config_location(("spec", "accounts", account.index, "accountId")),),
        )


@rule("CAPA-T003", "error", name="TrustNotExactlyManagement")
def check_target_trust(ctx: Context, report: Reporter) -> None:
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
        _by_content(ctx, report, found)
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


def _by_content(ctx: Context, report: Reporter, found: Stacks) -> None:
    """T003 where no accounts.yaml names the management account: by what the files say
    (capa_accounts/core/management.py), each finding naming its evidence."""
    identities: list[Identity] = []
    hubs: dict[str, Hub] = {}
    for obj, _ in role_identities(ctx):
        arn = parse_role_arn(obj.get("spec", "roleARN"))
        if arn is None:
            continue
        listed = obj.get("spec", "allowedNamespaces", "list")
        spaces = tuple(n for n in listed if isinstance(n, str)) if isinstance(listed, list) else ()
        role_arn = str(obj.get("spec", "roleARN"))
        identities.append(Identity(obj.name, role_arn, arn.account, arn.name, spaces))
        hub = hub_of(ctx, obj)
        if hub is not None:
            hubs.setdefault(arn.account, Hub(hub.name, str(hub.get("spec", "roleARN"))))
    targets = [stack for stack, _ in found.targets]
    verdicts = by_content(
        [(t.file, t.data) for t in targets],
        identities,
        hubs,
        [m.data for m in found.management + found.own],
        ctx.management_account,
    )
    for v in verdicts:
        stack = targets[v.index]
        report.at(
            stack,
            v.path,
            f"this target's controllers role {v.message}",
            at_key=v.path[-1] == "NotPrincipal" or not stack.has(*v.path),
            severity="warning" if v.severity == "warning" else None,
        )


@rule("CAPA-T004", "error", name="NoAssumeRoleGrant")
def check_management_grant(ctx: Context, report: Reporter) -> None:
    """No `sts:AssumeRole` grant of the assuming principal matches a target's `roleARN`.

    Why: AssumeRole needs the target's trust and an identity policy in the management account;
    without it CAPA gets AccessDenied (CAPA issue #4046). The grant is `extraStatements` of
    `clusterAPIControllers` (controllers role) or `bootstrapUser` (bootstrap user), or
    `allowAssumeRole: true`: `arn:*:iam::*:role/<namePrefix>*<nameSuffix>`
    (cluster_api_controller.go:291-299). `Resource` may use IAM's wildcards `*` and `?`.
    `sts:TagSession` beside `sts:AssumeRole` is accepted. A spoke that chains through a hub
    role identity is assumed with the hub's credentials (pkg/cloud/scope/session.go,
    buildProvidersForRef), so the hub account's stack must grant it (its
    `clusterAPIControllers.extraStatements`), not the management stack.

    Bad:
        Resource:   # live-identity assumes arn:aws:iam::333333333333:role/controllers...
          - arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io

    Good:
        Resource:
          - arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io
          - arn:aws:iam::333333333333:role/controllers.cluster-api-provider-aws.sigs.k8s.io

    Fix: run `capa-accounts render` and update the management stack; by hand, list every
    target's controllers role ARN in the grant's `Resource`.
    """
    found = stacks(ctx)
    if not found.management:
        return
    principal = ctx.account_set.management.principal if ctx.account_set else None
    grants = [(stack, assume_role_grant(stack.data, principal)) for stack in found.management]
    who = f"the management {principal}" if principal else "the management principal"
    seen: set[str] = set()
    for obj, _account in role_identities(ctx):
        arn = obj.get("spec", "roleARN")
        if parse_role_arn(arn) is None or arn in seen:
            continue
        seen.add(arn)
        hub = hub_of(ctx, obj)
        if hub is not None:
            _hub_grant(ctx, report, found, obj, hub, grants)
            continue
        if not any(grant.covers(arn) for _, grant in grants):
            stack, grant = grants[0]
            report.at(
                stack,
                grant.anchor,
                f"{who} is granted no sts:AssumeRole on {arn} "
                f"(roleARN of {obj.name}){grant.note}: CAPA's AssumeRole into that account "
                "fails with AccessDenied",
                at_key=not stack.has(*grant.anchor),
                related=(obj.location(("spec", "roleARN")),),
            )


def _hub_grant(
    ctx: Context,
    report: Reporter,
    found: Stacks,
    spoke: Obj,
    hub: Obj,
    management: list[tuple[Obj, Grant]],
) -> None:
    """A spoke's roleARN must be granted to the hub's role, by the hub account's stack."""
    arn = str(spoke.get("spec", "roleARN"))
    owner = ctx.account_of(hub) if ctx.account_set else None
    stack = found.by_account.get(owner.name) if owner else None
    if stack is None:
        # The hub's stack is not known (hand-written): any stack's grant may be the hub's.
        candidates = [g for _, g in management] + [
            assume_role_grant(s.data, None) for s, _ in found.targets
        ]
        if not any(grant.covers(arn) for grant in candidates):
            report.at(
                spoke,
                ("spec", "roleARN"),
                f"no stack grants sts:AssumeRole on {arn}: "
                f"{spoke.name} chains through {hub.name!r}, whose role makes the "
                "AssumeRole, so that role's stack must grant it",
            )
        return
    grant = assume_role_grant(stack.data, "controllersRole")
    if not grant.covers(arn):
        report.at(
            stack,
            grant.anchor,
            f"the hub role {hub.get('spec', 'roleARN')} (roleARN of "
            f"{hub.name}) is granted no sts:AssumeRole on {arn} (roleARN of {spoke.name}, "
            "which chains through it): CAPA assumes the spoke with the hub's credentials, "
            "so the AssumeRole fails with AccessDenied; add an extraStatements grant",
            at_key=not stack.has(*grant.anchor),
            related=(spoke.location(("spec", "roleARN")),),
        )


@rule("CAPA-T005", "error", name="RoleNameMismatch")
def check_role_name(ctx: Context, report: Reporter) -> None:
    """The role name in a `roleARN` does not match the bootstrap `namePrefix`/`nameSuffix`.

    Why: clusterawsadm names the controllers role namePrefix + `controllers` + nameSuffix
    (cmd/clusterawsadm/cloudformation/bootstrap/template.go:72-74, NewManagedName; the suffix
    defaults to `.cluster-api-provider-aws.sigs.k8s.io`): any other name is a role that does not
    exist, and AssumeRole fails.

    Bad:
        roleARN: arn:aws:iam::222222222222:role/capa-controllers   # the stack has no namePrefix

    Good:
        roleARN: arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io

    Fix: set the account's `namePrefix`/`nameSuffix` in accounts.yaml and render; by hand,
    name the role as the target's stack creates it.
    """
    found = stacks(ctx)
    names: dict[str, Obj] = {}
    for stack, _account in found.targets:
        names.setdefault(controllers_role(stack.data), stack)
    for obj, account in role_identities(ctx):
        arn = parse_role_arn(obj.get("spec", "roleARN"))
        target = found.by_account.get(account.name) if account else None
        # An identity of a declared account is judged against its own stack only; one without
        # a declared account against every target stack.
        if arn is None or (target is None and (account is not None or not names)):
            continue
        if target is not None:
            stack, expected = target, controllers_role(target.data)
            if arn.name == expected:
                continue
        elif arn.name in names:
            continue
        else:
            stack, expected = next(iter(names.values())), " or ".join(sorted(names))
        suffix = "nameSuffix" if stack.has("spec", "nameSuffix") else "namePrefix"
        report.at(
            obj,
            ("spec", "roleARN"),
            f"roleARN names role {arn.name}, but {stack.file} creates {expected} "
            "(namePrefix + controllers + nameSuffix): AssumeRole fails on a role that "
            "does not exist",
            related=(stack.location(("spec", suffix)),),
        )
