"""What kustomize, and so Flux, refuses to build, found before anything is built: each is a
CAPA-R007 finding for the loader (``capa_accounts.hooks.check.loader``) to report."""

from __future__ import annotations

import posixpath
from typing import Any, cast

from capa_accounts.core import yamlio
from capa_accounts.core.finding import Finding
from capa_accounts.core.kustomization import resource_problem

RULE = "CAPA-R007"


def refused_by_kustomize(documents: list[yamlio.Document]) -> list[Finding]:
    """CAPA-R007 for what kustomize, and so Flux, refuses to build: a document that is no
    Kubernetes object (a bare scalar, no kind, no metadata.name; api/resource/factory.go) or
    a second object with the same id ("may not add resource with an already registered id",
    api/resmap/reswrangler.go). A bare ``---`` (an empty document) is tolerated, as there."""
    ids: dict[tuple[str, str, str, str], yamlio.Document] = {}
    problems: list[Finding] = []
    for doc in documents:
        data = doc.data
        if data is None:
            continue
        problem = resource_problem(data)
        meta = data.get("metadata") if isinstance(data, dict) else None
        if problem is None and not (isinstance(meta, dict) and meta.get("name")):
            problem = (("metadata",) if isinstance(meta, dict) else (), "metadata.name is missing")
        if problem is not None:
            line, column = yamlio.position(doc.node, problem[0])
            problems.append(
                Finding(
                    RULE,
                    "error",
                    doc.file,
                    line,
                    column,
                    f"{problem[1]}: kustomize and Flux refuse to build it",
                )
            )
            continue
        named = cast(dict[str, Any], meta)  # a mapping with a name: no problem above
        group = str(data["apiVersion"]).rpartition("/")[0]
        key = (group, data["kind"], str(named.get("namespace") or ""), str(named["name"]))
        first = ids.setdefault(key, doc)
        if first is not doc:
            problems.append(
                Finding(
                    RULE,
                    "error",
                    doc.file,
                    *yamlio.position(doc.node, ()),
                    f"{key[1]} {key[3]!r} is already defined in {first.file}: "
                    "kustomize and Flux refuse a duplicate object id",
                )
            )
    return problems


def several_kustomizations(kfiles: list[str]) -> list[Finding]:
    """kustomize refuses a directory with more than one kustomization file ("Found multiple
    kustomization files", api/konfig/general.go names them), and so does Flux."""
    problems: list[Finding] = []
    by_dir: dict[str, list[str]] = {}
    for rel in kfiles:
        by_dir.setdefault(posixpath.dirname(rel) or ".", []).append(rel)
    for names in by_dir.values():
        if len(names) > 1:
            for rel in sorted(names)[1:]:
                problems.append(
                    Finding(
                        RULE,
                        "error",
                        rel,
                        1,
                        1,
                        "a second kustomization file "
                        f"beside {posixpath.basename(sorted(names)[0])!r}: "
                        "kustomize and Flux refuse to build this directory",
                    )
                )
    return problems
