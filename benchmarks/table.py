"""The benchmark's table: one row per measure, its ratio to a baseline, and the targets.

A row that has a target ("must" and "aim": the most its ratio may be) says whether the target
holds; the others are for information.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    accounts: str
    measure: str
    runs: int
    seconds: float
    baseline: str = ""
    base_seconds: float | None = None
    must: float | None = None
    aim: float | None = None
    note: str = ""
    holds: bool | None = None  # a target that is no ratio (one overlay built, not all)

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.base_seconds if self.base_seconds else None

    @property
    def targeted(self) -> bool:
        return self.must is not None or self.holds is not None

    @property
    def verdict(self) -> str:
        if self.holds is not None:
            return "must" if self.holds else "MISS"
        if self.must is None or self.ratio is None:
            return ""
        if self.aim is not None and self.ratio <= self.aim:
            return "aim"
        return "must" if self.ratio <= self.must else "MISS"


def print_table(rows: list[Row]) -> None:
    header = (
        "accounts",
        "measure",
        "runs",
        "median s",
        "vs",
        "base s",
        "ratio",
        "must",
        "aim",
        "holds",
        "note",
    )
    lines = [header]
    for r in rows:
        lines.append(
            (
                r.accounts,
                r.measure,
                str(r.runs),
                f"{r.seconds:.3f}",
                r.baseline,
                "" if r.base_seconds is None else f"{r.base_seconds:.3f}",
                "" if r.ratio is None else f"{r.ratio:.2f}",
                "" if r.must is None else f"<= {r.must:g}",
                "" if r.aim is None else f"<= {r.aim:g}",
                r.verdict,
                r.note,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    for line in lines:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False))
            + "  "
            + line[-1]
        )


def scaling_rows(checks: dict[int, float]) -> list[Row]:
    rows = []
    sizes = sorted(checks)
    for small, large in zip(sizes, sizes[1:], strict=False):
        rows.append(
            Row(
                f"{large}/{small}",
                "check time ratio",
                0,
                checks[large],
                f"check at {small}",
                checks[small],
                note=f"{large / small:.1f}x accounts",
            )
        )
    if 30 in checks and 300 in checks:
        rows.append(
            Row(
                "300/30",
                "check at 300 / check at 30",
                0,
                checks[300],
                "check at 30",
                checks[30],
                8.0,
                5.0,
            )
        )
    return rows
