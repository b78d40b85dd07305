"""mypy over every module of the package, laid out as it installs.

pyproject.toml maps two top-level folders into the package (package-dir: hooks/ installs as
capa_accounts.hooks, kustomize_plugin/ as capa_accounts.kustomize_plugin). mypy knows no such
mapping: run over the checkout it sees capa_accounts/ alone and every import of
capa_accounts.hooks or capa_accounts.kustomize_plugin as missing. So this script builds the
installed layout as a tree of symbolic links in a temporary directory, runs mypy there (paths
relative, so mypy's cache in .mypy_cache/ stays valid from run to run), and prints mypy's
report with the paths of the checkout.

    python .ci/typecheck.py [mypy options...]

Exit status: mypy's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = "capa_accounts"


def package_dirs() -> dict[str, str]:
    """Subpackage -> folder of the checkout, read from pyproject's [tool.setuptools.package-dir]."""
    config = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    mapping: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    return {name: folder for name, folder in mapping.items() if name.startswith(PACKAGE + ".")}


def link_tree(root: Path, mapped: dict[str, str]) -> None:
    """``root/capa_accounts`` as the wheel lays it out, every entry a link into the checkout."""
    package = root / PACKAGE
    package.mkdir()
    for entry in sorted((PROJECT / PACKAGE).iterdir()):
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name, folder in mapped.items():
        (root / name.replace(".", "/")).symlink_to(PROJECT / folder)


def to_checkout(line: str, mapped: dict[str, str]) -> str:
    """A report line with the installed path replaced by the checkout's."""
    for name, folder in mapped.items():
        installed = name.replace(".", "/") + "/"
        if line.startswith(installed):
            return folder + "/" + line[len(installed) :]
    return line


def main(argv: list[str]) -> int:
    mapped = package_dirs()
    with tempfile.TemporaryDirectory(prefix="typecheck-") as tmp:
        link_tree(Path(tmp), mapped)
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--config-file",
                str(PROJECT / "pyproject.toml"),
                "--cache-dir",
                str(PROJECT / ".mypy_cache" / "installed-layout"),
                *argv,
                PACKAGE,
            ],
            cwd=tmp,
            env={**os.environ, "MYPY_FORCE_COLOR": "0"},
            capture_output=True,
            text=True,
            check=False,
        )
    for line in run.stdout.splitlines():
        print(to_checkout(line, mapped))
    sys.stderr.write(run.stderr)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
