"""The rule catalogue: one module per rule family, each rule registered here by its ID.

A rule is a small function ``check(ctx, report)`` decorated with ``@rule(ID, severity, name=...)``
(the name a short CamelCase identifier, as SARIF's ``reportingDescriptor.name``); its
docstring is the user documentation (``explain`` prints it, the documentation's rule pages
show it, their table uses its first line). Rule IDs are a public contract: never renumber.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Literal

from capa_accounts.core.finding import Finding, Location, Severity
from capa_accounts.core.record import Mutable, Record

if TYPE_CHECKING:
    from capa_accounts.hooks.check.context import Context, Obj, PathT

# Every module of this package is a rule family: adding a rule is adding (or editing) one.
FAMILIES = tuple(
    sorted(
        name.removesuffix(".py")
        for directory in __path__
        for name in os.listdir(directory)
        if name.endswith(".py") and name != "__init__.py"
    )
)


class Reporter(Mutable):
    """What a rule uses to emit findings; it knows the rule's ID and severity."""

    FIELDS = ("rule", "severity", "ctx", "findings")
    rule: str
    severity: Severity
    ctx: Context
    findings: list[Finding]

    def __init__(
        self, rule: str, severity: Severity, ctx: Context, findings: list[Finding] | None = None
    ) -> None:
        self.rule = rule
        self.severity = severity
        self.ctx = ctx
        self.findings = [] if findings is None else findings

    def at(
        self,
        obj: Obj,
        path: PathT,
        message: str,
        *,
        at_key: bool = False,
        related: tuple[Location, ...] = (),
        severity: Severity | None = None,
    ) -> None:
        self.findings.append(
            self.ctx.finding(
                self.rule,
                severity or self.severity,
                obj,
                path,
                message,
                at_key=at_key,
                related=related,
            )
        )

    def config(
        self,
        path: PathT,
        message: str,
        *,
        at_key: bool = False,
        related: tuple[Location, ...] = (),
        severity: Severity | None = None,
    ) -> None:
        self.findings.append(
            self.ctx.config_finding(
                self.rule, severity or self.severity, path, message, at_key=at_key, related=related
            )
        )

    def unseen(
        self, obj: Obj, path: PathT, message: str, *, related: tuple[Location, ...] = ()
    ) -> None:
        """A finding about something ``obj`` needs that is not among the objects judged: the
        rule's severity over a complete set; over a partial stream a warning that names the
        assumption, since the stream cannot show what is applied elsewhere."""
        if self.ctx.complete:
            self.at(obj, path, message, related=related)
            return
        why = (
            "assumed applied elsewhere: a stream shows one build; "
            "`check - --complete` declares it the whole set"
            if self.ctx.stream
            else "assumed to be in a file that could not be read"
        )
        self.at(obj, path, f"{message} ({why})", related=related, severity="warning")

    def raw(self, finding: Finding) -> None:
        self.findings.append(finding)


Check = Callable[["Context", Reporter], None]


# What a rule judges, as yamllint's rule TYPE (token, comment, line) says what a rule reads:
# "objects" judge the Kubernetes objects and accounts.yaml through the context; "files" judge
# every file of the repository as text, YAML or not (the credential scan).
Scope = Literal["objects", "files"]


class Rule(Record):
    """A registered rule: its ID, severity, documentation and check function."""

    FIELDS = ("id", "severity", "documented", "check", "change_aware", "name", "scope")
    id: str
    severity: Severity
    documented: Callable[..., object]  # whose docstring is the rule's documentation
    check: Check
    change_aware: bool  # runs only with --base
    name: str  # short, CamelCase: SARIF's rule name and `capa-accounts rules --format json`
    scope: Scope

    def __init__(
        self,
        id: str,
        severity: Severity,
        documented: Callable[..., object],
        check: Check,
        change_aware: bool = False,
        name: str = "",
        scope: Scope = "objects",
    ) -> None:
        set_ = object.__setattr__
        set_(self, "id", id)
        set_(self, "severity", severity)
        set_(self, "documented", documented)
        set_(self, "check", check)
        set_(self, "change_aware", change_aware)
        set_(self, "name", name)
        set_(self, "scope", scope)

    @property
    def doc(self) -> str:
        """The documentation: the docstring, indentation removed (read when shown: a check
        that prints no rule's documentation does not import ``inspect``)."""
        import inspect

        return inspect.getdoc(self.documented) or self.id

    @property
    def title(self) -> str:
        return self.doc.split("\n", 1)[0].strip()


REGISTRY: dict[str, Rule] = {}


def rule(
    rule_id: str,
    severity: Severity = "error",
    *,
    change_aware: bool = False,
    name: str = "",
    scope: Scope = "objects",
    doc: Callable[..., object] | None = None,
) -> Callable[[Check], Check]:
    """Register a rule; its documentation is the docstring of ``doc`` when given (a file
    rule documented where its detector is), else of the function itself."""

    def register(func: Check) -> Check:
        REGISTRY[rule_id] = Rule(
            rule_id,
            severity,
            doc or func,
            func,
            change_aware,
            name,
            scope,
        )
        return func

    return register


def all_rules() -> dict[str, Rule]:
    for family in FAMILIES:
        importlib.import_module(f"{__name__}.{family}")
    return dict(sorted(REGISTRY.items()))


def run_rules(ctx: Context, rules: Iterable[Rule]) -> list[Finding]:
    out: list[Finding] = []
    for r in rules:
        reporter = Reporter(r.id, r.severity, ctx)
        r.check(ctx, reporter)
        out.extend(reporter.findings)
    return out
