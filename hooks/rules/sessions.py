"""Session settings and long-lived credentials (CAPA-T006 … T011): how each AssumeRole is made.

This module owns the settings around the trust chain that decide whether CAPA's AssumeRole
works and how much it exposes: the session duration, the external ID, ignored policy ARNs,
role creation rights, the bootstrap user's long-lived keys and the values STS rejects. The
stacks are read as ``capa_accounts.hooks.rules.trust`` reads them.
"""

from __future__ import annotations

import json
import re

from capa_accounts.core.aws import (
    EXTERNAL_ID,
    EXTERNAL_ID_MAX,
    SESSION_NAME,
    SESSION_POLICY_MAX,
)
from capa_accounts.core.iam_policy import (
    ExternalIds,
    user_grant,
)
from capa_accounts.core.resources import ROLE_IDENTITY
from capa_accounts.core.substitution import templated
from capa_accounts.hooks.check.chain import role_identities, stacks
from capa_accounts.hooks.check.context import Context
from capa_accounts.hooks.rules import Reporter, rule
from capa_accounts.hooks.rules.trust import MAX_CHAINED_SESSION


@rule("CAPA-T006", "error", name="SessionDurationOverOneHour")
def check_session_duration(ctx: Context, report: Reporter) -> None:
    """`durationSeconds` is above 3600, the one-hour cap of chained sessions and of the roles.

    Why: CAPA's AssumeRole is chained (its own credentials come from IRSA, Pod Identity or a
    source identity; pkg/cloud/scope/session.go:273-289), and STS caps role chaining at one hour
    (AWS STS API Reference, AssumeRole `DurationSeconds`); clusterawsadm also leaves the role at
    IAM's default one-hour MaxSessionDuration. A longer request fails.

    Bad:
        durationSeconds: 7200

    Good:
        durationSeconds: 3600   # or leave it out: 15 minutes

    Fix: lower `durationSeconds` to 3600 or less (in accounts.yaml when the account sets it).
    """
    too_long = f"is above {MAX_CHAINED_SESSION}: STS refuses chained sessions over one hour"
    declared: set[str] = set()
    for account in ctx.account_set.accounts if ctx.account_set else ():
        if (account.duration_seconds or 0) > MAX_CHAINED_SESSION:
            declared.add(account.name)
            report.config(
                ("spec", "accounts", account.index, "durationSeconds"),
                f"durationSeconds {account.duration_seconds} of account {account.name} {too_long}",
            )
    for obj, owner in role_identities(ctx):
        value = obj.get("spec", "durationSeconds")
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value > MAX_CHAINED_SESSION
            and not (owner and owner.name in declared)
        ):
            report.at(obj, ("spec", "durationSeconds"), f"durationSeconds {value} {too_long}")


@rule("CAPA-T007", "error", name="ExternalIdMismatch")
def check_external_id(ctx: Context, report: Reporter) -> None:
    """A trust requires `sts:ExternalId` and the identity's `externalID` is missing or different.

    Why: CAPA sends `externalID` as AssumeRole's ExternalId (pkg/cloud/identity/identity.go:
    77-90); when every trust statement requires another value, STS denies the call. The reverse
    is a warning: an `externalID` that no trust statement requires protects nothing.

    Bad:
        externalID: something-else   # trust: {StringEquals: {sts:ExternalId: capa-staging}}

    Good:
        externalID: capa-staging

    Fix: set the account's `externalID` in accounts.yaml and render: both sides then match.
    """
    found = stacks(ctx)
    # Stacks naming no account (hand-written) are matched against every identity at once.
    unmapped = [
        (stack, ExternalIds.of_target(stack.data))
        for stack, owner in found.targets
        if owner is None
    ]
    anywhere = ExternalIds(False, [c for _, ids in unmapped for c in ids.conditions])
    sent: set[str] = set()
    for obj, account in role_identities(ctx):
        value = obj.get("spec", "externalID")
        sent |= {value} if isinstance(value, str) else set()
        target = found.by_account.get(account.name) if account else None
        path = ("spec", "externalID") if obj.has("spec", "externalID") else ("spec",)
        if target is not None:
            ids = ExternalIds.of_target(target.data)
            if ids.required and not (isinstance(value, str) and ids.accepts(value)):
                report.at(
                    obj,
                    path,
                    f"the trust in {target.file} requires sts:ExternalId "
                    f"{ids.describe()}, but {obj.name} sends "
                    f"{'none' if value is None else repr(value)}: STS denies the AssumeRole",
                    at_key=path == ("spec",),
                    related=(target.location(ids.path()),),
                )
                continue
            required_by = ids
        elif account is None and unmapped:
            required_by = anywhere
        else:
            continue
        if isinstance(value, str) and not required_by.accepts(value):
            report.at(
                obj,
                path,
                f"externalID {value!r} is required by no trust statement: an "
                "externalID nothing requires protects nothing",
                severity="warning",
            )
    # A stack that names no account: a value it requires that no identity sends locks CAPA out.
    for stack, ids in unmapped:
        if ids.required and not ids.sent_by_any(sent):
            report.at(
                stack,
                ids.path(),
                f"this trust requires sts:ExternalId {ids.describe()}, "
                "which no AWSClusterRoleIdentity sends: STS denies CAPA's AssumeRole",
            )


