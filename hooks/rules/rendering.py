"""Rendering and Flux delivery (CAPA-R001 … R003, R005, R007 … R010): will Flux apply it?

This module owns the question "does what Flux applies match accounts.yaml + base/, and can
Flux apply it at all?": generated files in sync, overlays that plain kustomize builds, Flux
Kustomizations whose paths exist, `force: true` where CAPA forbids updates, and objects no
larger than the API server and etcd accept.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

from capa_accounts.core import fluxsource, layout
from capa_accounts.core.errors import CapaAccountsError
from capa_accounts.core.finding import Finding
from capa_accounts.core.model import ROLE_IDENTITY, AccountSet
from capa_accounts.core.resources import CONTROLLER_IDENTITY, DEFAULT_IDENTITY, FLUX_KUSTOMIZE_GROUP
from capa_accounts.hooks.check.context import Context, Obj
from capa_accounts.hooks.rules import Reporter, rule
from capa_accounts.kustomize_plugin import generated, render

RENDER_HINT = "run `capa-accounts render`"


def _first_difference(old: str, new: str) -> tuple[int, str]:
    """1-based line of the first difference, and what render writes there."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=False), 1):
        if a != b:
            return number, b
    number = min(len(old_lines), len(new_lines)) + 1
    expected = new_lines[number - 1] if number <= len(new_lines) else ""
    return min(number, max(len(old_lines), 1)), expected


def _changes(ctx: Context, plan: render.Plan) -> list[generated.Change]:
    """``generated.changes`` (render's verdicts) over the texts the loader read: no generated
    file is read twice, and a generated file the plan lacks is deleted among the files check
    reads (``spec.check.exclude`` applies)."""
    walked = set(ctx.loaded.files)
    root = ctx.root.resolve()
    return generated.changes(
        ctx.root,
        plan,
        read=lambda rel: _old_text(ctx, rel, root, rel in walked),
        present=ctx.loaded.files,
    )


def _plan(ctx: Context, account_set: AccountSet) -> render.Plan:
    """Render's plan: the one the loader used (engine.check plans before loading), else new."""
    loaded = ctx.loaded
    if loaded.plan_error is not None:
        raise loaded.plan_error
    if loaded.plan is not None:
        return loaded.plan
    return ctx.memo("render-plan", lambda: render.plan(ctx.root, account_set))


def _old_text(ctx: Context, rel: str, root: Path, walked: bool) -> str | None:
    text = ctx.loaded.texts.get(rel)
    if text is not None:  # read by the loader, which confined it to the repository
        return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
    # walk_files never enters a symlinked directory: a file it found is in a directory inside
    # the repository without resolving every component of its path.
    return generated.current_text(ctx.root / rel, rel, root, walked)


@rule("CAPA-R001", name="GeneratedFilesOutOfSync")
def check_in_sync(ctx: Context, report: Reporter) -> None:
    """Generated files are out of sync with accounts.yaml + base/ (fix: `capa-accounts render`).

    Why: Flux applies the committed overlays, not accounts.yaml: a change to accounts.yaml or
    base/ that was not rendered does nothing, and a hand edit of a generated file is silently
    undone by the next render. A generated file of a removed account is stale (render deletes
    it). Render never overwrites a file without the generated header; such a file is reported
    here too. A file whose header names another capa-accounts version (hooks pinned to one
    release, the CLI at another) is reported with both versions.

    Bad:
        # overlays/live/cluster-live.yaml, edited by hand
        region: us-east-1      # accounts.yaml says eu-west-1

    Good:
        # accounts.yaml: region: us-east-1, then `capa-accounts render`

    Fix: edit accounts.yaml or base/, run `capa-accounts render` and commit the result.
    """
    if ctx.account_set is None:
        return
    try:
        todo = _changes(ctx, _plan(ctx, ctx.account_set))
    except CapaAccountsError as err:
        if ctx.account_set.credentials != ROLE_IDENTITY:
            return  # render does not write this mode yet: nothing to compare with
        report.raw(
            Finding(
                report.rule,
                report.severity,
                err.path or "accounts.yaml",
                err.line or 1,
                err.column or 1,
                f"render cannot proceed: {err.message}",
            )
        )
        return
    skewed = generated.skew_messages(todo)
    for change in todo:
        line, message = 1, f"out of date: {RENDER_HINT} (render would create it)"
        if change.action == "delete":
            message = f"stale generated file of a removed account: {RENDER_HINT}"
        elif change.path in skewed:  # the header's version, not an edit: say so
            message = f"out of date: {skewed[change.path]}"
        elif change.action == "update":
            line, expected = _first_difference(change.old, change.new)
            shown = expected.strip()
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            message = (
                f"out of date: {RENDER_HINT} (render writes {shown!r} here)"
                if shown
                else f"out of date: {RENDER_HINT}"
            )
        report.raw(Finding(report.rule, report.severity, change.path, line, 1, message))


