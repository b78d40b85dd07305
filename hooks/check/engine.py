"""``check``: load the repository once, run every rule, apply suppressions."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capa_accounts.core import eks_versions
from capa_accounts.core.errors import printable
from capa_accounts.core.finding import Finding
from capa_accounts.hooks.check import kustomize
from capa_accounts.hooks.check.context import Context
from capa_accounts.hooks.check.repository import Planner, load
from capa_accounts.hooks.rules import all_rules, run_rules


@dataclass
class Report:
    findings: list[Finding]
    suppressed: int = 0
    files: int = 0
    warnings_loading: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    def exit_code(self, strict: bool) -> int:
        return 1 if self.errors or (strict and self.warnings) else 0

    def summary(self) -> dict[str, Any]:
        return {
            "errors": self.errors,
            "warnings": self.warnings,
            "suppressed": self.suppressed,
            "files": self.files,
            "filesWithFindings": len({f.file for f in self.findings}),
        }


def _planner(root: Path) -> Planner:
    """Render's plan, made once: CAPA-R001 compares it with the tree, and the loader takes
    render's documents for every file whose text is render's instead of parsing it again."""
    from capa_accounts.kustomize_plugin import plan_cache

    return lambda account_set: plan_cache.cached_plan(root, account_set)


def _schema(crds: tuple[Path, ...]) -> Any:
    from capa_accounts.hooks.rules.schemas import stored_view_validator

    return stored_view_validator(crds)


def check(
    root: Path, *, base_ref: str | None = None, crds: tuple[Path, ...] = (), schemas: bool = True
) -> Report:
    """Judge the repository at ``root``; ``schemas=False`` skips schema validation (CAPA-R004
    and the stored view), for benchmarks/bench.py to measure what validation costs."""
    return check_context(root, base_ref=base_ref, crds=crds, schemas=schemas)[0]


def check_context(
    root: Path, *, base_ref: str | None = None, crds: tuple[Path, ...] = (), schemas: bool = True
) -> tuple[Report, Context]:
    """``check``, also returning the indexed objects it judged (``graph`` draws them)."""
    with _without_cycle_collector(), kustomize.budget():  # one kustomize time for the check
        return _check(root, base_ref, crds, schemas)


@contextmanager
def _without_cycle_collector() -> Iterator[None]:
    """Reference counting frees what check builds: node trees and plain data hold no cycles.

    Python's cycle collector runs every 700 new containers, and each run of its oldest
    generation walks every object alive; check keeps every document's nodes alive for their
    marks, so at fleet scale the collector cost about as much as composing the YAML
    (benchmarks/bench.py).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check(
    root: Path, base_ref: str | None, crds: tuple[Path, ...], schemas: bool
) -> tuple[Report, Context]:
    loaded = load(root, planner=_planner(root))
    ctx = Context(loaded, _schema(crds) if schemas else None)
    ctx.base_ref = base_ref
    ctx.crds = crds
    rules = [r for r in all_rules().values() if base_ref or not r.change_aware]
    findings = [
        Finding(rule, "error", file, line, col, message)
        for file, line, col, rule, message in loaded.problems
    ]
    findings.extend(run_rules(ctx, rules))
    if schemas:
        from capa_accounts.hooks.check.templates import root_causes

        findings = root_causes(ctx, findings, _schema(crds))
    kept, suppressed = _suppress(ctx, findings)
    unique = sorted(set(kept), key=Finding.sort_key)
    if stale := eks_versions.stale(eks_versions.today()):  # C009 judges by this calendar
        loaded.warnings.append(stale)
    warnings = [printable(w) for w in loaded.warnings]  # they name files and --base
    return Report(unique, suppressed, len(loaded.yaml_files), warnings), ctx


def _suppress(ctx: Context, findings: list[Finding]) -> tuple[list[Finding], int]:
    try:
        from capa_accounts.hooks.check.suppress import apply
    except ImportError:
        return findings, 0
    return apply(ctx, findings)
