"""Render's plan: every generated file's path and text, as ``render`` computes it and
``generated`` compares it with the tree and applies it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from capa_accounts.core import yamlio
from capa_accounts.core.record import Mutable

if TYPE_CHECKING:
    from capa_accounts.kustomize_plugin.seen import Seen


class Plan(Mutable):
    """Render's plan: every generated file's path and text, and what check takes from it."""

    COMPARED = (
        "files",
        "warnings",
        "documents",
        "merged",
        "managed",
        "flux_dir",
        "verified",
        "kept",
    )
    SHOWN = COMPARED  # ``seen`` is neither compared nor shown
    FIELDS = (*COMPARED, "seen")
    files: dict[str, str]
    warnings: list[str]
    # The documents of each YAML file whose text reads back as exactly them (plain data:
    # yamlio.dump_plain): `check` takes them for a file whose text is what render writes
    # instead of parsing it again (hooks/check/repository.py).
    documents: dict[str, list[Any]]
    # Files the user shares with render (a .sourceignore of their own holding render's block):
    # render updates them although their first line is not the generated header.
    merged: set[str]
    # The directories where render deletes a generated file it no longer plans.
    managed: tuple[str, ...]
    # The directory of the Flux Kustomizations (spec.flux.path): they list directories.
    flux_dir: str
    # Files whose planned text `check` judged once and found nothing in for the rules that
    # judge a file alone (kept with the plan in plan_cache; hooks/check/verified.py).
    verified: frozenset[str]
    # Those of them judged by an earlier run, not this one: what check says it kept.
    kept: frozenset[str]
    # Files whose text on disk is known to be the planned text, unread (kustomize_plugin/
    # seen.py); None when the plan is not kept (plan_cache).
    seen: Seen | None

    def __init__(
        self,
        files: dict[str, str] | None = None,
        warnings: list[str] | None = None,
        documents: dict[str, list[Any]] | None = None,
        merged: set[str] | None = None,
        managed: tuple[str, ...] = (),
        flux_dir: str = "",
        verified: frozenset[str] = frozenset(),
        kept: frozenset[str] = frozenset(),
        seen: Seen | None = None,
    ) -> None:
        self.files = {} if files is None else files
        self.warnings = [] if warnings is None else warnings
        self.documents = {} if documents is None else documents
        self.merged = set() if merged is None else merged
        self.managed = managed
        self.flux_dir = flux_dir
        self.verified = verified
        self.kept = kept
        self.seen = seen

    def add(self, path: str, header: str, docs: list[Any]) -> None:
        # "---" before every document, one or several: yamllint's document-start (the one
        # rule of its defaults a generated file would break without a reason).
        text = yamlio.dump_plain(docs, explicit_start=True)
        if text is None:
            text = yamlio.dump_documents(docs, explicit_start=True)
        else:
            self.documents[path] = docs
        self.files[path] = header + text

    def update(self, other: Plan) -> None:
        self.files.update(other.files)
        self.documents.update(other.documents)
        self.merged |= other.merged
        self.warnings += other.warnings