@rule("CAPA-R002", name="ExecFunctionInOverlay")
def check_plain_kustomize(ctx: Context, report: Reporter) -> None:
    """An overlay uses an exec/container KRM function: Flux's kustomize-controller runs none.

    Why: Flux's kustomize-controller builds every path with kustomize's builtins only
    (fluxcd/pkg kustomize/kustomize_generator.go): it refuses exec and container KRM functions
    (Flux FAQ), so an overlay that needs `capa-accounts-fn` at build time fails the whole
    Kustomization. The repository loader reports this rule while reading the overlays.

    Bad:
        # overlays/staging/kustomization.yaml
        transformers:
          - account.yaml         # config.kubernetes.io/function: {exec: {path: capa-accounts-fn}}

    Good:
        resources:               # the function's output, rendered and committed
          - identity.yaml
          - cluster-staging.yaml

    Fix: run `capa-accounts render` and let Flux apply the rendered files.
    """
    # Reported by hooks/check/repository.py while loading: a build that fails never reaches rules.


@rule("CAPA-R007", name="KustomizeCannotBuild")
def check_kustomize_builds(ctx: Context, report: Reporter) -> None:
    """Plain kustomize, and so Flux, cannot build a kustomization directory.

    Why: Flux's kustomize-controller runs kustomize's own build (fluxcd/pkg
    kustomize/kustomize_generator.go); where kustomize fails, nothing of that Kustomization is
    applied. kustomize refuses a listed file that does not exist, two kustomization files in one
    directory (api/konfig/general.go), a document that is no Kubernetes object (no `kind` or no
    `metadata.name`, api/resource/factory.go) and two objects with one id (api/resmap/
    reswrangler.go). A stream (`check -`) is judged as one build's output: what no build can hold
    is reported here too. clusterawsadm configurations (`AWSIAMConfiguration`) are read by
    `clusterawsadm --config`, not built by kustomize, and need no `metadata`. The repository
    loader reports this rule while reading the overlays.

    Bad:
        # overlays/staging/kustomization.yaml
        resources:
          - identity.yaml
          - identity.yaml.orig   # does not exist

    Good:
        resources:
          - identity.yaml

    Fix: run `kubectl kustomize <dir>` and correct what it reports; `capa-accounts render`
    rewrites the generated overlays.
    """
    # Reported by hooks/check/repository.py and hooks/check/refusals.py while loading.


@rule("CAPA-R008", name="PathLeavesRepository")
def check_inside_source(ctx: Context, report: Reporter) -> None:
    """A path leaves the repository: a symlink, or a kustomization entry outside it or remote.

    Why: Flux builds a Kustomization from its source artifact only (the repository it fetched,
    `--load-restrictor=LoadRestrictionsNone` inside it): a symlink or a `resources:` entry that
    leads outside is not there when Flux builds, so the build fails or differs from what was
    reviewed. `check` never reads or builds what it cannot prove confined (nor a URL, which
    would fetch from the network), so what such a directory holds is not judged either.

    Bad:
        resources:
          - ../../../other-repo/identity.yaml

    Good:
        resources:
          - identity.yaml

    Fix: keep every file Flux applies inside the repository; copy, do not link.
    """
    # Reported by hooks/check/repository.py while loading.


def _source_path(obj: Obj) -> str | None:
    """A Flux Kustomization's spec.path, normalized relative to the source root."""
    path = obj.get("spec", "path")
    if not isinstance(path, str):
        return None
    return fluxsource.normalized(path)


def flux_kustomizations(ctx: Context) -> list[tuple[Obj, str]]:
    """Flux Kustomizations with their path as a directory of the repository (the source root
    is above it in a monorepo folder: core/fluxsource.py); paths outside it are left out."""
    out = []
    for obj in ctx.applied("Kustomization", FLUX_KUSTOMIZE_GROUP):
        path = _source_path(obj)
        rel = None if path is None else fluxsource.repo_relative(ctx.loaded.source_prefix, path)
        if rel is not None:
            out.append((obj, rel))
    return out


def _exists(top: Path, rel: str, walked: set[str]) -> bool:
    """Whether ``rel`` (relative to the source root ``top``) is a directory Flux can build."""
    if rel in walked:
        return True  # holds a file the loader found without following a symlink
    path = top / rel
    try:
        path.resolve().relative_to(top.resolve())
    except ValueError:
        return False  # a symlink that leaves the source root leaves Flux's source too
    return path.is_dir()


