"""System calls of a fresh render: this tree against another commit, counted by strace.

A fresh render writes every generated file of a new repository (made by the tool, its
generated files left out of the copy), with the plan cache off, so that both plan and write
everything. ``strace -f -c`` counts every system call of the process; the table prints the
calls each made most, and the totals with their ratio. The count does not depend on the
machine's load, unlike a time.

Usage: ``python benchmarks/syscalls.py [--accounts 300] [--against a2b5761]``; needs strace.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402 - a sibling module of this script
import previous  # noqa: E402 - likewise

ROW = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+)?\s*(\w+)\s*$")


def counted(version: previous.Version, repo: Path, workdir: Path) -> dict[str, tuple[int, int]]:
    """``{syscall: (calls, errors)}`` of one fresh render of ``repo``'s sources."""
    target = workdir / f"fresh-{version.label.split()[0]}"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(repo, target, ignore=bench._generated_names(repo))
    out = workdir / "strace.txt"
    env = {**os.environ, **version.env, "CAPA_ACCOUNTS_NO_CACHE": "1"}
    argv = ["strace", "-f", "-c", "-o", str(out), version.tool("capa-accounts"), "render"]
    done = subprocess.run([*argv, "--repo", str(target)], env=env, capture_output=True)
    if done.returncode != 0:
        raise previous.PreviousError(f"{version.label}: render failed: {done.stderr[-300:]!r}")
    calls: dict[str, tuple[int, int]] = {}
    for line in out.read_text().splitlines():
        found = ROW.match(line)
        if found and found.group(3) != "total":
            calls[found.group(3)] = (int(found.group(1)), int(found.group(2) or 0))
    return calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--against", default="a2b5761", metavar="REF")
    args = parser.parse_args(argv)
    if shutil.which("strace") is None:
        print("syscalls: strace is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="capa-syscalls-") as temporary:
        workdir = Path(temporary)
        try:
            versions = [previous.install(args.against, workdir), previous.install_tree(workdir)]
            bench.CURRENT = versions[1]
            repo = workdir / "repo"
            bench.make_repo(repo, args.accounts)
            counts = [counted(v, repo, workdir) for v in versions]
        except (previous.PreviousError, bench.BenchError) as err:
            print(f"syscalls: {err}", file=sys.stderr)
            return 2
    then, now = counts
    names = sorted(
        set(then) | set(now), key=lambda n: -max(then.get(n, (0, 0))[0], now.get(n, (0, 0))[0])
    )
    print(f"fresh render of {args.accounts} accounts, system calls (strace -f -c)")
    print(f"{'syscall':<14}{versions[0].label:>24}{'this tree':>14}   (failed then / now)")
    for name in names[:14]:
        (a, ae), (b, be) = then.get(name, (0, 0)), now.get(name, (0, 0))
        print(f"{name:<14}{a:>24,}{b:>14,}   ({ae:,} / {be:,})")
    total_then = sum(c for c, _ in then.values())
    total_now = sum(c for c, _ in now.values())
    print(f"{'total':<14}{total_then:>24,}{total_now:>14,}   ratio {total_now / total_then:.2f}")
    print(
        "target: no more than "
        + versions[0].label
        + (": holds" if total_now <= total_then else ": MISS")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
