"""EKS support (CAPA-C009): a control plane's Kubernetes version as the EKS calendar sees it.

This module owns the question "will EKS still run this version, and at what price?", judged
against the release calendar in ``core/eks_versions.py`` on the day of the check.
"""

from __future__ import annotations

from capa_accounts.core import eks_versions
from capa_accounts.hooks.check.context import Context, Obj
from capa_accounts.hooks.rules import Reporter, rule
from capa_accounts.hooks.rules.changes import MINOR, base_of


def _minor(value: object) -> str | None:
    match = MINOR.match(value) if isinstance(value, str) else None
    return f"{int(match.group(1))}.{int(match.group(2))}" if match else None


def _ran_at_base(ctx: Context, cp: Obj, minor: str) -> bool:
    """Whether ``cp`` already ran ``minor`` at ``--base`` (an existing cluster, not a new one)."""
    if ctx.base_ref is None:
        return False
    found = base_of(ctx).by_id.get(cp.id)
    return found is not None and len(found) > 0 and _minor(found[0].get("spec", "version")) == minor


@rule("CAPA-C009", name="EksVersionPastStandardSupport")
def check_eks_support(ctx: Context, report: Reporter) -> None:
    """A control plane's Kubernetes version is past EKS extended support, or in it (w).

    Why: EKS creates no cluster with a version whose extended support has ended, so CAPA's
    CreateCluster call fails; a running one is upgraded by EKS on its own, without CAPA, the
    node groups or the add-ons. A version past standard support runs in extended support,
    billed extra per cluster hour. Dates: the Amazon EKS release calendar
    (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html), as of the date
    `capa-accounts --version` prints; `check` judges them on today's date (UTC). Past extended
    support is an error for a new cluster, and a warning for one that ran that version at
    `--base` (it exists: upgrade it one minor per change, CAPA-D003).

    Bad (on 2026-12-06):
        version: "1.31"   # extended support ended 2026-11-26

    Good:
        version: "1.35"   # standard support until 2027-03-27

    Fix: raise `kubernetesVersion` in accounts.yaml (one minor per change for a running
    cluster) and run `capa-accounts render`.
    """
    on = eks_versions.today()
    for cp in ctx.control_planes():
        minor = _minor(cp.get("spec", "version"))
        if minor is None:  # C006 reports a missing or malformed version
            continue
        state = eks_versions.support(minor, on)
        where = ("spec", "version")
        if state == "ended":
            ended = (
                f"on {eks_versions.ends(minor)[1]}" if minor in eks_versions.EKS_VERSIONS else ""
            )
            newest = eks_versions.newest_standard(on)
            if _ran_at_base(ctx, cp, minor):
                report.at(
                    cp,
                    where,
                    f"Kubernetes {minor} left EKS extended support {ended}".rstrip()
                    + f": EKS upgrades this running control plane on its own; raise it one "
                    f"minor per change towards {newest}",
                    severity="warning",
                )
                continue
            report.at(
                cp,
                where,
                f"Kubernetes {minor} left EKS extended support {ended}".rstrip()
                + f": EKS creates no cluster with it; use {newest} (in standard support)",
            )
        elif state == "extended":
            report.at(cp, where, eks_versions.extended_note(minor, on), severity="warning")