@rule("CAPA-T008", "warning", name="PolicyArnsIgnored")
def check_policy_arns(ctx: Context, report: Reporter) -> None:
    """`policyARNs` is set on a role identity: CAPA never sends it to STS.

    Why: CAPA builds the AssumeRole input from roleARN, sessionName, externalID, durationSeconds
    and inlinePolicy only (pkg/cloud/identity/identity.go:77-90): the session policies named in
    `policyARNs` never narrow the session, whatever the reader expects.

    Bad:
        policyARNs: ["arn:aws:iam::aws:policy/ReadOnlyAccess"]

    Good:
        inlinePolicy: '{"Version": "2012-10-17", "Statement": [...]}'   # this one is sent

    Fix: remove `policyARNs`; narrow the target role's own policies, or use `inlinePolicy`.
    """
    for obj in ctx.identities(ROLE_IDENTITY):
        if obj.get("spec", "policyARNs"):
            report.at(
                obj,
                ("spec", "policyARNs"),
                "policyARNs is never sent to STS by CAPA "
                "(identity.go:77-90): these session policies restrict nothing",
                at_key=True,
            )


@rule("CAPA-T009", "warning", name="IamRoleCreationEnabled")
def check_iam_role_creation(ctx: Context, report: Reporter) -> None:
    """`iamRoleCreation: true`: the controllers may create and attach any IAM role.

    Why: clusterawsadm then grants `iam:CreateRole`, `iam:AttachRolePolicy` and more on
    `arn:*:iam::*:role/*` (cmd/clusterawsadm/cloudformation/bootstrap/cluster_api_controller.go,
    AllowIAMRoleCreation): whoever controls CAPA can make an administrator role. Only the
    `EKSEnableIAM` feature gate, off by default, needs it.

    Bad:
        eks: {iamRoleCreation: true}

    Good:
        eks: {iamRoleCreation: false}

    Fix: leave `iamRoleCreation` false unless EKSEnableIAM is on; then suppress with a reason.
    """
    message = (
        "lets the controllers create and attach any IAM role (iam:CreateRole on "
        "arn:*:iam::*:role/*); only the EKSEnableIAM feature gate needs it"
    )
    declared: set[str] = set()
    for account in ctx.account_set.accounts if ctx.account_set else ():
        if account.iam_role_creation:
            declared.add(account.name)
            report.config(
                ("spec", "accounts", account.index, "iamRoleCreation"),
                f"iamRoleCreation of account {account.name} {message}",
            )
    for stack in ctx.iam_configs():
        owner = ctx.account_of(stack) if ctx.account_set else None
        # With eks.disable the EKS policy, and with it this grant, is not created.
        if (
            stack.get("spec", "eks", "iamRoleCreation") is True
            and stack.get("spec", "eks", "disable") is not True
            and not (owner and owner.name in declared)
        ):
            report.at(stack, ("spec", "eks", "iamRoleCreation"), f"iamRoleCreation {message}")


