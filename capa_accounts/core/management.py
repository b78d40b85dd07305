"""Which AWS principal manages, when no accounts.yaml says so: read from what the files say.

A hand-written repository or a stream names the management account nowhere directly. The
evidence, strongest first: the account the user declares (``--management-account``); the
account of the management stack's own web-identity or instance setup (its ``trustStatements``
name its OIDC provider or its roles, in its own account); and the targets themselves, which
must all trust one and the same principal (clusterawsadm appends ``trustStatements`` verbatim
to each target's controllers role, cmd/clusterawsadm/cloudformation/bootstrap/
cluster_api_controller.go, so a target trusting another account's role is that account's
to take). With one target and nothing else, which account manages cannot be told.
Everything here works on plain data (stack documents, ARN strings).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from capa_accounts.core import aws
from capa_accounts.core.iam_policy import (
    TRUST,
    Principal,
    aws_principals,
    controllers_role,
    dig,
    statements,
    strings,
    trust_problems,
)
from capa_accounts.core.record import Mutable, Record

PathT = tuple[str | int, ...]
_ASSUMES = re.compile(r"sts:(assumerole|assumerolewithwebidentity|\*)|\*", re.IGNORECASE)
_ANY_ARN_ACCOUNT = re.compile(rf"^arn:{aws.PARTITION}:iam::(?P<account>{aws.ACCOUNT_ID}):")


def _assumes(statement: dict[str, Any]) -> bool:
    return statement.get("Effect") == "Allow" and any(
        _ASSUMES.fullmatch(a) for a in strings(statement.get("Action"))
    )


def own_setup(doc: Any) -> bool:
    """A stack whose controllers role is assumed by a web identity (IRSA) or an AWS service
    (EC2, kiam): the role CAPA itself runs as in the management account (CAPA docs,
    topics/specify-management-iam-role.md), not a target another account's CAPA assumes."""
    for _, statement in statements(dig(doc, *TRUST)):
        principal = statement.get("Principal")
        if (
            _assumes(statement)
            and isinstance(principal, dict)
            and (principal.get("Federated") or principal.get("Service"))
        ):
            return True
    return False


def own_account(doc: Any) -> str | None:
    """The account a management stack's own trust names (its OIDC provider, its node roles),
    when it names exactly one."""
    found: set[str] = set()
    for _, statement in statements(dig(doc, *TRUST)):
        principal = statement.get("Principal")
        if not (_assumes(statement) and isinstance(principal, dict)):
            continue
        for key in ("Federated", "AWS"):
            for value in strings(principal.get(key)):
                match = _ANY_ARN_ACCOUNT.match(value)
                if match:
                    found.add(match["account"])
    return found.pop() if len(found) == 1 else None


class Trusted(Record):
    """An AWS principal a target trusts, where (path inside the stack) and its account."""

    FIELDS = ("path", "value", "account")
    path: PathT
    value: str
    account: str

    def __init__(self, path: PathT, value: str, account: str) -> None:
        set_ = object.__setattr__
        set_(self, "path", path)
        set_(self, "value", value)
        set_(self, "account", account)


def trusted(doc: Any) -> list[Trusted]:
    """Every role or user ARN a target's trust lets assume its controllers role."""
    out: list[Trusted] = []
    for i, statement in statements(dig(doc, *TRUST)):
        if not _assumes(statement):
            continue
        for sub, value in aws_principals(statement):
            match = aws.PRINCIPAL_ARN.fullmatch(value)
            if match:
                out.append(Trusted((*TRUST, i, *sub), value, match["account"]))
    return out


class Management(Mutable):
    """The management account, when the files (or the user) tell it, and how that is known."""

    FIELDS = ("account", "evidence", "trusted_by_targets")
    account: str | None
    evidence: str
    # Accounts the targets trust, most trusted first (for messages when they disagree).
    trusted_by_targets: list[tuple[str, int]]

    def __init__(
        self,
        account: str | None,
        evidence: str,
        trusted_by_targets: list[tuple[str, int]] | None = None,
    ) -> None:
        self.account = account
        self.evidence = evidence
        self.trusted_by_targets = [] if trusted_by_targets is None else trusted_by_targets

    @property
    def known(self) -> bool:
        return self.account is not None


def management(
    declared: str | None, own: list[Any], targets: list[list[Trusted]], names: set[str]
) -> Management:
    """The management account from the strongest evidence there is.

    ``own``: stacks of the management account's own setup; ``targets``: what each target
    trusts; ``names``: the role/user names a management stack makes (``role/<name>``), empty
    when no management stack is among the files (any role or user then counts).
    """
    counts: Counter[str] = Counter()
    for found in targets:
        accounts = {t.account for t in found if not names or _name(t.value) in names}
        counts.update(accounts)
    ranked = counts.most_common()
    if declared:
        return Management(declared, "declared with --management-account", ranked)
    owns = {a for a in (own_account(doc) for doc in own) if a}
    if len(owns) == 1:
        account = next(iter(owns))
        return Management(
            account, f"the management stack's own trust names account {account}", ranked
        )
    if len(targets) >= 2 and ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
        account, n = ranked[0]
        return Management(account, f"{n} of {len(targets)} target stacks trust it", ranked)
    return Management(None, "", ranked)


def _name(value: str) -> str:
    match = aws.PRINCIPAL_ARN.fullmatch(value)
    return f"{match['type']}/{match['name']}" if match else ""


