"""The account table of the admission policy, as CEL literals, and the lookups that read it.

An account's row keeps only what differs from the defaults (namespace = account name, identity
= <account>-identity, enforced; DESIGN.md "Defaults"), so a fleet that keeps them costs about
16 bytes of the policy per account. Rows are looked up by account (``row``), identities by name
(``owners``): nothing walks the fleet, so a decision costs the same at any size.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from capa_accounts.core.record import Record

ROLE_IDENTITY = "roleIdentity"
# An account's identity name unless accounts.yaml names another (capa_accounts.core.model).
IDENTITY_SUFFIX = "-identity"


class AccountBinding(Record):
    """What the policy needs to know about one account."""

    FIELDS = ("account", "namespace", "identity", "enforced")
    account: str  # account name (DNS-1123 label)
    namespace: str  # the account's namespace
    identity: str  # name of the account's AWSClusterRoleIdentity (unused in operator mode)
    enforced: bool  # False: the policy admits this account's control planes unchecked

    def __init__(self, account: str, namespace: str, identity: str, enforced: bool = True) -> None:
        set_ = object.__setattr__
        set_(self, "account", account)
        set_(self, "namespace", namespace)
        set_(self, "identity", identity)
        set_(self, "enforced", enforced)


def cel(value: str) -> str:
    # Names are checked against DNS-1123 first, so a JSON string is also a CEL string literal.
    return json.dumps(value)


# cel-go's parser rejects an expression of more than 100,000 code points (parser/parser.go,
# NewParser: expressionSizeCodePointLimit), which the API server's environment keeps
# (pkg/cel/environment/base.go sets no other); cel-cpp has the same default. One literal holds
# about 5,000 accounts that keep the defaults, so the table is split into literals that stay
# well under it.
CHUNK_CODE_POINTS = 90_000


def _row(a: AccountBinding, credentials: str) -> str:
    # One account's row of the table, a list of strings (one type for every value: Kubernetes
    # compiles with cel.HomogeneousAggregateLiterals, k8s.io/apiserver pkg/cel/environment/
    # base.go). An account with every default (namespace = account name, identity =
    # <account>-identity, enforced: DESIGN.md "Defaults") is `[]`; any other is
    # [namespace or '', identity or '', 'unenforced' or '']. Most fleets keep the defaults, so
    # an account costs about 16 bytes of the policy and 25,000 fit in one object.
    namespace = "" if a.namespace == a.account else a.namespace
    identity = ""
    if credentials == ROLE_IDENTITY and a.identity != a.account + IDENTITY_SUFFIX:
        identity = a.identity
    unenforced = "" if a.enforced else "unenforced"
    if not (namespace or identity or unenforced):
        return "[]"
    return f"[{cel(namespace)}, {cel(identity)}, {cel(unenforced)}]"


def _literals(entries: Sequence[str]) -> list[str]:
    chunks: list[list[str]] = [[]]
    size = 2
    for entry in entries:
        if chunks[-1] and size + len(entry) + 2 > CHUNK_CODE_POINTS:
            chunks.append([])
            size = 2
        chunks[-1].append(entry)
        size += len(entry) + 2
    return ["{" + ", ".join(chunk) + "}" for chunk in chunks]


def account_maps(accounts: Sequence[AccountBinding], credentials: str) -> list[str]:
    return _literals([f"{cel(a.account)}: {_row(a, credentials)}" for a in accounts])


def identity_maps(accounts: Sequence[AccountBinding]) -> list[str]:
    # The owner of each identity that is not <account>-identity: identity name -> account.
    # The keys avoid `namespace`, a reserved word of the CEL spec (langdef.md, "Syntax").
    return _literals(
        [
            f"{cel(a.identity)}: {cel(a.account)}"
            for a in sorted(accounts, key=lambda a: a.identity)
            if a.identity != a.account + IDENTITY_SUFFIX
        ]
    )


def chunk_names(stem: str, count: int) -> list[str]:
    return [f"variables.{stem}"] + [f"variables.{stem}{i}" for i in range(2, count + 1)]


def lookup(key: str, names: Sequence[str], missing: str) -> str:
    expression = missing
    for name in reversed(names):
        expression = f"{key} in {name} ? {name}[{key}] : {expression}"
    return expression


def owners(names: Sequence[str], accounts: Sequence[str]) -> str:
    # Who owns identity refName, as a list of at most one account: the identity table first
    # (identity names are unique, CAPA-X001), then <account>-identity for an account that keeps
    # that default. substring is CEL's strings extension, which the API server enables
    # (pkg/cel/environment/base.go: ext.Strings(ext.StringsVersion(2))).
    ref = "variables.refName"
    stem = f"{ref}.substring(0, size({ref}) - {len(IDENTITY_SUFFIX)})"
    known = " || ".join(f"{stem} in {name}" for name in accounts)
    row = lookup(stem, accounts, "['']")
    keeps_default = f"(size({row}) == 0 || ({row})[1] == '')"
    derived = f"{ref}.endsWith('{IDENTITY_SUFFIX}') && ({known}) && {keeps_default} ? [{stem}] : []"
    if not names:
        return derived
    return " : ".join(f"{ref} in {n} ? [{n}[{ref}]]" for n in names) + f" : {derived}"


def entry() -> str:
    # string(): where namespaceObject is declared dyn, the label's value would make the
    # literal's values dyn and string at once.
    a = "string(variables.account)"
    row = "variables.row"
    return (
        f"!variables.known ? {{}} : size({row}) == 0"
        f" ? {{'namespaceName': {a}, 'identityName': {a} + '{IDENTITY_SUFFIX}', 'unenforced': ''}}"
        f" : {{'namespaceName': {row}[0] == '' ? {a} : {row}[0],"
        f" 'identityName': {row}[1] == '' ? {a} + '{IDENTITY_SUFFIX}' : {row}[1],"
        f" 'unenforced': {row}[2]}}"
    )