@rule("CAPA-T010", "warning", name="BootstrapUserKeys")
def check_bootstrap_user(ctx: Context, report: Reporter) -> None:
    """CAPA runs with the bootstrap user's long-lived keys (`principal: bootstrapUser`).

    Why: an IAM user's access keys never expire; they sit in a Secret of the management cluster
    (AWS_B64ENCODED_CREDENTIALS) and in its backups, and every target account trusts them. The
    controllers role gets short-lived credentials from IRSA or EKS Pod Identity.

    Bad:
        management: {accountId: "111111111111", principal: bootstrapUser}

    Good:
        management: {accountId: "111111111111", principal: controllersRole}

    Fix: run CAPA under its controllers role (IRSA, Pod Identity), set `principal:
    controllersRole` and render; by hand, move the grant to `clusterAPIControllers`.
    """
    if ctx.account_set is not None:
        if ctx.account_set.management.principal == "bootstrapUser":
            report.config(
                ("spec", "management", "principal"),
                "CAPA runs with the bootstrap "
                "user's long-lived access keys; prefer the controllers role",
            )
        return
    for stack in stacks(ctx).management:
        grant = user_grant(stack.data)
        if grant is not None:
            report.at(
                stack,
                ("spec", "bootstrapUser", "enable"),
                "the bootstrap user holds the "
                "sts:AssumeRole grant: CAPA runs with its long-lived access keys",
                related=(stack.location(grant),),
            )


def _policy_problem(text: str) -> str | None:
    """Why STS rejects ``text`` as a session policy, or None (AWS STS API Reference,
    AssumeRole ``Policy``: a JSON IAM policy, at most 2,048 characters)."""
    if len(text) > SESSION_POLICY_MAX:
        return f"is {len(text)} characters, above STS's {SESSION_POLICY_MAX}"
    try:
        policy = json.loads(text)
    except ValueError as err:
        return f"is not JSON ({err.args[0] if err.args else err})"
    if not isinstance(policy, dict):
        return "is JSON but not a policy document (an object with a Statement)"
    statement = policy.get("Statement")
    if not (
        isinstance(statement, dict)
        or (
            isinstance(statement, list)
            and statement
            and all(isinstance(s, dict) for s in statement)
        )
    ):
        return "has no Statement (an object or a list of objects)"
    return None


@rule("CAPA-T011", "error", name="StsValueRejected")
def check_sts_values(ctx: Context, report: Reporter) -> None:
    """A role identity sends STS a value it rejects: `sessionName`, `externalID`, `inlinePolicy`.

    Why: CAPA copies them into AssumeRole unchecked (pkg/cloud/identity/identity.go:77-90;
    the CRD has no pattern), and STS refuses the whole call (AWS STS API Reference,
    AssumeRole): `RoleSessionName` must be 2-64 of `[\\w+=,.@-]`, `ExternalId` 2-1224 of
    `[\\w+=,.@:/-]`, and `Policy` a JSON policy document of at most 2,048 characters. No
    cluster using the identity reconciles. An empty value is not sent (CAPA leaves the
    session name to the SDK and sends no policy).

    Bad:
        sessionName: capa staging        # a space
        inlinePolicy: "Statement: [...]"  # YAML, not JSON

    Good:
        sessionName: capa-staging
        inlinePolicy: '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", ...}]}'

    Fix: use only the characters STS accepts; write inlinePolicy as a JSON document.
    """
    checks = (
        ("sessionName", SESSION_NAME, 64, "RoleSessionName", "2-64 of [\\w+=,.@-]"),
        ("externalID", EXTERNAL_ID, EXTERNAL_ID_MAX, "ExternalId", "2-1224 of [\\w+=,.@:/-]"),
    )
    for obj in ctx.identities(ROLE_IDENTITY):
        for key, pattern, longest, sts_name, form in checks:
            value = obj.get("spec", key)
            if (
                isinstance(value, str)
                and value
                and not templated(value)
                and (len(value) > longest or not re.fullmatch(pattern, value, re.ASCII))
            ):
                report.at(
                    obj,
                    ("spec", key),
                    f"{key} {value!r} is not a valid STS {sts_name} "
                    f"({form}): STS rejects the AssumeRole, so no cluster using "
                    f"{obj.name} reconciles",
                )
        policy = obj.get("spec", "inlinePolicy")
        problem = _policy_problem(policy) if isinstance(policy, str) and policy else None
        if problem:
            report.at(
                obj,
                ("spec", "inlinePolicy"),
                f"inlinePolicy {problem}: STS rejects it as "
                f"the session Policy, so no cluster using {obj.name} reconciles",
            )