class Identity(Record):
    """What maps a target stack to the identity that assumes its role: plain data."""

    FIELDS = ("name", "role_arn", "account", "role", "namespaces")
    name: str
    role_arn: str
    account: str
    role: str  # the role name in roleARN
    namespaces: tuple[str, ...]

    def __init__(
        self, name: str, role_arn: str, account: str, role: str, namespaces: tuple[str, ...]
    ) -> None:
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "role_arn", role_arn)
        set_(self, "account", account)
        set_(self, "role", role)
        set_(self, "namespaces", namespaces)


def owner(file: str, role: str, identities: list[Identity]) -> tuple[Identity, str] | None:
    """The identity whose role a target stack creates, and the evidence, when the files tell:
    a role name (namePrefix/nameSuffix) only one identity assumes, else the stack's file name
    naming exactly one identity's account ID, name or namespace."""
    by_role = [i for i in identities if i.role == role]
    if len({i.account for i in by_role}) == 1 and len({i.role for i in identities}) > 1:
        return by_role[0], f"only it assumes role {role}"
    stem = file.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    tokens = set(re.split(r"[^A-Za-z0-9]+", stem.lower())) - {""}
    joined = stem.lower()
    matches = {
        i.account: i
        for i in identities
        if i.account in tokens
        or _stem(i.name) in tokens
        or _stem(i.name) == joined
        or any(ns.lower() in tokens for ns in i.namespaces)
    }
    if len(matches) == 1:
        found = next(iter(matches.values()))
        return found, f"its file name {stem!r} names it"
    return None


def _stem(name: str) -> str:
    return name.lower().removesuffix("-identity")


# --- CAPA-T003 by content: plain verdicts for the rule to report ---------------------------------

DECLARE = (
    "declare the management account with `--management-account <12 digits>` to make the "
    "proof complete"
)


class Hub(Record):
    """The role identity a spoke chains through: its name and roleARN."""

    FIELDS = ("name", "role_arn")
    name: str
    role_arn: str

    def __init__(self, name: str, role_arn: str) -> None:
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "role_arn", role_arn)


class Verdict(Record):
    """One T003 finding on target ``index``: where in its stack, what, how severe."""

    FIELDS = ("index", "path", "message", "severity")
    index: int
    path: PathT
    message: str
    severity: str

    def __init__(self, index: int, path: PathT, message: str, severity: str = "error") -> None:
        set_ = object.__setattr__
        set_(self, "index", index)
        set_(self, "path", path)
        set_(self, "message", message)
        set_(self, "severity", severity)


def by_content(
    targets: list[tuple[str, Any]],
    identities: list[Identity],
    hubs: dict[str, Hub],
    management_docs: list[Any],
    declared: str | None,
) -> list[Verdict]:
    """What each target (file, stack) should trust and whether it does, where no accounts.yaml
    names the management account. ``hubs`` maps a spoke's account to its hub."""
    hub_arns = {h.role_arn: h for h in hubs.values()}
    names = Principal.of_management(management_docs).names
    plan: list[tuple[Principal | None, str]] = []  # None: the management principal
    for file, doc in targets:
        mapped = owner(file, controllers_role(doc), identities)
        hub = hubs.get(mapped[0].account) if mapped else None
        why = f"; {mapped[0].name}'s stack, as {mapped[1]}" if mapped and hub else ""
        if hub is None:  # a stack that trusts a hub role exactly is that hub's spoke
            hub = next((hub_arns[t.value] for t in trusted(doc) if t.value in hub_arns), None)
        if hub is None:
            plan.append((None, ""))
        else:
            role = f"the hub role of {hub.name!r}"
            plan.append(
                (Principal(hub.role_arn, role=role), f" (its spoke chains through {hub.name}{why})")
            )
    managed = [trusted(doc) for (_, doc), (p, _) in zip(targets, plan, strict=True) if p is None]
    mgmt = management(declared, management_docs, managed, names)
    out: list[Verdict] = []
    for index, ((_, doc), (principal, why)) in enumerate(zip(targets, plan, strict=True)):
        if principal is None:
            principal = Principal(None, names, account=mgmt.account)
            why = f" (management account {mgmt.account}: {mgmt.evidence})" if mgmt.known else ""
        problems = trust_problems(doc, principal)
        out += [Verdict(index, path, f"{message}{why}") for path, message in problems]
        if not problems and principal.exact is None and not mgmt.known:
            out += _unknown_account(index, doc, mgmt, len(managed))
    return out


def _unknown_account(index: int, doc: Any, mgmt: Management, targets: int) -> list[Verdict]:
    """The stack trusts one principal, but nothing tells whether its account manages."""
    shown = trusted(doc)
    if not shown:
        return []
    first = shown[0]
    if targets >= 2 and len(mgmt.trusted_by_targets) > 1:
        others = ", ".join(f"{a} ({n})" for a, n in mgmt.trusted_by_targets)
        return [
            Verdict(
                index,
                first.path,
                f"trusts {first.value}, but the target stacks trust different accounts "
                f"({others}): every target must trust one and the same management "
                f"principal; {DECLARE}",
            )
        ]
    return [
        Verdict(
            index,
            first.path,
            f"trusts {first.value}, but no file tells which account manages (one target, no "
            f"management stack naming its account): the principal is assumed, not proven; "
            f"{DECLARE}",
            "warning",
        )
    ]
