"""The Kubernetes minor versions Amazon EKS runs, and where each stands: the one table every
command checks.

Source: the Amazon EKS release calendar, "Understand the Kubernetes version lifecycle on EKS"
(https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, section "Amazon EKS
Kubernetes release calendar"; its source is awsdocs/amazon-eks-user-guide,
latest/ug/versioning/kubernetes-versions.adoc). A minor version has 14 months of standard
support from its EKS release, then 12 months of extended support at an extra cost per cluster
hour; after that EKS creates no cluster with it and upgrades running control planes on its own.
The 1.36 row follows that rule from its EKS release on 2026-06-02.

A version whose extended support has ended stays in the table for a year, so an accounts.yaml
that still names it loads, and ``check`` reports it (CAPA-C009) instead of refusing to run. A
newer EKS release is refused until this table names it: update the rows and ``TABLE_DATE``
together; ``capa-accounts --version`` prints the date, and ``check`` warns once it is more
than ``STALE_AFTER_DAYS`` old.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from capa_accounts.core.errors import ConfigError

TABLE_DATE = "2026-12-06"
STALE_AFTER_DAYS = 183  # six months
# The date support is judged at (YYYY-MM-DD); unset: today in UTC, the calendar's time zone.
TODAY_VARIABLE = "CAPA_ACCOUNTS_TODAY"

# minor version: (end of standard support, end of extended support), both UTC dates
EKS_VERSIONS: dict[str, tuple[str, str]] = {
    "1.36": ("2027-08-02", "2028-08-02"),
    "1.35": ("2027-03-27", "2028-03-27"),
    "1.34": ("2026-12-02", "2027-12-02"),
    "1.33": ("2026-07-29", "2027-07-29"),
    "1.32": ("2026-03-23", "2027-03-23"),
    "1.31": ("2025-11-26", "2026-11-26"),
    "1.30": ("2025-07-23", "2026-07-23"),
}

SUPPORTED: tuple[str, ...] = tuple(
    sorted(EKS_VERSIONS, key=lambda v: tuple(map(int, v.split("."))))
)

Support = Literal["standard", "extended", "ended", "unknown"]


def today() -> date:
    """The date support is judged at: ``$CAPA_ACCOUNTS_TODAY`` if set, else today in UTC."""
    value = os.environ.get(TODAY_VARIABLE, "").strip()
    if not value:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise ConfigError(f"{TODAY_VARIABLE}={value!r}: not a date (YYYY-MM-DD)") from err


def support(minor: str, on: date) -> Support:
    """Where ``minor`` ("1.35") stands on ``on``. Older than the table: ended; newer: unknown.

    Billing for extended support starts on the day standard support ends, and EKS stops
    creating clusters on the day extended support ends (both UTC).
    """
    if minor in EKS_VERSIONS:
        standard, extended = (date.fromisoformat(d) for d in EKS_VERSIONS[minor])
        if on < standard:
            return "standard"
        return "extended" if on < extended else "ended"
    try:
        wanted = tuple(int(part) for part in minor.split("."))
    except ValueError:
        return "unknown"
    oldest = tuple(int(part) for part in SUPPORTED[0].split("."))
    return "ended" if wanted < oldest else "unknown"


def ends(minor: str) -> tuple[str, str]:
    """(end of standard support, end of extended support) of a version the table names."""
    return EKS_VERSIONS[minor]


def newest_standard(on: date) -> str:
    """The newest version in standard support on ``on`` (the newest in the table if none is)."""
    standard = [v for v in SUPPORTED if support(v, on) == "standard"]
    return (standard or list(SUPPORTED))[-1]


def stale(on: date) -> str:
    """A warning when the table is more than six months old on ``on``; else an empty string."""
    age = on - date.fromisoformat(TABLE_DATE)
    if age <= timedelta(days=STALE_AFTER_DAYS):
        return ""
    return (
        f"the EKS release calendar capa-accounts knows is of {TABLE_DATE}, {age.days} days "
        "old: newer Kubernetes versions are refused and support dates may have moved; "
        "upgrade capa-accounts"
    )


def refusal(version: object) -> str:
    """Why ``version`` is refused, or an empty string when the table names it."""
    if isinstance(version, str) and version in EKS_VERSIONS:
        return ""
    return (
        f"{version!r} is not a Kubernetes version Amazon EKS supports: use one of "
        f"{', '.join(SUPPORTED)} (EKS release calendar of {TABLE_DATE})"
    )


def new_cluster_refusal(version: str, on: date) -> str:
    """Why a new cluster cannot use ``version`` on ``on`` (its extended support has ended)."""
    if support(version, on) != "ended":
        return ""
    return (
        f"Kubernetes {version} left EKS extended support on {ends(version)[1]}: EKS creates no "
        f"cluster with it; use {newest_standard(on)} (in standard support)"
    )


def extended_note(version: str, on: date) -> str:
    """A note when ``version`` is in extended support on ``on`` (it costs more per hour)."""
    if support(version, on) != "extended":
        return ""
    standard, extended = ends(version)
    return (
        f"Kubernetes {version} left EKS standard support on {standard}; extended support "
        f"costs more per cluster hour and ends on {extended}"
    )
