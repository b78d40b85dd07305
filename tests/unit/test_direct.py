"""The direct way of ``check`` and ``render`` (capa_accounts/direct.py) against click's.

Both ways run as a user runs them, in a process of their own: the console script, and the
command line (click) called on the same arguments. They must print the same bytes on both
streams and end with the same exit code; what the direct way does not take is click's.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from capa_accounts import console, direct
from capa_accounts.cli import main as command_line
from capa_accounts.cli.check import check as check_command

CLICK = (
    "import sys; from capa_accounts.entry import leave; from capa_accounts.cli import main\n"
    "try:\n    main(prog_name='capa-accounts')\nexcept SystemExit as done:\n"
    "    leave(done.code)"
)
# Print at exit whether click was loaded (entry.leave runs the exit handlers).
DIRECT = (
    "import atexit, sys; atexit.register(lambda: print('click loaded:', 'click' in "
    "sys.modules, file=sys.stderr)); sys.argv[0] = 'capa-accounts'\n"
    "from capa_accounts.entry import main; main()"
)


def _run(code: str, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple:
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        cwd=cwd,
        capture_output=True,
        env={**os.environ, "NO_COLOR": "", "FORCE_COLOR": "", **(env or {})},
        check=False,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


def _both(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple:
    """The direct way's run (asserted to have gone without click) and click's, the same."""
    code, out, err = _run(DIRECT, argv, cwd, env)
    assert err.endswith(b"click loaded: False\n"), err
    direct_way = (code, out, err.removesuffix(b"click loaded: False\n"))
    assert direct_way == _run(CLICK, argv, cwd, env)
    return direct_way


@pytest.fixture
def broken(example_repo: Path) -> Path:
    """The example with a finding (an identity typo), a warning and a file that does not read."""
    path = example_repo / "overlays/staging/identity.yaml"
    path.write_text(
        path.read_text().replace("name: staging-identity\n", "name: staging-identitx\n")
    )
    (example_repo / "overlays/staging/notes.yaml").write_text("a: [\n")
    return example_repo


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["check", "--strict", "-q"],
        ["check", "--format", "json"],
        ["check", "--format=sarif", "--color", "always"],
        ["check", "--format", "github", "--with-hooks", "render,scan-secrets"],
        ["check", "--color=never", "--quiet", "--format", "junit"],
        ["check", "-o", "-", "--format", "gitlab"],
        ["render", "--check"],
    ],
)
def test_the_direct_way_says_what_click_says(broken: Path, argv: list[str]) -> None:
    code, out, err = _both(argv, broken)
    assert code in (1, 2), (code, out, err)  # the finding, or the file that does not read


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--repo", "."],
        ["check", "--repo=.", "--strict"],
        ["check", "--base", "HEAD", "--repo", "."],
        ["render", "--repo", ".", "--check"],
        ["render", "--repo", "."],
        ["render"],
    ],
)
def test_a_clean_repository_the_same_both_ways(committed: Path, argv: list[str]) -> None:
    code, out, err = _both(argv, committed)
    assert code == 0, (out, err)


def test_failures_and_the_report_file_the_same_both_ways(example_repo: Path) -> None:
    (example_repo / "accounts.yaml").write_text("spec: [\n")
    code, out, err = _both(["check"], example_repo)
    assert code == 2 and err.startswith(b"capa-accounts: accounts.yaml:"), err
    code, out, err = _both(["render", "--check"], example_repo)
    assert code == 2 and err.startswith(b"capa-accounts: accounts.yaml:"), err
    code, out, err = _both(["check", "--repo", "no-such-dir"], example_repo)
    assert code == 2 and b"no such repository directory" in err, err
    # Found from a directory below the root: the path is shown from where it ran.
    code, out, err = _both(["render", "--check"], example_repo / "overlays")
    assert code == 2 and err.startswith(b"capa-accounts: ../accounts.yaml:"), err
    for fmt in ("json", "sarif"):  # a machine format carries the failure in a valid report
        code, out, err = _both(["check", "--format", fmt, "-o", "report.out"], example_repo)
        assert code == 2 and out == b"", (out, err)
        assert b"accounts.yaml" in (example_repo / "report.out").read_bytes()


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["check", "--help"],
        ["render", "-h"],
        ["check", "-"],
        ["check", "--crd", "x"],
        ["check", "--complete"],
        ["check", "--management-account", "123456789012"],
        ["check", "--format", "nope"],
        ["check", "--format"],
        ["check", "--format="],
        ["check", "--color", "blue"],
        ["check", "--repo", "a", "--repo", "b"],
        ["check", "--base", "-x"],
        ["check", "-o=report.json"],  # click reads the value "=report.json"
        ["check", "-qo", "x"],
        ["check", "--strict=yes"],
        ["check", "--with-hooks", "lint"],
        ["check", "--with-hooks", ""],
        ["check", "--", "--strict"],
        ["check", "extra"],
        ["check", "--repo", "accounts.yaml"],  # a file: click refuses it
        ["check", "-o", "overlays"],  # a directory: click refuses it
        ["--debug", "check"],
        ["render", "--check", "--check"],
        ["graph"],
    ],
)
def test_what_the_direct_way_does_not_take_is_clicks(example_repo: Path, argv: list[str]) -> None:
    os.chdir(example_repo)
    assert direct.parse(argv) is None


def test_click_says_it_when_the_direct_way_does_not_take_it(example_repo: Path) -> None:
    code, out, err = _run(DIRECT, ["check", "--format", "nope"], example_repo)
    assert code == 2 and b"Invalid value for '--format'" in err and b"loaded: True" in err
    code, out, err = _run(DIRECT, ["check", "--repo", "accounts.yaml"], example_repo)
    assert code == 2 and b"is a file" in err, err


def test_shell_completion_and_ascii_streams_are_clicks(example_repo: Path) -> None:
    env = {"_CAPA_ACCOUNTS_COMPLETE": "bash_source"}
    code, out, err = _run(DIRECT, ["check"], example_repo, env)
    assert b"loaded: True" in err and b"complete" in out, (out, err)
    code, out, err = _run(DIRECT, ["check"], example_repo, {"PYTHONIOENCODING": "ascii"})
    assert b"loaded: True" in err, err


def test_the_direct_way_has_the_click_commands_options_and_defaults() -> None:
    """Every option the direct way takes is the click command's, for the same parameter, a
    flag where click's is; what it is not given is console's default, which is click's."""
    commands = {"check": check_command, "render": command_line.commands["render"]}
    renamed = {"with_hooks": "other_hooks"}
    for name, table in direct.OPTIONS.items():
        params = commands[name].params
        for option, (parameter, convert) in table.items():
            param = next(p for p in params if option in p.opts)
            assert renamed.get(str(param.name), param.name) == parameter, (name, option)
            assert (convert is None) == bool(getattr(param, "is_flag", False)), option
    defaults = inspect.signature(console.check).parameters
    given = check_command.make_context("check", []).params  # what click calls it with
    for key, value in given.items():
        key = renamed.get(key, key)
        if key in ("repo", "source"):
            continue
        if key == "other_hooks":
            assert value == "" and defaults[key].default == ()
        else:
            assert value == defaults[key].default, key
    assert command_line.commands["render"].make_context("render", []).params == {
        "repo": None,
        "check_only": False,
    }


def test_a_reader_that_went_away_ends_it_as_click_does(broken: Path) -> None:
    """``check | head``, the reader gone before the report is written: exit 1 and no
    traceback, as click's main ends on EPIPE."""
    codes = []
    for code_text in (DIRECT, CLICK):
        read, write = os.pipe()
        os.close(read)
        try:
            done = subprocess.run(
                [sys.executable, "-c", code_text, "check", "--format", "json"],
                cwd=broken,
                stdout=write,
                stderr=subprocess.PIPE,
                check=False,
                timeout=120,
            )
        finally:
            os.close(write)
        assert b"Traceback" not in done.stderr, done.stderr
        codes.append(done.returncode)
    assert codes == [1, 1], codes
