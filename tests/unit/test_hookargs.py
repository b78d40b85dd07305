"""The pre-commit entry points' argument parser: every path pre-commit passes is a file.

pre-commit runs ``entry args... file...`` with no ``--`` before the files, so a staged file
named like an option must stay a file; an option that names no file stays an option. The one
run under the real pre-commit is tests/e2e/test_precommit.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from capa_accounts.hooks import build, hookargs, scan_secrets

NAMES = ["-h", "--help", "--repo=x", "--repo", "-", "--version", "-x"]
KEY_ID = "AKIA" + "Q7ZX3RLM2PV4KT6N"  # fake, built from halves
SECRET_KEY = "9drTJvcXLB89Ab12CdZk" + "/3+qWm7Hn2Pq4Rs8TuV1"


def parser() -> argparse.ArgumentParser:
    """The build hook's arguments: files, and an option that takes a value."""
    out = argparse.ArgumentParser(prog="hook")
    out.add_argument("files", nargs="*")
    out.add_argument("--repo", default=".")
    out.add_argument("--verbose", action="store_true")
    return out


@pytest.mark.parametrize("name", NAMES)
def test_an_existing_path_named_like_an_option_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text("notes\n")
    args = hookargs.parse(parser(), [name, "aws.env"])
    assert args.files == [name, "aws.env"]
    assert args.repo == "." and not args.verbose


@pytest.mark.parametrize("name", ["--help", "-h"])
def test_an_option_that_names_no_file_stays_an_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """The near miss: with no such file, ``--help`` is help."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        hookargs.parse(parser(), [name])
    assert exit_.value.code == 0
    assert "usage: hook" in capsys.readouterr().out


def test_options_and_their_values_keep_their_meaning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    args = hookargs.parse(parser(), ["--repo", "sub", "a.yaml", "--verbose", "b.yaml"])
    assert (args.repo, args.verbose, args.files) == ("sub", True, ["a.yaml", "b.yaml"])
    # ``--repo=sub`` is one argument; it names no file, so it is the option.
    assert hookargs.parse(parser(), ["--repo=sub"]).repo == "sub"


def test_everything_after_a_double_dash_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = hookargs.parse(parser(), ["--verbose", "--", "--help", "--repo", "x"])
    assert args.verbose
    assert args.files == ["--help", "--repo", "x"]
    assert args.repo == "."


def test_an_unknown_option_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        hookargs.parse(parser(), ["--no-such-option"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


@pytest.mark.parametrize("name", NAMES)
def test_the_secret_scan_hook_scans_beside_a_file_named_like_an_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """The scan hook as pre-commit calls it: ``-h`` and ``aws.env`` staged together still fail
    on the keys; the near miss with harmless files passes."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text("notes\n")
    (tmp_path / "aws.env").write_text(
        f"AWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={SECRET_KEY}\n"
    )
    (tmp_path / "region.env").write_text("AWS_REGION=eu-west-1\n")
    assert scan_secrets.main([name, "aws.env"]) == 1
    assert "aws.env:1:19: [CAPA-S001]" in capsys.readouterr().out
    assert scan_secrets.main([name, "region.env"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.e2e  # a real kustomize builds it
def test_the_build_hook_builds_beside_a_file_named_like_an_option(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A staged ``--help`` in the build hook's files: the overlay is built, not help printed."""
    monkeypatch.chdir(example_repo)
    (example_repo / "--help").write_text("notes\n")
    assert build.main(["--help", "overlays/staging/kustomization.yaml"]) == 0
    captured = capsys.readouterr()
    assert "usage:" not in captured.out
    assert "built 1 overlay(s), 0 failed" in captured.err
