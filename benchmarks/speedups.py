"""Do the hand-made fast paths pay? Each one timed against the plain way, in the same run.

A fleet repository is made by the tool (bench.py's ``make_repo``), then, in this process, each
speed-up and the code it stands in for run on the same input, interleaved round by round (a
load spike hits both), and the median of the rounds is compared. The two sides must give the
same result; the benchmark fails otherwise.

- dump, block emitter: ``yamldump.dump_documents`` on every rendered file's documents against
  PyYAML's ``dump_all`` with the C dumper and the same options (the text must be identical;
  the string texts it remembers are forgotten before each round);
  also its second path alone, nodes built for the C emitter (``_represent_all``).
- compose, remembered tags: ``yamlio._Loader`` against ``yaml.CSafeLoader`` on every YAML file
  (the tags remembered are forgotten before each round, as in a new process).
- decode, tree without aliases: ``to_plain(node, anchors=False)`` (``_plain_tree``) against
  the general decoder (``anchors=True``), and PyYAML's ``SafeConstructor`` as the floor.
- check, cycle collector off: ``engine.check`` and ``graph`` (``draw.draw``) with
  ``_without_cycle_collector`` against the same with the collector left on.
- render, plain-data copy: ``render._copy`` against ``copy.deepcopy`` on base/'s items once
  per account (the copies alone), and ``render.plan`` with each.

Usage: ``python benchmarks/speedups.py [--accounts 300] [--runs 5] [--quick]``; a ratio is
plain time / fast time (above 1: the speed-up pays). Each speed-up's docstring states its
figures; measured with ``--accounts 300 --runs 9`` and ``--accounts 1000``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import make_repo  # noqa: E402 - a sibling module of this script

from capa_accounts.core import yamldump, yamlio, yamlplain  # noqa: E402
from capa_accounts.hooks.check import engine  # noqa: E402
from capa_accounts.hooks.graph import draw  # noqa: E402
from capa_accounts.kustomize_plugin import render  # noqa: E402

Step = Callable[[], Any]


def yaml_files(repo: Path) -> list[Path]:
    return sorted(p for p in repo.rglob("*.yaml") if ".git" not in p.parts)


def rounds(runs: int, fast: Step, plain: Step) -> tuple[float, float]:
    """Median CPU seconds of ``fast`` and ``plain``, alternating which goes first. CPU time
    (``time.process_time``: this process only, everything here runs in it) rather than wall
    time, so that other processes on a busy machine do not count."""
    times: dict[str, list[float]] = {"fast": [], "plain": []}
    for i in range(runs):
        order = (("fast", fast), ("plain", plain))
        for name, step in order if i % 2 == 0 else order[::-1]:
            start = time.process_time()
            step()
            times[name].append(time.process_time() - start)
    return statistics.median(times["fast"]), statistics.median(times["plain"])


def pyyaml_dump(docs: list[Any]) -> str:
    return yaml.dump_all(
        docs,
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=10_000,
        explicit_start=len(docs) > 1,
    )


def node_dump(docs: list[Any]) -> str:
    nodes = yamldump._represent_all(docs)  # noqa: SLF001 - the path measured
    if nodes is None:
        raise SystemExit("a rendered file is no plain data")
    return yaml.serialize_all(
        nodes,
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        allow_unicode=True,
        width=10_000,
        explicit_start=len(docs) > 1,
    )


def measure_dump(repo: Path, runs: int) -> list[tuple[str, float, float]]:
    files = [list(yaml.safe_load_all(p.read_text(encoding="utf-8"))) for p in yaml_files(repo)]
    files = [[d for d in docs if d is not None] for docs in files]
    files = [docs for docs in files if docs and yamldump.dump_plain(docs) is not None]
    for docs in files:  # the same bytes, or the speed-up is wrong
        if not yamldump.dump_documents(docs) == pyyaml_dump(docs) == node_dump(docs):
            raise SystemExit("yamldump writes other text than PyYAML")

    def block_emitter() -> list[str]:
        yamldump._string_texts.clear()  # noqa: SLF001 - remembered texts, as in a new process
        return [yamldump.dump_documents(d) for d in files]

    block, plain = rounds(runs, block_emitter, lambda: [pyyaml_dump(d) for d in files])
    nodes, plain2 = rounds(runs, lambda: [node_dump(d) for d in files],
                           lambda: [pyyaml_dump(d) for d in files])  # fmt: skip
    return [
        (f"dump, block emitter ({len(files)} files)", block, plain),
        ("dump, nodes for the C emitter", nodes, plain2),
    ]


@contextlib.contextmanager
def _fresh_tags() -> Iterator[None]:
    yamlio._PLAIN_TAGS.clear()  # noqa: SLF001 - as in a new process
    yield


def measure_compose(repo: Path, runs: int) -> list[tuple[str, float, float]]:
    texts = [p.read_text(encoding="utf-8") for p in yaml_files(repo)]
    c_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def ours() -> list[Any]:
        with _fresh_tags():
            return [list(yaml.compose_all(t, Loader=yamlio._Loader)) for t in texts]  # noqa: SLF001

    def theirs() -> list[Any]:
        return [list(yaml.compose_all(t, Loader=c_loader)) for t in texts]

    fast, plain = rounds(runs, ours, theirs)
    return [(f"compose, remembered tags ({len(texts)} files)", fast, plain)]


def measure_decode(repo: Path, runs: int) -> list[tuple[str, float, float]]:
    nodes = [n for p in yaml_files(repo) for n in yamlio.compose(p.read_text("utf-8"), p.name)]
    for node in nodes:
        if yamlplain.to_plain(node, "x", anchors=False) != yamlplain.to_plain(node, "x"):
            raise SystemExit("the tree decoder differs from the general decoder")

    def pyyaml() -> list[Any]:
        return [yaml.constructor.SafeConstructor().construct_document(n) for n in nodes]

    tree, general = rounds(
        runs,
        lambda: [yamlplain.to_plain(n, "x", anchors=False) for n in nodes],
        lambda: [yamlplain.to_plain(n, "x") for n in nodes],
    )
    tree2, floor = rounds(
        runs, lambda: [yamlplain.to_plain(n, "x", anchors=False) for n in nodes], pyyaml
    )
    return [
        (f"decode, tree without aliases ({len(nodes)} documents)", tree, general),
        ("decode, tree vs PyYAML SafeConstructor (floor)", tree2, floor),
    ]


def measure_gc(repo: Path, runs: int) -> list[tuple[str, float, float]]:
    off = engine._without_cycle_collector  # noqa: SLF001 - the speed-up measured
    engine.check(repo)  # imports and caches, once for both

    def with_collector() -> Any:
        engine._without_cycle_collector = contextlib.nullcontext  # type: ignore[assignment]  # noqa: SLF001
        try:
            if not gc.isenabled():
                raise SystemExit("the cycle collector is off before check")
            return engine.check(repo)
        finally:
            engine._without_cycle_collector = off  # noqa: SLF001

    fast, plain = rounds(runs, lambda: engine.check(repo), with_collector)

    def graph_with_collector() -> Any:
        engine._without_cycle_collector = contextlib.nullcontext  # type: ignore[assignment]  # noqa: SLF001
        try:
            return draw.draw(repo, "dot")
        finally:
            engine._without_cycle_collector = off  # noqa: SLF001

    drawn, drawn_plain = rounds(runs, lambda: draw.draw(repo, "dot"), graph_with_collector)
    return [
        ("check, cycle collector off", fast, plain),
        ("graph (dot), cycle collector off", drawn, drawn_plain),
    ]


def measure_copy(repo: Path, runs: int, accounts: int) -> list[tuple[str, float, float]]:
    ours = render._copy  # noqa: SLF001 - the speed-up measured
    base = render.load_base(repo)
    if any(ours(i) != copy.deepcopy(i) for i in base):
        raise SystemExit("render._copy copies other data than copy.deepcopy")
    alone, alone_plain = rounds(
        runs,
        lambda: [[ours(i) for i in base] for _ in range(accounts)],
        lambda: [[copy.deepcopy(i) for i in base] for _ in range(accounts)],
    )

    def with_deepcopy() -> Any:
        render._copy = copy.deepcopy  # noqa: SLF001
        try:
            return render.plan(repo)
        finally:
            render._copy = ours  # noqa: SLF001

    if render.plan(repo) != with_deepcopy():
        raise SystemExit("render plans other files with copy.deepcopy")
    fast, plain = rounds(runs, lambda: render.plan(repo), with_deepcopy)
    return [
        ("render, plain-data copy: the copies alone", alone, alone_plain),
        ("render, plain-data copy: render.plan", fast, plain),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10 accounts, one round (smoke)")
    args = parser.parse_args(argv)
    accounts, runs = (10, 1) if args.quick else (args.accounts, args.runs)
    with tempfile.TemporaryDirectory(prefix="speedups-") as tmp:
        repo = Path(tmp) / "repo"
        make_repo(repo, accounts)
        rows = [
            *measure_dump(repo, runs),
            *measure_compose(repo, runs),
            *measure_decode(repo, runs),
            *measure_gc(repo, runs),
            *measure_copy(repo, runs, accounts),
        ]
    print(f"{accounts} accounts, median CPU seconds of {runs} round(s); ratio = plain / fast")
    print(f"{'speed-up':<52} {'fast s':>9} {'plain s':>9} {'ratio':>7}")
    for name, fast, plain in rows:
        print(f"{name:<52} {fast:>9.4f} {plain:>9.4f} {plain / fast:>6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
