"""``check``: load the repository once, run every rule, apply suppressions."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from capa_accounts.core import eks_versions
from capa_accounts.core.errors import CapaAccountsError, printable
from capa_accounts.core.finding import INPUT_ERROR, Finding
from capa_accounts.core.record import Mutable
from capa_accounts.hooks.check import kustomize
from capa_accounts.hooks.check.context import Context
from capa_accounts.hooks.check.repository import Planner, load
from capa_accounts.hooks.rules import all_rules, run_rules


class Report(Mutable):
    """What check found, and what it could not read."""

    FIELDS = (
        "findings",
        "suppressed",
        "files",
        "warnings_loading",
        "input_errors",
        "failures",
        "kustomize",
        "kept",
    )
    findings: list[Finding]
    suppressed: int
    files: int
    warnings_loading: list[str]
    # Files that could not be read: findings of INPUT_ERROR, first in ``findings`` too, so
    # that every format carries them; any of them makes the exit code 2.
    input_errors: list[Finding]
    failures: list[CapaAccountsError]  # the same, as raised
    # What confined kustomize when check built with it (``sandbox.described``), else None.
    kustomize: str | None
    # Files whose verdicts of the rules that judge a file alone were kept from an earlier run
    # (render's output, unchanged since: hooks/check/verified.py); the rest were judged anew.
    kept: int

    def __init__(
        self,
        findings: list[Finding],
        suppressed: int = 0,
        files: int = 0,
        warnings_loading: list[str] | None = None,
        input_errors: list[Finding] | None = None,
        failures: list[CapaAccountsError] | None = None,
        kustomize: str | None = None,
        kept: int = 0,
    ) -> None:
        self.findings = findings
        self.suppressed = suppressed
        self.files = files
        self.warnings_loading = [] if warnings_loading is None else warnings_loading
        self.input_errors = [] if input_errors is None else input_errors
        self.failures = [] if failures is None else failures
        self.kustomize = kustomize
        self.kept = kept

    @classmethod
    def failed(cls, errors: list[CapaAccountsError], report: Report | None = None) -> Report:
        """``report`` (or an empty one) carrying ``errors`` (file, line, message)."""
        base = report or cls([])
        found = [
            Finding(
                INPUT_ERROR,
                "error",
                printable(err.path or "-"),
                err.line or 1,
                err.column or 1,
                printable(err.message),
            )
            for err in errors
        ]
        return base.replace(
            findings=found + base.findings,
            input_errors=found + base.input_errors,
            failures=list(errors) + base.failures,
        )

    def without_input_errors(self) -> Report:
        """The findings of rules only (text prints input errors on stderr instead)."""
        rules = [f for f in self.findings if f.rule != INPUT_ERROR]
        return self.replace(findings=rules, input_errors=[], failures=[])

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    def exit_code(self, strict: bool) -> int:
        if self.input_errors:
            return 2
        return 1 if self.errors or (strict and self.warnings) else 0

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "errors": self.errors,
            "warnings": self.warnings,
            "suppressed": self.suppressed,
            "files": self.files,
            "filesWithFindings": len({f.file for f in self.findings}),
            "inputErrors": len(self.input_errors),
        }
        if self.kustomize is not None:
            out["kustomize"] = self.kustomize
        return out


def _planner(root: Path, crds: tuple[Path, ...] = (), schemas: bool = True) -> Planner:
    """Render's plan, made once: CAPA-R001 compares it with the tree, and the loader takes
    render's documents for every file whose text is render's instead of parsing it again
    (and judges none again that ``verified`` says were judged with the plan)."""
    from capa_accounts.hooks.check import verified
    from capa_accounts.kustomize_plugin import plan_cache

    judge = verified.verifier(crds, schemas)
    return lambda account_set: plan_cache.cached_plan(root, account_set, judge)


def _schema(crds: tuple[Path, ...]) -> Any:
    from capa_accounts.hooks.rules.schemas import stored_view_validator

    return stored_view_validator(crds)


def check(
    root: Path,
    *,
    base_ref: str | None = None,
    crds: tuple[Path, ...] = (),
    schemas: bool = True,
    keep_going: bool = False,
    management_account: str | None = None,
) -> Report:
    """Judge the repository at ``root``; ``schemas=False`` skips schema validation (CAPA-R004
    and the stored view), for benchmarks/bench.py to measure what validation costs.

    A file that cannot be read raises its InputError, unless ``keep_going``: then every such
    file is in the report's ``input_errors`` and the rest is judged."""
    return check_context(
        root,
        base_ref=base_ref,
        crds=crds,
        schemas=schemas,
        keep_going=keep_going,
        management_account=management_account,
    )[0]


