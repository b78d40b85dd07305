"""Suppressions (CAPA-R006, R012): every suppression names a real rule, says why, and still
accepts something.

This module owns the validity of suppressions; ``hooks/check/suppress.py`` parses them, applies
the valid ones and finds the stale. An invalid suppression is reported once, where it is
written: in ``base/`` when the rendered copies carry it from there, else on the object or the
accounts.yaml entry.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

from capa_accounts.core import layout, yamlio
from capa_accounts.core.errors import InputError
from capa_accounts.core.finding import Finding, ResourceRef
from capa_accounts.core.kustomization import KUSTOMIZATION_FILES
from capa_accounts.core.resources import IGNORE_ANNOTATION, ResourceId
from capa_accounts.hooks.check.context import Context, Obj
from capa_accounts.hooks.check.suppress import (
    ANNOTATION_PATH,
    UNSUPPRESSIBLE,
    Suppression,
    account_suppressions,
    annotation_of,
    parse_annotation,
    repository_settings,
)
from capa_accounts.hooks.rules import Reporter, all_rules, rule

BASE = f"{layout.BASE}/"


@rule("CAPA-R006", name="InvalidSuppression")
def check_invalid_suppression(ctx: Context, report: Reporter) -> None:
    """A suppression has no reason or names an unknown rule.

    Why: a suppression turns a check off for an object or an account. Without a reason the next
    reader cannot tell an accepted risk from a silenced mistake, and a misspelt rule ID would
    quietly accept nothing while its author believes the finding is handled. An invalid
    suppression accepts nothing, and CAPA-R006 itself cannot be suppressed.

    Bad:
        metadata:
          annotations:
            capa-accounts.dev/ignore: "CAPA-I004"

    Good:
        metadata:
          annotations:
            capa-accounts.dev/ignore: "CAPA-I004: only the platform team labels namespaces"

    Fix: write `RULE: reason` (several separated by commas) with a rule ID that `capa-accounts
    explain` knows; in accounts.yaml give each `suppress` entry a `rule` and a `reason`.
    """
    known = set(all_rules())
    templates = list(_templates(ctx))
    in_base = {(kind, value) for kind, value, _doc in templates}
    for kind, template_value, doc in templates:
        for s in _invalid(template_value, known):
            line, column = yamlio.position(doc.node, ANNOTATION_PATH)
            ref = ResourceId.of(doc.data)
            report.raw(
                Finding(
                    report.rule,
                    report.severity,
                    doc.file,
                    line,
                    column,
                    f"{_where(kind, ref.name)} {_says(s)} (render copies it into every account)",
                    ResourceRef(
                        str(doc.data.get("apiVersion") or ""), kind, ref.name, ref.namespace
                    ),
                )
            )
    for obj in ctx.objects:
        value = annotation_of(obj)
        if value is None or (_rendered(ctx, obj) and (obj.kind, value) in in_base):
            continue  # reported above, at the template render copied it from
        for s in _invalid(value, known):
            report.at(obj, ANNOTATION_PATH, f"{_where(obj.kind, obj.name)} {_says(s)}")
    for account in ctx.account_set.accounts if ctx.account_set else ():
        for j, s in enumerate(account_suppressions(account, known)):
            if s.valid:
                continue
            field = "reason" if s.rule in known and s.rule not in UNSUPPRESSIBLE else "rule"
            report.config(
                ("spec", "accounts", account.index, "suppress", j, field),
                f"the suppression of account {account.name!r} {_says(s)}",
            )
    for setting, problem in repository_settings(ctx, known):
        if problem:
            bad = Suppression(setting.rule, setting.reason, problem)
            field = "reason" if "reason" in problem else "rule"
            report.config(
                ("spec", "check", "rules", setting.index, field),
                f"check.rules {_says(bad).replace('suppresses nothing', 'changes nothing')}",
            )


@rule("CAPA-R012", "warning", name="StaleSuppression")
def check_stale_suppression(ctx: Context, report: Reporter) -> None:
    """A suppression or repository-wide rule setting matched no finding in this run.

    Why: a suppression outlives the finding it accepted. Once the object is fixed, renamed or
    removed, it accepts nothing, until one day it silently accepts a new finding of the same
    rule that nobody has looked at. Reported after suppressions are applied, for the rules that
    ran (the change-aware CAPA-D* rules only with --base); annotations that render copies from
    base/ into every account are not judged. CAPA-R012 itself cannot be suppressed.

    Bad:
        spec:
          check:
            rules:
              - rule: CAPA-O004
                severity: ignore
                reason: operator mode is accepted   # but no account uses operator mode

    Good:
        spec:
          check:
            rules: []

    Fix: remove the suppression (the annotation entry, the account's `suppress` entry, or the
    `check.rules` entry) that the message names.
    """
    # check's engine reports it (hooks/check/suppress.py: apply), once suppressions are known.


def _invalid(value: str, known: Collection[str]) -> list[Suppression]:
    return [s for s in parse_annotation(value, known) if not s.valid]


def _where(kind: str, name: str) -> str:
    return f"the {IGNORE_ANNOTATION} annotation of {kind} {name!r}:"


def _says(s: Suppression) -> str:
    shown = f"{s.rule!r} " if s.rule else ""
    return f"{shown}{s.problem}, so it suppresses nothing"


def _rendered(ctx: Context, obj: Obj) -> bool:
    return obj.source.overlay in ctx.accounts_by_overlay


def _templates(ctx: Context) -> Iterator[tuple[str, str, yamlio.Document]]:
    """(kind, annotation value, document) of the base templates that carry the annotation.

    ``base/`` is not applied when accounts.yaml exists (render instantiates it per account), so
    the repository loader does not index it; its annotations are read here, to point at the
    one place to fix rather than at every generated copy.
    """
    if ctx.account_set is None:
        return
    for rel in ctx.loaded.yaml_files:
        if not rel.startswith(BASE) or Path(rel).name in KUSTOMIZATION_FILES:
            continue
        try:
            docs = yamlio.load_documents(ctx.root / rel, rel)
        except InputError:
            continue  # render and CAPA-R001 report a base that cannot be read
        for doc in docs:
            data = doc.data
            meta = data.get("metadata") if isinstance(data, dict) else None
            notes = meta.get("annotations") if isinstance(meta, dict) else None
            value = notes.get(IGNORE_ANNOTATION) if isinstance(notes, dict) else None
            if isinstance(value, str):
                yield str(data.get("kind") or ""), value, doc
