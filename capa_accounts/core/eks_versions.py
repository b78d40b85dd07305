"""The Kubernetes minor versions Amazon EKS supports: the one table every command checks.

Source: the Amazon EKS release calendar, "Understand the Kubernetes version lifecycle on EKS"
(https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html), section "Amazon
EKS Kubernetes release calendar". A minor version has 14 months of standard support and 12 of
extended support; a version whose extended support had ended by ``TABLE_DATE`` is left out
(EKS no longer creates clusters with it). A newer EKS release is refused until this table
names it: update the rows and ``TABLE_DATE`` together.
"""

from __future__ import annotations

TABLE_DATE = "2026-04-24"

# minor version: (end of standard support, end of extended support)
EKS_VERSIONS: dict[str, tuple[str, str]] = {
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


def refusal(version: object) -> str:
    """Why ``version`` is refused, or an empty string when EKS supports it."""
    if isinstance(version, str) and version in EKS_VERSIONS:
        return ""
    return (
        f"{version!r} is not a Kubernetes version Amazon EKS supports: use one of "
        f"{', '.join(SUPPORTED)} (EKS release calendar of {TABLE_DATE})"
    )
