"""`check --base REF` with many kustomizations that need a real kustomize: linear cost.

REF's tree is copied once for every kustomization of REF that needs kustomize (not once per
kustomization), so reading REF costs about what reading the work tree costs: one kustomize
build per kustomization on each side. This prints, for N kustomizations (each with a
``namePrefix``, so kustomize builds it), the median time of ``check`` (the work tree only: the
baseline measured in the same run) and of ``check --base HEAD`` (the work tree and REF), and
the cost per kustomization of each, whose ratio stays near 1 when the cost is linear.

    python benchmarks/base_bench.py --kustomizations 50,150 [--runs 3]

Fleets (the default, ``--accounts 1000,5000``): a repository made by the tool (bench.py's
builder: init, accounts appended, render) and committed; in interleaved rounds, the floor
(bench.py's ``FLOOR``: this interpreter composing every YAML file with PyYAML's C loader),
``check``, ``check --base HEAD`` with nothing changed and with one overlay file changed, each
with its wall time, CPU time and peak memory (the child's ``ru_maxrss``). ``--against REF``
also runs REF's capa-accounts (benchmarks/previous.py) in the same rounds. The target: ``check
--base`` at most 2.5x the floor at 5,000 accounts, linear in accounts (its ratio to the floor
does not grow with the fleet).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402 - a sibling module of this script
from measure import MeasureError, Sample, measured, rounds  # noqa: E402 - likewise

GIT = [
    "git",
    "-c",
    "user.email=bench@example.com",
    "-c",
    "user.name=bench",
    "-c",
    "commit.gpgsign=false",
]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is not installed (pip install -e '.[test]')")
    return found


def make_repo(path: Path, kustomizations: int) -> None:
    subprocess.run([tool("capa-accounts"), "init", str(path)], check=True, capture_output=True)
    for i in range(kustomizations):
        app = path / "apps" / f"app{i:03}"
        app.mkdir(parents=True)
        (app / "kustomization.yaml").write_text("namePrefix: x-\nresources: [cm.yaml]\n")
        (app / "cm.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{k: v}}\n"
        )
    subprocess.run([*GIT, "init", "-q", str(path)], check=True)
    subprocess.run([*GIT, "-C", str(path), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(path), "commit", "-qm", "bench"], check=True)


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed: {result.stderr.strip()}")
    return seconds


def kustomizations(args: argparse.Namespace) -> None:
    capa = tool("capa-accounts")
    print(f"check --base with N kustomizations built by kustomize; medians of {args.runs} run(s)")
    print(
        f"{'N':>5}  {'check s':>8}  {'--base s':>8}  {'ratio':>6}  "
        f"{'work s/kust.':>12}  {'REF s/kust.':>11}  {'REF/work':>8}"
    )
    empty: tuple[float, float] | None = None
    for n in [0, *(int(s) for s in args.kustomizations.split(","))]:
        with tempfile.TemporaryDirectory() as tmp:
            repo = Path(tmp) / "repo"
            make_repo(repo, n)
            work, base = [], []
            for _ in range(args.runs):  # interleaved, so that load changes touch both
                work.append(timed([capa, "check", "--repo", str(repo)]))
                base.append(timed([capa, "check", "--repo", str(repo), "--base", "HEAD"]))
        w, b = statistics.median(work), statistics.median(base)
        if empty is None:
            empty = (w, b)
            print(f"{n:>5}  {w:>8.3f}  {b:>8.3f}  {b / w:>6.2f}")
            continue
        per_work = (w - empty[0]) / n
        per_ref = ((b - empty[1]) - (w - empty[0])) / n
        print(
            f"{n:>5}  {w:>8.3f}  {b:>8.3f}  {b / w:>6.2f}  {per_work:>12.4f}  "
            f"{per_ref:>11.4f}  {per_ref / per_work:>8.2f}"
        )


TARGET_ACCOUNTS, TARGET_RATIO = 5000, 2.5
CHANGED = bench.CHANGED_FILE  # one overlay file, edited as a user would


def commit(repo: Path) -> None:
    subprocess.run([*GIT, "init", "-q", str(repo)], check=True)
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "fleet"], check=True)


def versions(against: str | None, workdir: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """label -> (capa-accounts console script, environment) of each version measured."""
    env = bench.environment()
    if against in (None, "none"):
        return {"now": (tool("capa-accounts"), env)}
    import previous  # benchmarks/previous.py: a commit's capa-accounts in a folder of its own

    # Both installed the same way (pip install, not editable): they differ only by the code.
    now, other = previous.install_tree(workdir), previous.install(against, workdir)
    return {
        "now": (now.tool("capa-accounts"), {**env, **now.env}),
        "previous": (other.tool("capa-accounts"), {**env, **other.env}),
    }


def fleet(accounts: int, runs: int, workdir: Path, against: str | None) -> list[str]:
    repo = workdir / f"fleet-{accounts}"
    made = bench.make_repo(repo, accounts)
    commit(repo)
    changed = repo / CHANGED
    original = changed.read_text(encoding="utf-8")
    env = bench.environment()

    def floor() -> Sample:
        return measured([bench.PYTHON, "-c", bench.FLOOR, str(repo)], env=env)

    def check(capa: str, cenv: dict[str, str], *extra: str) -> Sample:
        return measured([capa, "check", "--repo", str(repo), *extra], env=cenv, ok=(0, 1))

    def with_change(capa: str, cenv: dict[str, str]) -> Sample:
        changed.write_text(original.replace("spec:", "spec: # edited", 1), encoding="utf-8")
        try:
            return check(capa, cenv, "--base", "HEAD")
        finally:
            changed.write_text(original, encoding="utf-8")

    steps = {"floor": floor}
    for label, (capa, cenv) in versions(against, workdir).items():
        steps[f"{label}: check"] = lambda c=capa, e=cenv: check(c, e)
        steps[f"{label}: check --base HEAD, no change"] = lambda c=capa, e=cenv: check(
            c, e, "--base", "HEAD"
        )
        steps[f"{label}: check --base HEAD, {CHANGED} edited"] = lambda c=capa, e=cenv: with_change(
            c, e
        )
    medians = rounds(runs, steps)
    base = medians["floor"]
    lines = [f"{accounts} accounts (made in {made:.1f} s), medians of {runs} round(s):"]
    for name, s in medians.items():
        ratio = f"{s.wall / base.wall:5.2f}x wall {s.cpu / base.cpu:5.2f}x cpu"
        extra = ""
        if name.startswith("now: check --base") and accounts == TARGET_ACCOUNTS:
            extra = "  holds" if s.cpu / base.cpu <= TARGET_RATIO else "  MISS"
        if name.startswith("now:") and "previous: " + name[5:] in medians:
            p = medians["previous: " + name[5:]]
            extra += f"  vs previous {s.cpu / p.cpu:.2f}x cpu, {s.rss_mib / p.rss_mib:.2f}x memory"
        lines.append(
            f"  {name:<58} {s.wall:7.3f} s wall {s.cpu:7.3f} s cpu {s.rss_mib:7.1f} MiB  "
            f"{ratio}{extra}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", default="1000,5000", help="fleet sizes (default 1000,5000)")
    parser.add_argument("--kustomizations", default="", help="instead: N kustomize-built dirs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--against",
        default="HEAD~1",
        help="also run this commit's capa-accounts, in the same rounds (none: only this tree)",
    )
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if args.kustomizations:
        kustomizations(args)
        return 0
    with bench.work_directory(args.workdir, "capa-base-bench-") as workdir:
        return _run(args, workdir)


def _run(args: argparse.Namespace, workdir: Path) -> int:
    print(f"check --base at fleet scale: {os.cpu_count()} CPUs; ratios to the floor")
    try:
        for size in (int(s) for s in args.accounts.split(",") if s.strip()):
            print("\n".join(fleet(size, max(1, args.runs), workdir, args.against)), flush=True)
    except (MeasureError, bench.BenchError, bench.previous.PreviousError) as err:
        print(f"base_bench: {err}", file=sys.stderr)
        return 2
    print(f"target: check --base at most {TARGET_RATIO}x the floor (cpu) at {TARGET_ACCOUNTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
