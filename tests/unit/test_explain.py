"""`capa-accounts explain RULE` and the documentation's rule table, both from the rule registry."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PROJECT

from capa_accounts.cli import main
from capa_accounts.hooks.report.explain import explain
from capa_accounts.hooks.report.rule_pages import END, START, family, rule_table
from capa_accounts.hooks.rules import Rule, all_rules

runner = CliRunner()
RULES = all_rules()
SECTIONS = ("Why", "Bad", "Good", "Fix")


@pytest.mark.parametrize(
    "spelling",
    ["CAPA-I002", "I002", "i002", " capa-i002 ", "I2"],
    ids=["full", "short", "lower", "padded", "unpadded"],
)
def test_explain_accepts_every_spelling(spelling: str) -> None:
    result = runner.invoke(main, ["explain", spelling])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "CAPA-I002 (error): `allowedNamespaces` admits every namespace: `{}`, "
        "`{list: null}`, `{selector: {}}`."
    )
    headings = [line for line in lines if line in SECTIONS]
    assert headings == list(SECTIONS)


def test_explain_shows_the_examples_and_the_upstream_reference() -> None:
    text = explain("I002")
    why, bad, good, fix = (text.index(f"\n{s}\n") for s in SECTIONS)
    assert why < bad < good < fix
    assert "pkg/cloud/scope/session.go" in text[why:bad]  # the CAPA behaviour behind it
    assert "\n    allowedNamespaces: {selector: {}}\n" in text[bad:good]  # code indented
    assert "\n    allowedNamespaces: {list: [staging]}\n" in text[good:fix]
    assert 'capa-accounts.dev/ignore: "CAPA-I002: <reason>"' in text


def test_explain_keeps_a_qualified_example_heading() -> None:
    # D001's example is "Bad (at REF ..., now):": the qualifier stays in the heading.
    text = explain("CAPA-D001")
    assert "\nBad (at REF `staging-identity`, now)\n    identityRef:" in text
    assert "Runs only with `capa-accounts check --base REF`" in text


@pytest.mark.parametrize("rule", list(RULES.values()), ids=list(RULES))
def test_every_rule_explains_itself(rule: Rule) -> None:
    """Each docstring has the four sections explain prints, and a title that is not the ID."""
    missing = [s for s in SECTIONS if not re.search(rf"^{s}( \([^)]*\))?::?(\s|$)", rule.doc, re.M)]
    assert not missing, f"{rule.id}'s docstring lacks {', '.join(missing)}"
    assert not rule.title.startswith(rule.id), f"{rule.id}'s first line repeats its ID"
    first = explain(rule.id).splitlines()[0]
    assert first == f"{rule.id} ({rule.severity}): {rule.title}".replace("``", "`")


@pytest.mark.parametrize(
    "given,hint",
    [
        ("CAPA-T099", "; did you mean CAPA-T009?"),
        ("allowedNamespaces", "; rules about it: "),
        ("zz", ": rule IDs look like CAPA-I002"),
    ],
    ids=["close-id", "topic", "nonsense"],
)
def test_unknown_rule_is_one_line_and_exit_2(given: str, hint: str) -> None:
    result = runner.invoke(main, ["explain", given])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"capa-accounts: unknown rule {given!r}{hint}")
    assert "Traceback" not in result.stderr


def test_rule_table_has_one_row_per_rule() -> None:
    rows = rule_table().splitlines()
    assert rows[:2] == ["| ID | severity | fires when |", "|---|---|---|"]
    cells = [re.split(r"(?<!\\)\|", row)[1:-1] for row in rows[2:]]
    links = [
        re.fullmatch(r"\[(CAPA-[A-Z]\d{3})\]\((\w+)\.md#(capa-[a-z]\d{3})\)", c[0].strip())
        for c in cells
    ]
    assert all(links), cells
    assert [m[1] for m in links if m] == list(RULES)
    for m in links:
        assert m and m[2] == family(RULES[m[1]]) and m[3] == m[1].lower()
    for rule_id, severity, when in cells:
        rule = RULES[rule_id.strip().split("]")[0][1:]]
        assert severity.strip() == rule.severity
        assert when.strip()
        assert ("--base" in when) == rule.change_aware


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "capa_accounts.hooks.report.rule_pages", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.e2e  # python -m as a subprocess
def test_rule_pages_entry_rewrites_only_the_table_block(tmp_path: Path) -> None:
    index = tmp_path / "rules" / "index.md"
    index.parent.mkdir()
    before, after = "# Title\n\nThe rules:\n\n", "\n\n## Next\n\nText.\n"
    index.write_text(f"{before}{START}\n| stale |\n{END}{after}", encoding="utf-8")
    result = run_module("--docs", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"{index}: written" in result.stdout.splitlines()
    assert index.read_text(encoding="utf-8") == f"{before}{START}\n{rule_table()}{END}{after}"
    again = run_module("--docs", str(tmp_path), "--check")
    assert again.returncode == 0 and again.stdout == ""


@pytest.mark.e2e  # python -m as a subprocess
def test_rule_pages_entry_without_markers_changes_nothing(tmp_path: Path) -> None:
    index = tmp_path / "rules" / "index.md"
    index.parent.mkdir()
    index.write_text("# Title\n\nNo table here.\n", encoding="utf-8")
    result = run_module("--docs", str(tmp_path))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and START in result.stderr
    assert index.read_text(encoding="utf-8") == "# Title\n\nNo table here.\n"
    assert sorted(p.name for p in index.parent.iterdir()) == ["index.md"]
