"""Real upstream files through ``check -``: CAPA's templates, e2e data and book, the CAPI
operator's docs and other public repositories that manage CAPA (tests/data/upstream/).

Each file is piped to the CLI as ``cat FILE | capa-accounts check -`` would, and the verdict
is compared with expected.yaml: the rules that must fire, those that must stay quiet and the
exit code, judged against what CAPA, clusterawsadm, kustomize and the operator do with the
file. The held-out set (whole source categories) is a separate test, so its pass rate shows
whether a fix generalises beyond the files it was made for.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from capa_accounts.cli import main
from capa_accounts.hooks.rules import all_rules

UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "upstream"
MAX_BYTES = 30_000


def _sources() -> list[dict[str, str]]:
    """The rows of SOURCES.md's table, in order."""
    lines = (UPSTREAM / "SOURCES.md").read_text(encoding="utf-8").splitlines()
    table = [line for line in lines if line.startswith("| ")]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    return [
        dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        for line in table[1:]
    ]


SOURCES = _sources()
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load(
    (UPSTREAM / "expected.yaml").read_text(encoding="utf-8")
)


def _of_set(name: str) -> list[str]:
    return [row["file"] for row in SOURCES if EXPECTED[row["file"]]["set"] == name]


def _check(text: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["check", "-", *args], input=text)


def _split(spec: str) -> tuple[str, str | None]:
    rule, _, severity = spec.partition(":")
    return rule, severity or None


def _reports(findings: list[dict[str, Any]], spec: str) -> bool:
    rule, severity = _split(spec)
    return any(f["rule"] == rule and severity in (None, f["severity"]) for f in findings)


def _problems(expected: dict[str, Any], findings: list[dict[str, Any]]) -> list[str]:
    problems = [f"{spec} did not fire" for spec in expected["fire"] if not _reports(findings, spec)]
    problems += [f"{spec} fired" for spec in expected["quiet"] if _reports(findings, spec)]
    for group in expected.get("one_of", []):
        fired = [rule for rule in group if _reports(findings, rule)]
        if len(fired) != 1:
            problems.append(f"exactly one of {group} must fire, got {fired}")
    for text in expected.get("message", []):
        if not any(text in f["message"] for f in findings):
            problems.append(f"no finding names {text!r}")
    return problems


def _judge(name: str) -> None:
    expected = EXPECTED[name]
    text = (UPSTREAM / name).read_text(encoding="utf-8")
    result = _check(text, "--format", "json")
    assert "Traceback" not in result.output, result.output
    if expected["exit"] == 2:
        plain = _check(text)
        assert (result.exit_code, plain.exit_code) == (2, 2), result.output
        assert len(plain.stderr.splitlines()) == 1, plain.stderr
        assert "stdin" in plain.stderr, plain.stderr
        return
    findings = json.loads(result.stdout)["findings"]
    seen = sorted({f"{f['rule']}:{f['severity']}" for f in findings})
    problems = _problems(expected, findings)
    if result.exit_code != expected["exit"]:
        problems.append(f"exit {result.exit_code}, expected {expected['exit']}")
    assert not problems, f"{name}: {'; '.join(problems)} (findings: {seen}; {expected['why']})"


@pytest.mark.parametrize("name", _of_set("main"), ids=str)
def test_upstream_file(name: str) -> None:
    _judge(name)


@pytest.mark.parametrize("name", _of_set("held-out"), ids=str)
def test_held_out_file(name: str) -> None:
    _judge(name)


def test_corpus_is_whole_and_traceable() -> None:
    """Every file has its source (with the hash it was copied with) and a verdict that names
    only existing rules and never asks a rule both to fire and to stay quiet."""
    on_disk = sorted(p.name for p in UPSTREAM.glob("*.yaml") if p.name != "expected.yaml")
    listed = [row["file"] for row in SOURCES]
    assert sorted(listed) == on_disk and len(set(listed)) == len(listed)
    assert sorted(EXPECTED) == on_disk
    assert len(on_disk) >= 40
    known = set(all_rules())
    for row in SOURCES:
        data = (UPSTREAM / row["file"]).read_bytes()
        assert len(data) <= MAX_BYTES, row["file"]
        assert hashlib.sha256(data).hexdigest()[:16] == row["sha256 (first 16)"], row["file"]
        assert len(row["commit"]) == 40 and row["repository"].count("/") == 1, row
        verdict = EXPECTED[row["file"]]
        assert verdict["set"] in ("main", "held-out") and verdict["exit"] in (0, 1, 2)
        named = verdict["fire"] + verdict["quiet"] + sum(verdict.get("one_of", []), [])
        assert {_split(spec)[0] for spec in named} <= known, row["file"]
        assert not set(verdict["fire"]) & set(verdict["quiet"]), row["file"]
        for spec in verdict["fire"]:
            assert _split(spec)[0] not in verdict["quiet"], row["file"]
