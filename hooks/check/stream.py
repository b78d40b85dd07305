"""``check -``: judge a stream of YAML documents, such as a kustomize build, read from stdin.

As kubeconform reads ``kubectl kustomize overlays/staging | kubeconform -``: the documents are
what Flux would apply, so they are judged as one overlay's build output, without a repository
around them. Rules about a repository's files (render drift, plugin-free builds, Flux paths
into the tree) and the change-aware rules (``--base``) need that repository and do not run.
Findings are reported at file ``stdin``, line and column of the stream. A stream is one build
among the several a cluster gets: what it refers to but does not hold is assumed to be applied
elsewhere, a warning that says so, unless the user declares the stream complete (``--complete``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import BinaryIO

from capa_accounts.core import yamlio
from capa_accounts.core.finding import Finding
from capa_accounts.core.resources import is_iam_config
from capa_accounts.hooks.check import engine, refusals
from capa_accounts.hooks.check.context import Context
from capa_accounts.hooks.check.repository import Loaded, Source
from capa_accounts.hooks.rules import all_rules, run_rules

NAME = "stdin"
OVERLAY = "stdin"  # the documents are one build's output, as a kustomization's are
# About the files of a repository, not about objects: nothing to judge in a stream.
REPOSITORY_RULES = frozenset({"CAPA-R001", "CAPA-R002", "CAPA-R003", "CAPA-R008"})


def read(stream: BinaryIO) -> str:
    """The stream's text, refused over yamlio's limit without reading it all into memory."""
    return yamlio.decode(stream.read(yamlio.MAX_FILE_BYTES + 1), NAME)


def check_text(
    text: str,
    *,
    crds: tuple[Path, ...] = (),
    schemas: bool = True,
    complete: bool = False,
    management_account: str | None = None,
) -> engine.Report:
    """Every rule that judges objects, over the documents of ``text``.

    Unless ``complete``, the stream is taken for one build among others: what it references
    but does not hold (the controller identity `default`, an identity another build applies)
    is a warning naming that assumption, not an error.
    """
    docs = yamlio.documents_from_text(text, NAME)
    with tempfile.TemporaryDirectory(prefix="capa-accounts-stdin-") as empty:
        loaded = Loaded(Path(empty), None)
        loaded.documents = [(doc, Source(OVERLAY)) for doc in docs]
        loaded.files = loaded.yaml_files = [NAME]
        loaded.texts[NAME] = text
        ctx = Context(loaded, engine._schema(crds) if schemas else None)
        ctx.crds = crds
        ctx.stream, ctx.complete = True, complete
        ctx.management_account = management_account
        rules = [
            r for r in all_rules().values() if not r.change_aware and r.id not in REPOSITORY_RULES
        ]
        # Fail closed: what is no object kustomize would build (a bare scalar, no kind or
        # name, a duplicate id) is CAPA-R007 here too, not silently skipped. A clusterawsadm
        # configuration is read by `clusterawsadm --config` (apiVersion, kind, spec), never
        # built by kustomize or applied by Flux: it needs no metadata.
        findings = refusals.refused_by_kustomize([d for d in docs if not is_iam_config(d.data)])
        kept, suppressed = engine._suppress(ctx, findings + run_rules(ctx, rules))
    unique = sorted(set(kept), key=Finding.sort_key)
    return engine.Report(unique, suppressed, 1, loaded.warnings)
