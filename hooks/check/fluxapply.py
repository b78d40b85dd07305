"""What Flux applies in a repository laid out by others, judged as Flux builds it.

In a repository without accounts.yaml that holds Flux Kustomizations of its own source, the
objects judged are those a Kustomization's path reaches: its kustomization's build, or, where
the directory has none, every manifest below it (kustomize-controller generates a
kustomization listing them: fluxcd/pkg kustomize/kustomize_generator.go
generateKustomization, commit 0180cac2), with that Kustomization's
``spec.postBuild.substitute`` values substituted (fluxcd/pkg kustomize/kustomize_varsub.go
SubstituteVariables, same commit: ``${var}``, ``${var:=default}``, skipped for an object
labelled or annotated ``kustomize.toolkit.fluxcd.io/substitute: disabled``). A variable
without a value (``substituteFrom`` is read from the cluster) stays ``${var}``: the object is
a template, never an identity to compare (CAPA-X002). In a repository that holds its
bootstrap (``clusters/<name>/flux-system/``), a base or a template folder no path reaches is
not applied: only the credential scan reads it. The files that declare the
Kustomizations are kept (the bootstrap applies them), and so are clusterawsadm's
AWSIAMConfiguration files, which Flux never applies but the trust rules read.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import Any

from capa_accounts.core import fluxsource, yamlio
from capa_accounts.core.errors import CapaAccountsError
from capa_accounts.core.finding import Finding
from capa_accounts.core.kustomization import KUSTOMIZATION_FILES
from capa_accounts.core.record import Record
from capa_accounts.core.resources import FLUX_KUSTOMIZE_GROUP, FLUX_SUBSTITUTE_ANNOTATION

# The loader's Loaded and Source (hooks/check/loaded.py; the loader calls this module): typed
# loosely here, so that the two modules do not import each other.
Loaded = Any
Source = Any

FLUX_GROUP = f"{FLUX_KUSTOMIZE_GROUP}/"
SUBSTITUTE_KEY = FLUX_SUBSTITUTE_ANNOTATION
# drone/envsubst forms Flux's substitution evaluates: ${var}, ${var:=default}, ${var:-default},
# ${var=default}, ${var-default}; names as kustomize_varsub.go varsubRegex allows them.
_VARIABLE = re.compile(r"\$\{([_a-zA-Z][_a-zA-Z0-9]*)(?::?[=-]([^}]*))?\}")
TEMPLATE_MARK = "${"
KEPT_KINDS = ("AWSIAMConfiguration",)


class FluxPath(Record):
    """A directory a Flux Kustomization applies, and how Flux builds it."""

    FIELDS = ("name", "path", "generated", "variables")
    name: str
    path: str  # a directory of the repository
    generated: bool  # no kustomization file there: Flux lists every manifest below it
    variables: dict[str, str] | None  # postBuild.substitute; None without postBuild

    def __init__(
        self, name: str, path: str, generated: bool, variables: dict[str, str] | None
    ) -> None:
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "path", path)
        set_(self, "generated", generated)
        set_(self, "variables", variables)


def is_template(value: str) -> bool:
    return TEMPLATE_MARK in value


Exists = Callable[[str], bool]


def _on_disk(loaded: Loaded) -> tuple[Exists, Exists]:
    def is_dir(rel: str) -> bool:
        return bool((loaded.root / rel).is_dir())

    def has_kustomization(rel: str) -> bool:
        return any((loaded.root / rel / k).is_file() for k in KUSTOMIZATION_FILES)

    return is_dir, has_kustomization


def flux_paths(loaded: Loaded, tree: tuple[Exists, Exists] | None = None) -> list[FluxPath]:
    """The repository's own-source Flux Kustomizations and what their paths are; ``tree``:
    (is a directory, holds a kustomization) of the tree read (the work tree by default)."""
    is_dir, has_kustomization = tree or _on_disk(loaded)
    settings = fluxsource.FluxSettings()
    out = []
    for doc, _source in loaded.documents:
        data = doc.data
        if not _is_flux_kustomization(data):
            continue
        spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        if not settings.is_source(spec.get("sourceRef"), meta.get("namespace")):
            continue
        path = spec.get("path", "") if isinstance(spec.get("path", ""), str) else None
        if path is None:
            continue
        rel = fluxsource.repo_relative(loaded.source_prefix, fluxsource.normalized(path))
        if rel is None or not is_dir(rel):
            continue
        post = spec.get("postBuild")
        variables = None
        if isinstance(post, dict):
            given = post.get("substitute")
            variables = (
                {str(k): str(v) for k, v in given.items()} if isinstance(given, dict) else {}
            )
        generated = not has_kustomization(rel)
        out.append(FluxPath(str(meta.get("name", "")), rel, generated, variables))
    return out


def _is_flux_kustomization(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and data.get("kind") == "Kustomization"
        and str(data.get("apiVersion", "")).startswith(FLUX_GROUP)
    )


class _Loose(Record):
    """Where a file Flux applies without a kustomization comes from (an overlay or none)."""

    FIELDS = ("overlay",)
    overlay: str | None

    def __init__(self, overlay: str | None = None) -> None:
        set_ = object.__setattr__
        set_(self, "overlay", overlay)


_LOOSE = _Loose()


def _reaches(flux: FluxPath, source: Source, file: str) -> bool:
    where = source.overlay or posixpath.dirname(file) or "."
    if where == flux.path:
        return True
    below = flux.path == "." or where.startswith(flux.path + "/")
    return flux.generated and below


def charts(files: list[str]) -> set[str]:
    """Directories of Helm charts (they hold ``Chart.yaml``). Their ``templates/`` hold Go
    templates Helm renders with values into manifests (helm/helm-www
    content/en/docs/topics/charts.md, "The Chart File Structure", commit 2b3d8190): not YAML
    to judge as objects, often not YAML at all (``{{- include ... }}``)."""
    return {posixpath.dirname(f) or "." for f in files if posixpath.basename(f) == "Chart.yaml"}


def chart_template(rel: str, chart_dirs: set[str]) -> bool:
    parts = rel.split("/")
    for i, part in enumerate(parts[:-1]):
        if part == "templates" and ("/".join(parts[:i]) or ".") in chart_dirs:
            return True
    return False


def follow(
    loaded: Loaded,
    unreadable: list[Any] | None = None,
    tree: tuple[Exists, Exists] | None = None,
) -> None:
    """Replace ``loaded.documents`` by what the repository's Flux Kustomizations apply.

    ``unreadable``: loose files that are not YAML (InputErrors) of a repository without
    accounts.yaml. One a Flux path reaches fails Flux's build (CAPA-R007); one none reaches is
    not applied, and named in a warning; with no Flux Kustomization at all each one is bad
    input, as in any repository (named, exit 2).
    """
    if loaded.account_set is not None:
        return  # the tool's own layout: every overlay has its Kustomization (CAPA-R003)
    paths = flux_paths(loaded, tree)
    for err in unreadable or []:
        reaching = [p for p in paths if _reaches(p, _LOOSE, err.path or "")]
        if not paths or (
            not reaching and not any(p.name == fluxsource.DEFAULT_SOURCE_NAME for p in paths)
        ):
            # bad input, as in any repository; with no bootstrap here it may be applied from
            # elsewhere (see below). Named, and the rest still judged.
            loaded.input_errors.append(err)
            loaded.unread.add(err.path or ".")
        elif reaching:
            loaded.problems.append(
                Finding(
                    "CAPA-R007",
                    "error",
                    err.path or ".",
                    err.line or 1,
                    err.column or 1,
                    f"{err.message}: Flux's build of {reaching[0].path} fails on it",
                )
            )
        else:
            loaded.warnings.append(f"{err}: not read, no Flux Kustomization applies it")
    if not paths:
        return
    # Only a repository that holds its bootstrap (the Kustomization `flux bootstrap` names
    # flux-system) shows every root of what Flux applies from it; in another, a directory no
    # Kustomization here reaches may well be applied from elsewhere, and stays judged.
    rooted = any(p.name == fluxsource.DEFAULT_SOURCE_NAME for p in paths)
    declaring = {d.file for d, _s in loaded.documents if _is_flux_kustomization(d.data)}
    out: list[tuple[yamlio.Document, Source]] = []
    for doc, source in loaded.documents:
        reached = [p for p in paths if _reaches(p, source, doc.file)]
        if not reached:
            kind = doc.data.get("kind") if isinstance(doc.data, dict) else None
            if not rooted or doc.file in declaring or kind in KEPT_KINDS:
                out.append((doc, source))
            continue
        if all(p.variables is None for p in reached) or _disabled(doc.data):
            out.append((doc, source))
            continue
        for flux in reached:
            data = doc.data if flux.variables is None else substitute(doc.data, flux.variables)
            copy = yamlio.Document(doc.file, doc.index, doc.node, data, doc.text)
            out.append((copy, source.replace(flux=flux.name)))
    loaded.documents = out


def _disabled(data: Any) -> bool:
    meta = data.get("metadata") if isinstance(data, dict) else None
    if not isinstance(meta, dict):
        return False
    return any(
        isinstance(meta.get(k), dict) and meta[k].get(SUBSTITUTE_KEY) == "disabled"
        for k in ("labels", "annotations")
    )


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """``value`` with every ``${var}`` that has a value (or a default) replaced."""
    if isinstance(value, str):
        if TEMPLATE_MARK not in value:
            return value

        def one(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in variables:
                return variables[name]
            return default if default is not None else match.group(0)

        return _VARIABLE.sub(one, value)
    if isinstance(value, dict):
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    return value


def included_directories(root: Any, kdir: str) -> list[str]:
    """Directories with a kustomization that the kustomization in ``kdir`` lists as
    ``resources`` or ``components``: judged as part of its build, not on their own (a base
    only overlays include is not applied twice). For builds made by a real kustomize, whose
    reads the in-process evaluator does not see."""
    out: list[str] = []
    for name in KUSTOMIZATION_FILES:
        rel = name if kdir == "." else f"{kdir}/{name}"
        if not (root / rel).is_file():
            continue
        try:
            docs = yamlio.load_documents(root / rel, rel)
        except CapaAccountsError:
            return out
        data = docs[0].data if docs and isinstance(docs[0].data, dict) else {}
        for key in ("resources", "components", "bases"):
            entries = data.get(key)
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, str) or "://" in entry or entry.startswith("/"):
                    continue
                target = posixpath.normpath(posixpath.join(kdir, entry))
                if target.startswith("..") or not (root / target).is_dir():
                    continue
                if any((root / target / k).is_file() for k in KUSTOMIZATION_FILES):
                    out.append(target)
        break
    return out
