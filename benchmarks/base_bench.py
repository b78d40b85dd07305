"""`check --base REF` with many kustomizations that need a real kustomize: linear cost.

REF's tree is copied once for every kustomization of REF that needs kustomize (not once per
kustomization), so reading REF costs about what reading the work tree costs: one kustomize
build per kustomization on each side. This prints, for N kustomizations (each with a
``namePrefix``, so kustomize builds it), the median time of ``check`` (the work tree only: the
baseline measured in the same run) and of ``check --base HEAD`` (the work tree and REF), and
the cost per kustomization of each, whose ratio stays near 1 when the cost is linear.

    python benchmarks/base_bench.py [--sizes 50,150] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="50,150")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    capa = tool("capa-accounts")
    print(f"check --base with N kustomizations built by kustomize; medians of {args.runs} run(s)")
    print(
        f"{'N':>5}  {'check s':>8}  {'--base s':>8}  {'ratio':>6}  "
        f"{'work s/kust.':>12}  {'REF s/kust.':>11}  {'REF/work':>8}"
    )
    empty: tuple[float, float] | None = None
    for n in [0, *(int(s) for s in args.sizes.split(","))]:
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