@rule("CAPA-R003", name="FluxPathMissing")
def check_flux_paths(ctx: Context, report: Reporter) -> None:
    """A Flux Kustomization's path does not exist, or an account has no Flux Kustomization.

    Why: kustomize-controller fails a Kustomization whose path is not a directory of its source
    ("no such file or directory"), so nothing of it is applied; and an overlay no
    Kustomization points at is never applied at all: the account's identity and clusters exist
    only in git. Flux resolves `spec.path` from the root of the source (the top of the git
    repository, not the folder of accounts.yaml in a monorepo), and so does this rule. Only
    Kustomizations whose source is this repository (`spec.flux.sourceRef` of accounts.yaml,
    default GitRepository `flux-system`, as `flux bootstrap` names it) are checked.

    Bad:
        spec:
          path: ./overlays/stagign

    Good:
        spec:
          path: ./overlays/staging

    Fix: correct the path, or run `capa-accounts render`, which writes one Kustomization per
    account in the directory of `spec.flux.path` (default clusters/management/).
    """
    prefix = ctx.loaded.source_prefix
    settings = ctx.account_set.flux if ctx.account_set else fluxsource.FluxSettings()
    top = ctx.loaded.source_root
    walked = {posixpath.join(prefix, posixpath.dirname(f)).rstrip("/") for f in ctx.loaded.files}
    paths: set[str] = set()
    for obj in ctx.applied("Kustomization", FLUX_KUSTOMIZE_GROUP):
        path = _source_path(obj)
        if path is None:
            continue
        paths.add(path)
        if not settings.is_source(obj.get("spec", "sourceRef"), obj.namespace):
            continue
        if not _exists(top, path, walked):
            where = "the source root" if prefix else "this repository"
            report.at(
                obj,
                ("spec", "path"),
                f"path {obj.get('spec', 'path')!r} is not a directory of {where} "
                f"(Flux resolves it from the top of its source): Flux fails this Kustomization",
            )
    if ctx.account_set is None:
        return
    for account in ctx.account_set.accounts:
        wanted = fluxsource.flux_path(prefix, layout.overlay(account.name))
        if fluxsource.normalized(wanted) not in paths:
            report.config(
                ("spec", "accounts", account.index, "name"),
                f"account {account.name!r} has no Flux Kustomization with path "
                f"{wanted}: Flux never applies its identity and clusters ({RENDER_HINT})",
            )


def _applies(flux_path: str, obj: Obj) -> bool:
    """Whether a Flux path builds ``obj``: its overlay, or a directory above a loose file."""
    where = obj.source.overlay or posixpath.dirname(obj.file) or "."
    if obj.source.overlay:
        return flux_path == where
    return flux_path == "." or where == flux_path or where.startswith(flux_path + "/")


@rule("CAPA-R005", name="DefaultIdentityWithoutForce")
def check_force_for_default(ctx: Context, report: Reporter) -> None:
    """The Flux Kustomization that applies `default` lacks `force: true`.

    Why: CAPA's webhook rejects every change to the spec of the AWSClusterControllerIdentity
    `default` (webhooks/awsclustercontrolleridentity_webhook.go:96-98), and its
    allowedNamespaces lists every account namespace: adding or removing an account changes it,
    the server-side apply fails, and the Kustomization stops, blocking every account behind
    its dependsOn. With `force: true` Flux deletes and recreates the object instead.

    Bad:
        spec:
          path: ./overlays/management
          prune: true

    Good:
        spec:
          path: ./overlays/management
          prune: true
          force: true

    Fix: add `force: true` to that Kustomization's spec (render writes it).
    """
    defaults = [o for o in ctx.identities(CONTROLLER_IDENTITY) if o.name == DEFAULT_IDENTITY]
    if not defaults:
        return
    for obj, path in flux_kustomizations(ctx):
        target = next((d for d in defaults if _applies(path, d)), None)
        if target is None or obj.get("spec", "force") is True:
            continue
        where = ("spec", "force") if obj.has("spec", "force") else ("spec",)
        report.at(
            obj,
            where,
            f"this Kustomization applies AWSClusterControllerIdentity "
            f"`default` ({target.file}), whose spec CAPA makes immutable: without "
            "`force: true` adding an account blocks every sync",
            at_key=len(where) == 1,
            related=(target.location(("metadata", "name")),),
        )