def check_context(
    root: Path,
    *,
    base_ref: str | None = None,
    crds: tuple[Path, ...] = (),
    schemas: bool = True,
    keep_going: bool = False,
    management_account: str | None = None,
) -> tuple[Report, Context]:
    """``check``, also returning the indexed objects it judged (``graph`` draws them)."""
    with _without_cycle_collector(), kustomize.budget():  # one kustomize time for the check
        return _check(root, base_ref, crds, schemas, keep_going, management_account)


@contextmanager
def _without_cycle_collector() -> Iterator[None]:
    """Reference counting frees what check builds: node trees and plain data hold no cycles.

    Python's cycle collector runs every 700 new containers, and each run of its oldest
    generation walks every object alive; check keeps every document's nodes alive for their
    marks. Off, check is 1.01x to 1.06x as fast at 300 to 1,000 accounts in a fresh process
    (1.29x in one that holds more), and graph 1.17x at 1,000 (benchmarks/speedups.py, CPU
    time).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _base(ctx: Context, base_ref: str, crds: tuple[Path, ...]) -> Context:
    """The objects at ``base_ref``, read with the work tree's exclusions; its warnings join
    the work tree's. What REF shares with the work tree byte for byte is the work tree's:
    read and validated once (hooks/git/base.py)."""
    from capa_accounts.hooks.git.base import load_ref
    from capa_accounts.hooks.rules.schemas import stored_view_validator

    exclude = ctx.account_set.check_exclude if ctx.account_set else ()
    base = load_ref(ctx.root, base_ref, exclude, shared=ctx.loaded)
    ctx.loaded.warnings.extend(base.warnings)
    return Context(base, stored_view_validator(crds), shared=ctx)


def _check(
    root: Path,
    base_ref: str | None,
    crds: tuple[Path, ...],
    schemas: bool,
    keep_going: bool,
    management_account: str | None = None,
) -> tuple[Report, Context]:
    loaded = load(root, planner=_planner(root, crds, schemas))
    if loaded.input_errors and not keep_going:
        raise loaded.input_errors[0]
    ctx = Context(loaded, _schema(crds) if schemas else None)
    ctx.base_ref = base_ref
    if base_ref is not None:  # the change-aware rules compare with it
        ctx.base = _base(ctx, base_ref, crds)
    ctx.crds = crds
    ctx.management_account = management_account
    # What an unreadable file holds is unknown: its absence is an assumption, not a finding.
    ctx.complete = not loaded.input_errors
    rules = [r for r in all_rules().values() if base_ref or not r.change_aware]
    findings = list(loaded.problems)
    findings.extend(run_rules(ctx, rules))
    if schemas:
        from capa_accounts.hooks.check.templates import root_causes

        findings = root_causes(ctx, findings, _schema(crds))
    kept, suppressed = _suppress(ctx, findings)
    # A file that could not be read is named once, as an input error; what rules would say
    # about it (render drift, say) judges a text nobody could read.
    unique = sorted({f for f in kept if f.file not in loaded.unread}, key=Finding.sort_key)
    if stale := eks_versions.stale(eks_versions.today()):  # C009 judges by this calendar
        loaded.warnings.append(stale)
    warnings = [printable(w) for w in loaded.warnings]  # they name files and --base
    report = Report(
        unique,
        suppressed,
        len(loaded.yaml_files),
        warnings,
        kustomize=kustomize.protection(),
        kept=len(loaded.verified & loaded.plan.kept) if loaded.plan is not None else 0,
    )
    if loaded.input_errors:
        report = Report.failed(list(loaded.input_errors), report)
    return report, ctx


def _suppress(ctx: Context, findings: list[Finding]) -> tuple[list[Finding], int]:
    try:
        from capa_accounts.hooks.check.suppress import apply
    except ImportError:
        return findings, 0
    return apply(ctx, findings)
