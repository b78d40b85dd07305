"""Speed of ``add-account`` at fleet scale, against ``render`` doing the same job in the same run.

For each size, a repository is generated and rendered with the tool (``bench.make_repo``).
Each round, interleaved so that a load spike on the machine hits both:

- ``add-account one-more ...`` (whole process): edits accounts.yaml (the round trip of its
  last entry only) and writes what the new account changes;
- the baseline, ``render`` after the same entry was appended to accounts.yaml by hand: plans
  every account of the fleet and writes the same changed files.

Between two measures the repository is put back (accounts.yaml restored, ``render``), not
counted. The median of the rounds is shown, with the ratio add-account / render.

Usage: ``python benchmarks/add_account.py [--sizes 300,1000,5000] [--runs 3] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402 - a sibling module of this script
from table import Row, print_table  # noqa: E402 - likewise

NEW = ("one-more", "499999999999", "eu-west-1")
# add-account must take well under render's own time for the same change.
MUST, AIM = 0.5, 0.25


def measure(accounts: int, runs: int, workdir: Path) -> Row:
    repo = workdir / f"repo-{accounts}"
    made = bench.make_repo(repo, accounts)
    capa = bench.tool("capa-accounts")
    path = repo / "accounts.yaml"
    before = path.read_text(encoding="utf-8")
    name, account_id, region = NEW

    def restore() -> None:
        path.write_text(before, encoding="utf-8")
        bench.run([capa, "render", "--repo", str(repo)])

    def add_account() -> float:
        seconds = bench.run(
            [
                capa,
                "add-account",
                name,
                "--account-id",
                account_id,
                "--region",
                region,
                "--repo",
                str(repo),
            ]
        )[0]
        restore()
        return seconds

    data = yaml.safe_load(before)
    data["spec"]["accounts"].append(
        {"name": name, "accountId": account_id, "region": region, "kubernetesVersion": "1.35"}
    )
    by_hand = yaml.safe_dump(data, sort_keys=False)

    def render() -> float:
        path.write_text(by_hand, encoding="utf-8")
        seconds = bench.run([capa, "render", "--repo", str(repo)])[0]
        restore()
        return seconds

    medians = bench.rounds(runs, {"render": render, "add": add_account})
    target = accounts >= 1000
    return Row(
        str(accounts),
        "add-account (whole process)",
        runs,
        medians["add"],
        "render",
        medians["render"],
        MUST if target else None,
        AIM if target else None,
        note=f"render: the same entry added by hand; repository made in {made:.1f} s",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--sizes",
        default="300,1000,5000",
        help="comma-separated account counts (default: 300,1000,5000)",
    )
    parser.add_argument("--runs", type=int, default=3, help="rounds per measure (median)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: --sizes 10 --runs 1")
    args = parser.parse_args(argv)
    sizes = [10] if args.quick else sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    runs = 1 if args.quick else max(1, args.runs)
    with tempfile.TemporaryDirectory(prefix="capa-bench-add-") as temporary:
        workdir = Path(temporary)
        bench.PYCACHE = workdir / "pycache"
        try:
            rows = [measure(size, runs, workdir) for size in sizes]
        except bench.BenchError as err:
            print(f"bench: {err}", file=sys.stderr)
            return 2
    print(
        f"capa-accounts add-account benchmark: {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}, medians of {runs} run(s); ratio = add-account / render"
    )
    print_table(rows)
    missed = [r for r in rows if r.verdict == "MISS"]
    print(
        f"targets: {sum(r.targeted for r in rows) - len(missed)} of "
        f"{sum(r.targeted for r in rows)} 'must' rows hold"
        + ("; missed: " + "; ".join(r.accounts for r in missed) if missed else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
