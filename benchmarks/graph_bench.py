"""Speed and memory of ``graph`` at fleet scale, against ``check`` measured in the same run.

``graph`` runs ``check`` and then draws what it judged, so ``check`` is its floor: for each
size (300, 1,000 and 5,000 accounts by default), a repository is made by the tool (bench.py's
``make_repo``), then ``capa-accounts check`` and ``capa-accounts graph --format dot`` run as
whole processes, interleaved round by round so that a load spike hits both; the medians are
shown with their peak resident memory (each process measured alone, by a small wrapper that
reads ``getrusage(RUSAGE_CHILDREN)``). DOT, because Mermaid refuses a fleet's text (Mermaid's
default maxTextSize); ``graph --account`` of three accounts is shown too.

Also in-process: ``check`` and the drawing alone (build, mark, place, DOT) after it, which is
what ``graph`` adds. Rows with a target: ``graph`` at most 1.5 times ``check`` at every size,
and the drawing's time per account at the largest size at most 1.5 times that at the
smallest (linear in accounts).

Usage: ``python benchmarks/graph_bench.py [--sizes 300,1000,5000] [--runs 3] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402 - a sibling module of this script
from table import Row, print_table  # noqa: E402 - likewise

# Runs argv, then prints the child's wall time and peak RSS (KiB on Linux, getrusage(2)).
WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
elapsed = time.perf_counter() - start
print(json.dumps({"code": code, "seconds": elapsed,
                  "kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""
# In-process: check, then the drawing alone (build, mark, place, DOT), round by round.
IN_PROCESS = """
import json, sys, time
from pathlib import Path
from capa_accounts.hooks.check import engine
from capa_accounts.hooks.graph import draw as graph
from capa_accounts.hooks.graph.build import build
root, runs = Path(sys.argv[1]), int(sys.argv[2])
engine.check(root)  # not counted: imports and caches
checks, draws = [], []
for _ in range(runs):
    with engine._without_cycle_collector():
        start = time.perf_counter(); report, ctx = engine.check_context(root)
        middle = time.perf_counter()
        g = build(ctx); graph.mark(g, report.findings); graph.place(g); graph.dot(g)
        end = time.perf_counter()
    checks.append(middle - start); draws.append(end - middle)
half = len(checks) // 2
print(json.dumps({"check": sorted(checks)[half], "draw": sorted(draws)[half]}))
"""
GRAPH_MUST = 1.5  # graph / check at the same size
LINEAR_MUST = 1.5  # seconds per account, largest size / smallest size


def measured(argv: list[str], ok: tuple[int, ...] = (0, 1)) -> tuple[float, float]:
    """Seconds and peak MiB of one whole process."""
    proc = subprocess.run(
        [bench.PYTHON, "-c", WRAPPER, *argv],
        capture_output=True,
        text=True,
        env=bench.environment(),
        check=False,
    )
    if proc.returncode != 0:
        raise bench.BenchError(f"wrapper failed: {proc.stderr.strip()[:300]}")
    result = json.loads(proc.stdout)
    if result["code"] not in ok:
        raise bench.BenchError(
            f"{' '.join(Path(a).name for a in argv[:3])} exited {result['code']}"
        )
    return result["seconds"], result["kib"] / 1024


def measure_size(accounts: int, runs: int, workdir: Path) -> tuple[list[Row], float]:
    repo = workdir / f"graph-repo-{accounts}"
    bench.make_repo(repo, accounts)
    exe = bench.tool("capa-accounts")
    steps = {
        "check": [exe, "check", "--repo", str(repo)],
        "graph": [exe, "graph", "--repo", str(repo), "--format", "dot"],
        "graph3": [
            exe,
            "graph",
            "--repo",
            str(repo),
            "--account",
            "staging",
            "--account",
            "live",
            "--account",
            f"acct-{accounts - 1:04d}",
        ],
    }
    seconds: dict[str, list[float]] = {k: [] for k in steps}
    memory: dict[str, list[float]] = {k: [] for k in steps}
    for i in range(runs):
        order = list(steps) if i % 2 == 0 else list(reversed(steps))
        for name in order:
            took, mib = measured(steps[name])
            seconds[name].append(took)
            memory[name].append(mib)
    med = {k: statistics.median(v) for k, v in seconds.items()}
    mem = {k: max(v) for k, v in memory.items()}
    _took, proc = bench.run([bench.PYTHON, "-c", IN_PROCESS, str(repo), str(runs)])
    inner = json.loads(proc.stdout)
    size = str(accounts)
    rows = [
        Row(
            size,
            "check (whole process), floor of graph",
            runs,
            med["check"],
            note=f"peak {mem['check']:.0f} MiB",
        ),
        Row(
            size,
            "graph --format dot (whole process)",
            runs,
            med["graph"],
            "check",
            med["check"],
            GRAPH_MUST,
            note=f"peak {mem['graph']:.0f} MiB",
        ),
        Row(
            size,
            "graph --account x3 (Mermaid)",
            runs,
            med["graph3"],
            "check",
            med["check"],
            note=f"peak {mem['graph3']:.0f} MiB",
        ),
        Row(
            size,
            "drawing alone after check, in-process (DOT)",
            runs,
            inner["draw"],
            "check in-process",
            inner["check"],
            note="build, mark, place, dot",
        ),
    ]
    return rows, inner["draw"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="300,1000,5000")
    parser.add_argument("--runs", type=int, default=3, help="rounds per measure (median)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: --sizes 10,20 --runs 1")
    args = parser.parse_args(argv)
    sizes = [10, 20] if args.quick else sorted({int(s) for s in args.sizes.split(",") if s})
    runs = 1 if args.quick else max(1, args.runs)
    try:
        with tempfile.TemporaryDirectory(prefix="capa-graph-bench-") as tmp:
            workdir = Path(tmp)
            bench.PYCACHE = workdir / "pycache"
            rows: list[Row] = []
            graphs: dict[int, float] = {}
            for size in sizes:
                size_rows, graphs[size] = measure_size(size, runs, workdir)
                rows += size_rows
            small, large = min(sizes), max(sizes)
            if large > small:
                rows.append(
                    Row(
                        f"{large}/{small}",
                        "drawing seconds per 1,000 accounts",
                        runs,
                        graphs[large] / large * 1000,
                        f"per 1,000 at {small}",
                        graphs[small] / small * 1000,
                        LINEAR_MUST,
                        note=f"{large / small:.1f}x accounts, "
                        f"{graphs[large] / graphs[small]:.1f}x time",
                    )
                )
            print(f"capa-accounts graph benchmark: medians of {runs} run(s); ratio = median / base")
            print_table(rows)
            missed = [r for r in rows if r.verdict == "MISS"]
            targeted = sum(r.targeted for r in rows)
            print(
                f"targets: {targeted - len(missed)} of {targeted} 'must' rows hold"
                + (
                    "; missed: " + "; ".join(f"{r.accounts} {r.measure}" for r in missed)
                    if missed
                    else ""
                )
            )
    except bench.BenchError as err:
        print(f"bench: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
