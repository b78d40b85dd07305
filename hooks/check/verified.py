"""Render's own output, judged once per plan: the files ``check`` need not judge again.

A file whose text is render's (``repository.RenderedDocument``) holds render's documents, and
three verdicts about it depend on nothing but that text and the code that judges it: its
objects against their schemas (CAPA-R004, without ``--crd``), what kustomize refuses in the
overlay it is part of (CAPA-R007), and the credential scan (CAPA-S001 to S003). The verifier
gives those verdicts on the plan itself; ``plan_cache`` keeps the files that passed all three
with the plan, under a key that hashes this package's code, so a check of an unchanged fleet
does not judge render's output again, and any change of the plan, the inputs or the code
judges it afresh. Every rule that reads more than one file still runs on every object.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capa_accounts.core.yamlio import Document
    from capa_accounts.kustomize_plugin.plan import Plan
    from capa_accounts.kustomize_plugin.plan_cache import Verifier

FORMAT = 1
_KUSTOMIZATION = "kustomization.yaml"  # the name render writes (core/layout.py)


def verifier(crds: tuple[Path, ...], schemas: bool) -> Verifier | None:
    """The verifier for a check with these options; None when its verdicts would not hold
    (user CRDs change what a schema says; without schemas nothing is validated)."""
    if crds or not schemas:
        return None
    return key, verify


def key() -> str:
    """What judged: this package's code (read only when a kept plan is used)."""
    return _key()


@cache
def _key() -> str:
    import capa_accounts.hooks
    from capa_accounts.kustomize_plugin.plan_cache import code_digest

    return code_digest(f"verified {FORMAT}", capa_accounts.hooks)


def verify(plan: Plan, known: frozenset[str] = frozenset()) -> Iterable[str]:
    """The planned files in which the three file-alone judgements find nothing. ``known``:
    files judged so before whose text is unchanged (plan_cache carries them over a render
    that changed others); an overlay whose files are all known is not judged again."""
    from capa_accounts.hooks.check.refusals import refused_by_kustomize
    from capa_accounts.hooks.check.repository import RenderedDocument
    from capa_accounts.hooks.rules.schemas import stored_view_validator
    from capa_accounts.hooks.rules.secrets import scan_text

    validate = stored_view_validator(())
    clean: set[str] = set(known & plan.files.keys())
    for rel, text in plan.files.items():
        docs: list[Any] | None = plan.documents.get(rel)
        if rel in clean or docs is None or not all(type(d) is dict for d in docs):
            continue
        if any(validate(d) for d in docs) or scan_text(rel, text):
            continue
        clean.add(rel)
    for rel in [f for f in plan.files if f.rpartition("/")[2] == _KUSTOMIZATION]:
        directory = rel.rpartition("/")[0]
        members = [rel]
        for entry in (plan.documents.get(rel) or [{}])[0].get("resources") or []:
            members.append(f"{directory}/{entry}" if directory else str(entry))
        if all(m in known for m in members if m in plan.files):
            continue  # the same overlay, judged whole before
        built: list[Document] = [
            RenderedDocument(member, i, data, plan.files[member])
            for member in members[1:]
            if member in plan.files
            for i, data in enumerate(plan.documents.get(member) or [])
        ]
        if refused_by_kustomize(built):
            clean.difference_update(members)
    return clean
