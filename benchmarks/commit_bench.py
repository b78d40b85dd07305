"""A commit's hooks: ``pre-commit run --files`` on one changed overlay file, at fleet scale.

A fleet made by the tool (bench.py's builder: init, accounts appended, render), committed in
a git repository with the pre-commit configuration ``capa-accounts init --hooks local`` writes
(``language: system``: no network); then one overlay file is edited and staged, and
``pre-commit run --files <that file>`` runs every hook as a commit would. Each of the hooks'
commands is also timed alone, so that the table shows where the time goes. Interleaved rounds
with the floor (bench.py's ``FLOOR``); ``--against REF`` runs REF's capa-accounts as well
(benchmarks/previous.py), on the same change.

The target, at 1,000 accounts: at most 1.5 s or at most 3x the floor, whichever is larger,
judged on CPU time (the hooks' processes included), which a busy machine does not inflate.

    python benchmarks/commit_bench.py [--accounts 1000] [--runs 3] [--against REF]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402 - a sibling module of this script
from base_bench import GIT, commit, versions  # noqa: E402 - likewise
from measure import MeasureError, Sample, measured, rounds  # noqa: E402 - likewise

from capa_accounts.kustomize_plugin import example  # noqa: E402 - after the path

CHANGED = bench.CHANGED_FILE
TARGET_ACCOUNTS, TARGET_SECONDS, TARGET_RATIO = 1000, 1.5, 3.0


def prepare(accounts: int, workdir: Path) -> tuple[Path, float]:
    repo = workdir / f"commit-{accounts}"
    made = bench.make_repo(repo, accounts)
    (repo / ".pre-commit-config.yaml").write_text(
        example.pre_commit_config(hooks="local"), encoding="utf-8"
    )
    commit(repo)
    path = repo / CHANGED
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("sessionName: ", "sessionName: edited-", 1), encoding="utf-8")
    subprocess.run([*GIT, "-C", str(repo), "add", CHANGED], check=True)
    return repo, made


def steps_for(repo: Path, label: str, capa: str, env: dict[str, str]) -> dict[str, object]:
    """The whole commit (pre-commit) and each hook's command alone, for one version."""
    bin_dir = Path(capa).parent
    env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}
    env["PRE_COMMIT_HOME"] = str(repo.parent / "pre-commit-home")
    ok = (0, 1)

    def run(*argv: str) -> Sample:
        return measured(list(argv), cwd=repo, env=env, ok=ok)

    precommit = bench.tool("pre-commit")
    return {
        f"{label}: pre-commit run --files (the commit)": lambda: run(
            precommit, "run", "--files", CHANGED
        ),
        f"{label}:   render --check": lambda: run(capa, "render", "--check"),
        f"{label}:   check --base HEAD --with-hooks": lambda: run(
            capa, "check", "--base", "HEAD", "--with-hooks", "render,scan-secrets"
        ),
        f"{label}:   capa-accounts-build <file>": lambda: run(
            str(bin_dir / "capa-accounts-build"), CHANGED
        ),
        f"{label}:   capa-accounts-scan-secrets <file>": lambda: run(
            str(bin_dir / "capa-accounts-scan-secrets"), CHANGED
        ),
    }


def measure(accounts: int, runs: int, workdir: Path, against: str | None) -> list[str]:
    repo, made = prepare(accounts, workdir)
    env = bench.environment()
    steps: dict[str, object] = {
        "floor": lambda: measured([bench.PYTHON, "-c", bench.FLOOR, str(repo)], env=env)
    }
    for label, (capa, cenv) in versions(against, workdir).items():
        steps.update(steps_for(repo, label, capa, cenv))
    medians = rounds(runs, steps)  # type: ignore[arg-type]
    floor = medians["floor"]
    # CPU time: on a shared machine wall time also counts waiting for a core (see measure.py).
    limit = max(TARGET_SECONDS, TARGET_RATIO * floor.cpu)
    lines = [f"{accounts} accounts (made in {made:.1f} s), {CHANGED} edited and staged:"]
    for name, s in medians.items():
        note = f"{s.wall / floor.wall:5.2f}x floor wall {s.cpu / floor.cpu:5.2f}x cpu"
        if name.startswith("now: pre-commit") and accounts == TARGET_ACCOUNTS:
            note += f"  target <= {limit:.2f} s cpu: " + ("holds" if s.cpu <= limit else "MISS")
        other = medians.get(name.replace("now:", "previous:", 1))
        if name.startswith("now:") and other is not None:
            note += f"  vs previous {s.wall / other.wall:.2f}x wall {s.cpu / other.cpu:.2f}x cpu"
        lines.append(
            f"  {name:<50} {s.wall:7.3f} s wall {s.cpu:7.3f} s cpu {s.rss_mib:7.1f} MiB  {note}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", default="1000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--against",
        default="HEAD~1",
        help="also run this commit's capa-accounts, in the same rounds (none: only this tree)",
    )
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with bench.work_directory(args.workdir, "capa-commit-bench-") as workdir:
        return _run(args, workdir)


def _run(args: argparse.Namespace, workdir: Path) -> int:
    print(f"a commit's hooks: {os.cpu_count()} CPUs; medians of {args.runs} round(s)")
    try:
        for size in (int(s) for s in args.accounts.split(",") if s.strip()):
            print("\n".join(measure(size, max(1, args.runs), workdir, args.against)), flush=True)
    except (MeasureError, bench.BenchError, bench.previous.PreviousError) as err:
        print(f"commit_bench: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