# etcd refuses a request over --max-request-bytes, 1.5 MiB by default (etcd-io/etcd
# server/embed/config.go DefaultMaxRequestBytes; etcd docs dev-guide/limit.md "Request size
# limit"): the API server cannot store a bigger object. ConfigMap and Secret data together are
# validated against 1 MiB (kubernetes/kubernetes pkg/apis/core/types.go MaxSecretSize, checked
# in pkg/apis/core/validation/validation.go ValidateConfigMap and ValidateSecret).
MAX_OBJECT_BYTES = 3 * 512 * 1024
MAX_DATA_BYTES = 1024 * 1024
# The data fields of each kind, and whether their values are base64 (counted decoded).
_DATA_KINDS = {
    "ConfigMap": {"data": False, "binaryData": True},
    "Secret": {"data": True, "stringData": False},
}


def _bytes(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str).encode())


@rule("CAPA-R009", name="ObjectTooLarge")
def check_object_size(ctx: Context, report: Reporter) -> None:
    """An object is larger than the API server and etcd accept.

    Why: etcd refuses any request over `--max-request-bytes` (1.5 MiB by default; etcd
    server/embed/config.go, docs dev-guide/limit.md), so the API server cannot store a bigger
    object, and it validates a ConfigMap's or Secret's data against 1 MiB in total
    (kubernetes pkg/apis/core/validation/validation.go, `MaxSecretSize`). Flux's server-side
    apply of the Kustomization fails as a whole. A file pulled into a `configMapGenerator` is
    the usual way to get there. Sizes are counted as compact JSON, as the request carries it.

    Bad:
        configMapGenerator:
          - name: dashboards
            files: [dashboards.json]     # 3 MiB

    Good:
        configMapGenerator:
          - name: dashboards
            files: [small-dashboard.json]

    Fix: keep large payloads out of the cluster's API objects (an image, a bucket, several
    smaller ConfigMaps).
    """
    for obj in ctx.objects:
        text = getattr(obj.doc, "text", "")
        if text and len(text) * 2 < MAX_DATA_BYTES:
            continue  # JSON is at most twice its YAML here: nothing in this file is that big
        size = _bytes(obj.doc.data)
        if size > MAX_OBJECT_BYTES:
            report.at(
                obj,
                (),
                f"{obj.kind} {obj.name!r} is {size / 1048576:.1f} MiB as JSON, over the 1.5 MiB "
                "etcd accepts by default (--max-request-bytes): the API server refuses it",
            )
            continue
        core = "/" not in str(obj.doc.data.get("apiVersion"))  # v1: the core group
        fields = _DATA_KINDS.get(obj.kind, {}) if core else {}
        data = sum(
            len(str(k)) + (len(str(v)) * 3 // 4 if base64 else len(str(v)))
            for f, base64 in fields.items()
            if isinstance(obj.doc.data.get(f), dict)
            for k, v in obj.doc.data[f].items()
        )
        if data > MAX_DATA_BYTES:
            report.at(
                obj,
                (),
                f"{obj.kind} {obj.name!r} holds {data / 1048576:.1f} MiB of data, over the 1 MiB "
                "the API server accepts for a ConfigMap or Secret",
            )


@rule("CAPA-R010", name="FileNotListed")
def check_unlisted_files(ctx: Context, report: Reporter) -> None:
    """A YAML file sits beside a kustomization that does not list it: Flux never applies it.

    Why: kustomize builds only what `resources` names, so a manifest dropped into an overlay
    (a hand-made tweak of one account, a node group of its own) is silently ignored: render
    keeps it, reports the overlay up to date, and Flux applies the overlay without it. In
    base/, a template no kustomization lists is not rendered into any account either.

    Bad:
        overlays/live/bigger-nodes.yaml   # not in overlays/live/kustomization.yaml

    Good:
        # accounts.yaml, on the account live (or one of its clusters)
        patches:
          - target: {kind: AWSManagedMachinePool}
            patch: {spec: {instanceType: m6i.xlarge}}

    Fix: give the account its own settings with `patches` in accounts.yaml and run
    `capa-accounts render` (docs: configuration.md, "Per-account settings"); list a file
    meant for base/ in base/kustomization.yaml; delete a file that is not needed.
    """
    for rel in ctx.loaded.unlisted:
        directory = posixpath.dirname(rel) or "."
        report.raw(
            Finding(
                report.rule,
                report.severity,
                rel,
                1,
                1,
                f"no kustomization lists this file: Flux never applies it (not in "
                f"{directory}/kustomization.yaml); use `patches` in accounts.yaml for an "
                "account's own settings",
            )
        )
