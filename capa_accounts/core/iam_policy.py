"""What a clusterawsadm stack (``AWSIAMConfiguration``) trusts and grants, read as IAM reads it.

clusterawsadm copies ``trustStatements`` and ``extraStatements`` verbatim into the
CloudFormation template (iam/api/v1beta1/types.go ``StatementEntry``), so IAM's own evaluation
applies: action names are case-insensitive; actions and resources take the wildcards ``*`` (any
run of characters, ``:`` and ``/`` included) and ``?`` (one character) and nothing else (IAM User
Guide, "IAM JSON policy elements: Action" and "Resource"); an explicit Deny beats any Allow;
condition key names are case-insensitive ("IAM JSON policy elements: Condition"). ``Action``
and ``Principal`` values may be a string or a list (their custom unmarshallers). Everything here
works on plain data; paths are relative to the stack's document, for findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property, lru_cache
from typing import Any

from capa_accounts.core import aws
from capa_accounts.core.aws import BOOTSTRAP_USER, CONTROLLERS, DEFAULT_NAME_SUFFIX
from capa_accounts.core.record import Mutable, Record

PathT = tuple[str | int, ...]
ASSUME_ROLE = "sts:AssumeRole"
EXTERNAL_ID = "sts:ExternalId"
PRINCIPAL_ARN = "aws:PrincipalArn"
TRUST: PathT = ("spec", "clusterAPIControllers", "trustStatements")
CONTROLLERS_GRANTS: PathT = ("spec", "clusterAPIControllers", "extraStatements")
USER_GRANTS: PathT = ("spec", "bootstrapUser", "extraStatements")


class RoleArn(Record):
    """An IAM role ARN taken apart: ``arn:<partition>:iam::<account>:role<path><name>``."""

    FIELDS = ("partition", "account", "path", "name")
    partition: str
    account: str
    path: str
    name: str

    def __init__(self, partition: str, account: str, path: str, name: str) -> None:
        set_ = object.__setattr__
        set_(self, "partition", partition)
        set_(self, "account", account)
        set_(self, "path", path)
        set_(self, "name", name)


def parse_role_arn(value: Any) -> RoleArn | None:
    match = aws.ROLE_ARN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    return RoleArn(match["partition"], match["account"], match["path"], match["name"])


def root_account(principal: str) -> str | None:
    """The account a principal names as a whole (``arn:...:root`` or a bare account ID)."""
    if aws.is_account_id(principal):
        return principal
    match = aws.ROOT_ARN.fullmatch(principal)
    return match["account"] if match else None


def dig(data: Any, *path: str | int) -> Any:
    for part in path:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def split_patterns(patterns: list[str]) -> tuple[set[str], list[str]]:
    """Literal values (looked up in a set) and true wildcard patterns (matched one by one), so
    that checking every account's ARN against a grant listing every account stays linear."""
    return ({p for p in patterns if not has_wildcard(p)}, [p for p in patterns if has_wildcard(p)])


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # Only * and ? are special; fnmatch's [...] classes mean nothing to IAM.
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def statements(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for index, statement in enumerate(value):
            if isinstance(statement, dict):
                yield index, statement


def covers_assume_role(statement: dict[str, Any]) -> bool:
    return any(
        wildcard_match(a, ASSUME_ROLE, ignore_case=True) for a in strings(statement.get("Action"))
    )


def allows_assume_role(statement: dict[str, Any]) -> bool:
    return statement.get("Effect") == "Allow" and covers_assume_role(statement)


def aws_principals(statement: dict[str, Any]) -> Iterator[tuple[PathT, str]]:
    """(path inside the statement, value) of each AWS principal; ``Principal: "*"`` included."""
    principal = statement.get("Principal")
    if isinstance(principal, str):
        yield ("Principal",), principal
        return
    value = principal.get("AWS") if isinstance(principal, dict) else None
    if isinstance(value, str):
        yield ("Principal", "AWS"), value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield ("Principal", "AWS", index), item


def condition(
    statement: dict[str, Any], operators: tuple[str, ...], key: str
) -> tuple[PathT, list[str]] | None:
    """Path inside the statement and values of the first condition on ``key``, if any."""
    conditions = statement.get("Condition")
    for operator in operators:
        block = conditions.get(operator) if isinstance(conditions, dict) else None
        for written, values in block.items() if isinstance(block, dict) else ():
            if isinstance(written, str) and written.lower() == key.lower():
                return ("Condition", operator, written), strings(values)
    return None


# --- a stack's names, grant and trust -----------------------------------------------------------


def controllers_role(doc: Any) -> str:
    """The controllers role a stack creates: namePrefix + "controllers" + nameSuffix."""
    prefix, suffix = dig(doc, "spec", "namePrefix"), dig(doc, "spec", "nameSuffix")
    # nameSuffix is a *string: null means the default, an explicit "" is honoured (types.go).
    return (
        f"{prefix if isinstance(prefix, str) else ''}{CONTROLLERS}"
        f"{suffix if isinstance(suffix, str) else DEFAULT_NAME_SUFFIX}"
    )


def grants_assume_role(doc: Any) -> bool:
    return dig(doc, "spec", "allowAssumeRole") is True or any(
        allows_assume_role(s)
        for place in (CONTROLLERS_GRANTS, USER_GRANTS)
        for _, s in statements(dig(doc, *place))
    )


def user_enabled(doc: Any) -> bool:
    return dig(doc, "spec", "bootstrapUser", "enable") is True


def user_grant(doc: Any) -> PathT | None:
    """Path of the bootstrap user's own AssumeRole grant, when the user exists."""
    if not user_enabled(doc):
        return None
    return next(
        ((*USER_GRANTS, i) for i, s in statements(dig(doc, *USER_GRANTS)) if allows_assume_role(s)),
        None,
    )


class Grant(Mutable):
    """The role ARNs a management stack lets its principal assume, and where that is written."""

    FIELDS = ("allow", "deny", "anchor", "note")
    allow: list[str]
    deny: list[str]
    anchor: PathT
    note: str

    def __init__(
        self,
        allow: list[str] | None = None,
        deny: list[str] | None = None,
        anchor: PathT = (),
        note: str = "",
    ) -> None:
        self.allow = [] if allow is None else allow
        self.deny = [] if deny is None else deny
        self.anchor = anchor
        self.note = note

    @cached_property
    def _split(self) -> tuple[tuple[set[str], list[str]], tuple[set[str], list[str]]]:
        return split_patterns(self.allow), split_patterns(self.deny)  # once the grant is read

    def covers(self, arn: str) -> bool:
        allow, deny = self._split
        return _matches(allow, arn) and not _matches(deny, arn)


def _matches(split: tuple[set[str], list[str]], value: str) -> bool:
    literals, patterns = split
    return value in literals or any(wildcard_match(p, value) for p in patterns)


def assume_role_grant(doc: Any, principal: str | None) -> Grant:
    """The grant to ``principal`` (controllersRole, bootstrapUser; None: to either)."""
    enabled = user_enabled(doc)
    places = [
        p
        for p, who in ((CONTROLLERS_GRANTS, "controllersRole"), (USER_GRANTS, "bootstrapUser"))
        if principal in (None, who) and (who != "bootstrapUser" or enabled)
    ]
    grant = Grant()
    for place in places:
        for i, statement in statements(dig(doc, *place)):
            if not covers_assume_role(statement):
                continue
            # A bare-string Resource cannot be decoded by clusterawsadm (R004 says so); it is
            # read as a one-element list here rather than reported twice.
            if statement.get("Effect") == "Allow":
                grant.allow += strings(statement.get("Resource"))
                grant.anchor = grant.anchor or (*place, i, "Resource")
            elif statement.get("Effect") == "Deny":
                grant.deny += strings(statement.get("Resource"))
    # allowAssumeRole adds sts:AssumeRole on arn:*:iam::*:role/<each allowedEC2InstanceProfiles,
    # default prefix*suffix> to the controllers managed policy, which is attached to the
    # controllers role and to the bootstrapper group (cluster_api_controller.go:291-299,
    # controllersPolicyGroups; template.go).
    if dig(doc, "spec", "allowAssumeRole") is True and (principal != "bootstrapUser" or enabled):
        profiles = dig(doc, "spec", "clusterAPIControllers", "allowedEC2InstanceProfiles")
        names = (
            strings(profiles)
            if profiles is not None
            else [controllers_role(doc).replace(CONTROLLERS, "*", 1)]
        )
        grant.allow += [f"arn:*:iam::*:role/{name}" for name in names]
        grant.anchor = grant.anchor or ("spec", "allowAssumeRole")
    if principal == "bootstrapUser" and not enabled:
        grant.anchor = ("spec", "bootstrapUser", "enable")
        grant.note = " (bootstrapUser.enable is not true: the user does not exist)"
    if not grant.anchor:
        grant.anchor = next(
            (p for p in places if dig(doc, *p) is not None), ("spec", "clusterAPIControllers")
        )
    return grant


class Principal(Mutable):
    """Whom a target should trust: one exact ARN (accounts.yaml), or role/user names (hand-written,
    where the management account ID is nowhere written down)."""

    FIELDS = ("exact", "names", "role", "account")
    exact: str | None
    names: set[str]
    # How messages name it: the management principal, or a hub role that identities chain through.
    role: str
    account: str | None  # the management account, where the files (or the user) tell it

    def __init__(
        self,
        exact: str | None,
        names: set[str] | None = None,
        role: str = "the management principal",
        account: str | None = None,
    ) -> None:
        self.exact = exact
        self.names = set() if names is None else names
        self.role = role
        self.account = account

    @classmethod
    def of_management(cls, stacks: list[Any]) -> Principal:
        names: set[str] = set()
        for doc in stacks:
            if dig(doc, "spec", "allowAssumeRole") is True or any(
                allows_assume_role(s) for _, s in statements(dig(doc, *CONTROLLERS_GRANTS))
            ):
                names.add(f"role/{controllers_role(doc)}")
            if user_grant(doc) is not None or (
                user_enabled(doc) and dig(doc, "spec", "allowAssumeRole") is True
            ):
                user = dig(doc, "spec", "bootstrapUser", "userName")
                names.add(f"user/{user or BOOTSTRAP_USER}")
        return cls(None, names)

    def accepts(self, value: str) -> bool:
        if self.exact is not None:
            return value == self.exact
        match = aws.PRINCIPAL_ARN.fullmatch(value)
        # Without a management stack any one role or user is taken to be the principal.
        return (
            match is not None
            and (not self.names or f"{match['type']}/{match['name']}" in self.names)
            and (self.account is None or match["account"] == self.account)
        )

    def through_root(self, statement: dict[str, Any], account: str) -> list[str]:
        """The principals a ``:root`` trust is narrowed to, when an aws:PrincipalArn condition
        names only accepted principals of that account; else none."""
        found = condition(statement, ("ArnEquals", "ArnLike", "StringEquals"), PRINCIPAL_ARN)
        values = found[1] if found else []
        ok = all(self.accepts(v) and f":iam::{account}:" in v for v in values)
        return values if ok else []

    def describe(self) -> str:
        """What is accepted: the ARN, or the names (in the account, when it is known)."""
        if self.exact:
            return self.exact
        where = f"arn:*:iam::{self.account}:" if self.account else ""
        names = " or ".join(f"{where}{n}" for n in sorted(self.names))
        return names or (f"a role or user of account {self.account}" if self.account else "")

    def wanted(self) -> str:
        """How a message names it: "the management principal arn:...", never twice."""
        shown = self.describe()
        if not shown:
            return self.role
        return f"{self.role} {shown}" if self.exact else f"{self.role} ({shown})"


class ExternalIds(Mutable):
    """The sts:ExternalId a target's trust requires: only when every statement that trusts
    anyone with sts:AssumeRole has the condition (one without it lets any caller through)."""

    FIELDS = ("required", "conditions")
    required: bool
    conditions: list[tuple[PathT, str, list[str]]]  # (path, operator, values)

    def __init__(self, required: bool, conditions: list[tuple[PathT, str, list[str]]]) -> None:
        self.required = required
        self.conditions = conditions

    @classmethod
    def of_target(cls, doc: Any) -> ExternalIds:
        found: list[tuple[PathT, str, list[str]]] = []
        unconditioned = 0
        for i, statement in statements(dig(doc, *TRUST)):
            if not allows_assume_role(statement):
                continue
            cond = condition(statement, ("StringEquals", "StringLike"), EXTERNAL_ID)
            if cond is None:
                unconditioned += 1
            else:
                found.append(((*TRUST, i, *cond[0]), str(cond[0][1]), cond[1]))
        return cls(bool(found) and not unconditioned, found)

    @cached_property
    def values(self) -> tuple[set[str], list[str]]:
        """Literal values and StringLike wildcard patterns (StringEquals has no wildcards)."""
        literals, patterns = split_patterns(
            [v for _p, op, values in self.conditions if op == "StringLike" for v in values]
        )
        literals |= {
            v for _p, op, values in self.conditions if op == "StringEquals" for v in values
        }
        return literals, patterns

    def accepts(self, value: str) -> bool:
        return _matches(self.values, value)

    def sent_by_any(self, sent: set[str]) -> bool:
        literals, patterns = self.values
        return bool(literals & sent) or any(wildcard_match(p, v) for p in patterns for v in sent)

    def path(self) -> PathT:
        return self.conditions[0][0] if self.conditions else TRUST

    def describe(self) -> str:
        return " or ".join(repr(v) for _p, _o, values in self.conditions for v in values)


def trust_problems(doc: Any, principal: Principal) -> list[tuple[PathT, str]]:
    """Where a target's trust lets in more, or other, than ``principal`` (CAPA-T003)."""
    trusted: list[str] = []
    problems: list[tuple[PathT, str]] = []
    for i, statement in statements(dig(doc, *TRUST)):
        if not allows_assume_role(statement):
            continue
        if "NotPrincipal" in statement:
            problems.append(
                (
                    (*TRUST, i, "NotPrincipal"),
                    "trusts, through Allow with "
                    "NotPrincipal, every principal except the ones it names",
                )
            )
        for sub, value in aws_principals(statement):
            path, root = (*TRUST, i, *sub), root_account(value)
            effective = (
                [value]
                if principal.accepts(value)
                else (principal.through_root(statement, root) if root else [])
            )
            if value == "*":
                problems.append((path, "trusts every AWS principal ('*'): anyone may assume it"))
            elif effective:
                extra = [v for v in effective if trusted and v not in trusted]
                if extra:
                    problems.append(
                        (
                            path,
                            f"trusts {extra[0]} besides {trusted[0]}: only one "
                            "principal should assume it",
                        )
                    )
                trusted += effective
            elif root is not None:
                problems.append(
                    (
                        path,
                        f"trusts all of account {root} ({value}) without a "
                        f"Condition on {PRINCIPAL_ARN} naming {principal.wanted()}: "
                        "every role and user there may assume it",
                    )
                )
            else:
                problems.append((path, f"trusts {value}, not {principal.wanted()}"))
    if not trusted and not problems:
        problems.append(
            (
                TRUST,
                f"has no Allow sts:AssumeRole trust statement for "
                f"{principal.wanted()}: CAPA's AssumeRole fails with AccessDenied",
            )
        )
    return problems
