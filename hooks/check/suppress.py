"""Suppressions: the findings a user has accepted, each with a rule ID and a reason.

Two places accept a finding (DESIGN.md, Suppressions):

- the annotation ``capa-accounts.dev/ignore: "CAPA-I004: <reason>, CAPA-T008: <reason>"`` on
  an object, which accepts that rule's findings about that very object. In ``base/`` it reaches
  every account, because render carries annotations through to the rendered objects, and
  ``check`` judges what Flux applies;
- ``suppress: [{rule, reason}]`` on an account in ``accounts.yaml``, which accepts that rule's
  findings about the account: its overlay, its bootstrap file, its entry in accounts.yaml and
  the objects of its namespace.

- ``check.rules: [{rule, severity, reason}]`` in accounts.yaml's spec, for the whole
  repository: ``severity: ignore`` turns the rule off, ``warning`` or ``error`` gives its
  findings that severity (kube-linter's ``checks.exclude``, checkov's ``--skip-check``).

A suppression without a reason, or naming a rule that does not exist, is itself a finding
(CAPA-R006, ``hooks/rules/suppressions.py``) and accepts nothing: a typo must not silently turn a
check off. A suppression or setting that matched no finding of a rule that ran is stale
(CAPA-R012, a warning): the problem it accepted is gone, and it would silently accept the next
one. CAPA-R006 and CAPA-R012 cannot be suppressed, or a bad suppression could hide itself.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import cast

from capa_accounts.core import layout, yamlio
from capa_accounts.core.finding import Finding, Severity
from capa_accounts.core.model import ACCOUNTS_FILE, Account, RuleSetting
from capa_accounts.core.record import Record
from capa_accounts.core.resources import IGNORE_ANNOTATION
from capa_accounts.hooks.check.context import Context, Obj

ANNOTATION = IGNORE_ANNOTATION
ANNOTATION_PATH = ("metadata", "annotations", IGNORE_ANNOTATION)
STALE = "CAPA-R012"
UNSUPPRESSIBLE = frozenset({"CAPA-R006", STALE})

# Entries are separated by commas, but a reason may hold commas too ("see ticket 12, part 2"):
# only a comma followed by something shaped like a rule ID ("CAPA-I004", not a ticket such as
# "SEC-12") starts the next entry.
_NEXT_ENTRY = re.compile(r",\s*(?=[A-Za-z]+-[A-Za-z]\d+\b)")

ObjectKey = tuple[str, str, str, str]  # file, kind, name, namespace


class Suppression(Record):
    """One accepted rule, as written; ``problem`` says why it is invalid (CAPA-R006)."""

    FIELDS = ("rule", "reason", "problem")
    rule: str
    reason: str
    problem: str | None

    def __init__(self, rule: str, reason: str, problem: str | None = None) -> None:
        set_ = object.__setattr__
        set_(self, "rule", rule)
        set_(self, "reason", reason)
        set_(self, "problem", problem)

    @property
    def valid(self) -> bool:
        return self.problem is None


def judge(rule: str, reason: str, known: Collection[str]) -> Suppression:
    """A suppression with the reason it is invalid, if it is."""
    problem = None
    if not rule:
        problem = "names no rule (write `CAPA-X000: reason`)"
    elif rule in UNSUPPRESSIBLE:
        problem = f"names {rule}, which cannot be suppressed (fix what it reports instead)"
    elif rule not in known:
        problem = f"names unknown rule {rule!r}{_did_you_mean(rule, known)}"
    elif not reason.strip():
        problem = f'has no reason: write why the finding is accepted ("{rule}: <reason>")'
    return Suppression(rule, reason.strip(), problem)


def _did_you_mean(rule: str, known: Collection[str]) -> str:
    same = [k for k in known if k.upper() == rule.upper().replace("_", "-")]
    return f" (did you mean {same[0]}?)" if same else " (see `capa-accounts explain`)"


def parse_annotation(value: str, known: Collection[str]) -> list[Suppression]:
    """The suppressions of one annotation value, in the order written."""
    if not value.strip():
        return [judge("", "", known)]
    out = []
    for entry in _NEXT_ENTRY.split(value):
        rule, colon, reason = (part.strip() for part in entry.partition(":"))
        first = rule.split(maxsplit=1)[0] if rule else ""
        if not colon and first != rule and first in known:
            out.append(
                Suppression(
                    first,
                    rule[len(first) :].strip(),
                    (f'lacks the colon between rule and reason ("{first}: <reason>")'),
                )
            )
            continue
        out.append(judge(rule, reason, known))
    return out


def annotation_of(obj: Obj) -> str | None:
    """The ignore annotation's value; a value of another type is CAPA-R004's to report."""
    value = obj.get(*ANNOTATION_PATH)
    return value if isinstance(value, str) else None


def account_suppressions(account: Account, known: Collection[str]) -> list[Suppression]:
    return [judge(s.rule, s.reason, known) for s in account.suppress]


def repository_settings(ctx: Context, known: Collection[str]) -> list[tuple[RuleSetting, str]]:
    """``check.rules`` entries with the reason each is invalid ("" when valid)."""
    settings = ctx.account_set.check_rules if ctx.account_set else ()
    return [(s, judge(s.rule, s.reason, known).problem or "") for s in settings]


# --- applying ---------------------------------------------------------------------------------


def apply(ctx: Context, findings: list[Finding]) -> tuple[list[Finding], int]:
    """The findings no valid suppression accepts, with the stale suppressions (CAPA-R012), and
    how many were accepted."""
    from capa_accounts.hooks.rules import all_rules

    rules = all_rules()
    known = set(rules)
    ran = {r for r, rule in rules.items() if ctx.base_ref or not rule.change_aware}
    findings, ignored = _repository(ctx, findings, known, ran)
    by_object: dict[ObjectKey, set[str]] = {}
    objects: dict[ObjectKey, Obj] = {}
    for obj in ctx.objects:
        objects.setdefault(_key(obj), obj)
        value = annotation_of(obj)
        if value is not None:
            by_object.setdefault(_key(obj), set()).update(
                s.rule for s in parse_annotation(value, known) if s.valid
            )
    by_account: dict[str, set[str]] = {}
    for account in ctx.account_set.accounts if ctx.account_set else ():
        rules_of = {s.rule for s in account_suppressions(account, known) if s.valid}
        if rules_of:
            by_account[account.name] = rules_of
    entries = list(_entry_lines(ctx)) if by_account else []
    kept: list[Finding] = []
    suppressed: set[Finding] = set()  # a finding reported twice is one finding
    used: set[tuple[str, str]] = set()  # ("object" key or account name, rule)
    for finding in findings:
        key = _finding_key(finding)
        on_object = set() if key is None else by_object.get(key, set())
        owner = _account_of(ctx, finding, objects.get(key) if key else None, entries)
        on_account = by_account.get(owner.name, set()) if by_account and owner else set()
        if finding.rule in UNSUPPRESSIBLE or finding.rule not in on_object | on_account:
            kept.append(finding)
            continue
        suppressed.add(finding)
        if finding.rule in on_object:
            used.add((repr(key), finding.rule))
        if owner is not None and finding.rule in on_account:
            used.add((owner.name, finding.rule))
    stale = _stale_objects(ctx, by_object, objects, used, ran)
    stale += _stale_accounts(ctx, known, used, ran)
    return kept + stale, len(suppressed) + ignored


def _repository(
    ctx: Context, findings: list[Finding], known: set[str], ran: set[str]
) -> tuple[list[Finding], int]:
    """``check.rules`` applied: the findings of ignored rules dropped (and counted), the others
    given their severity; a setting whose rule ran and reported nothing is stale."""
    settings = {s.rule: s for s, problem in repository_settings(ctx, known) if not problem}
    produced = {f.rule for f in findings}
    out: list[Finding] = []
    ignored = 0
    for finding in findings:
        setting = settings.get(finding.rule)
        if setting is None:
            out.append(finding)
        elif setting.severity == "ignore":
            ignored += 1
        else:
            out.append(finding.replace(severity=cast(Severity, setting.severity)))
    for rule_id, setting in settings.items():
        if rule_id in ran and rule_id not in produced:
            out.append(
                ctx.config_finding(
                    STALE,
                    "warning",
                    ("spec", "check", "rules", setting.index, "rule"),
                    f"check.rules sets {rule_id} to {setting.severity}, but {rule_id} "
                    "reported nothing in this run: remove the entry, or it will silently "
                    "judge the next finding",
                )
            )
    return out, ignored


def _stale_objects(
    ctx: Context,
    by_object: dict[ObjectKey, set[str]],
    objects: dict[ObjectKey, Obj],
    used: set[tuple[str, str]],
    ran: set[str],
) -> list[Finding]:
    """Annotations written by hand that accepted nothing. A rendered object's annotation comes
    from base/, where one template speaks for every account: not judged here."""
    out = []
    for key, rules_of in by_object.items():
        obj = objects[key]
        if obj.source.overlay in ctx.accounts_by_overlay:
            continue
        for rule_id in sorted(rules_of & ran):
            if (repr(key), rule_id) not in used:
                out.append(
                    ctx.finding(
                        STALE,
                        "warning",
                        obj,
                        ANNOTATION_PATH,
                        f"the {ANNOTATION} annotation of {obj.kind} {obj.name!r} suppresses "
                        f"{rule_id}, which reported nothing about it: remove it, or it will "
                        "silently accept the next finding",
                    )
                )
    return out


def _stale_accounts(
    ctx: Context, known: set[str], used: set[tuple[str, str]], ran: set[str]
) -> list[Finding]:
    out = []
    for account in ctx.account_set.accounts if ctx.account_set else ():
        for j, s in enumerate(account_suppressions(account, known)):
            if s.valid and s.rule in ran and (account.name, s.rule) not in used:
                out.append(
                    ctx.config_finding(
                        STALE,
                        "warning",
                        ("spec", "accounts", account.index, "suppress", j, "rule"),
                        f"account {account.name!r} suppresses {s.rule}, which reported nothing "
                        "about it: remove the entry, or it will silently accept the next finding",
                    )
                )
    return out


def _key(obj: Obj) -> ObjectKey:
    return obj.file, obj.kind, obj.name, obj.namespace


def _finding_key(finding: Finding) -> ObjectKey | None:
    ref = finding.resource
    if ref is None or not ref.kind:
        return None
    return finding.file, ref.kind, ref.name, ref.namespace


def _account_of(
    ctx: Context, finding: Finding, obj: Obj | None, entries: list[tuple[int, int, Account]]
) -> Account | None:
    """The account a finding is about: by its object, its file, or its accounts.yaml entry."""
    if finding.file == ACCOUNTS_FILE:
        return next((a for first, last, a in entries if first <= finding.line <= last), None)
    if obj is not None:
        owner = ctx.account_of(obj)
        if owner is not None:
            return owner
    if ctx.account_set is None:
        return None
    parts = finding.file.split("/")
    if len(parts) > 2 and parts[0] == layout.OVERLAYS:
        return ctx.account_set.account(parts[1])
    if len(parts) == 2 and parts[0] == layout.BOOTSTRAP and parts[1].endswith((".yaml", ".yml")):
        return ctx.account_set.account(parts[1].rsplit(".", 1)[0])
    return None


def _entry_lines(ctx: Context) -> Iterator[tuple[int, int, Account]]:
    """First and last line (1-based) of each account's entry in accounts.yaml."""
    account_set = ctx.account_set
    if account_set is None or account_set.document is None:
        return
    for account in account_set.accounts:
        _, node = yamlio.node_at(account_set.document.node, ("spec", "accounts", account.index))
        start, end = node.start_mark, node.end_mark
        # A block mapping ends where the next token starts (the next "- name:" or a dedent),
        # which belongs to what follows; a flow mapping ends after its "}".
        last = end.line + 1 if end.column > start.column else end.line
        yield start.line + 1, max(last, start.line + 1), account
