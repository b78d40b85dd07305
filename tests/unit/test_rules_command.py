"""`capa-accounts rules`: every rule with its ID, severity and title, as text or JSON, each
with the short name SARIF uses and its page on the documentation site."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner
from conftest import PROJECT

from capa_accounts.cli import main
from capa_accounts.core import version
from capa_accounts.hooks.rules import all_rules

runner = CliRunner()
RULES = all_rules()


def test_rules_lists_every_rule_with_severity_and_title() -> None:
    result = runner.invoke(main, ["rules"])
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(RULES)
    for line, rule in zip(lines, RULES.values(), strict=True):
        rule_id, severity, title = re.split(r"\s{2,}", line, maxsplit=2)
        assert (rule_id, severity) == (rule.id, rule.severity)
        assert title.removeprefix("(--base) ") in rule.title
        assert ("--base" in title) == rule.change_aware
    assert re.search(
        r"^CAPA-I004  warning  `allowedNamespaces` uses a label selector", result.stdout, re.M
    )


def test_rules_as_json_names_each_rule_and_its_page() -> None:
    result = runner.invoke(main, ["rules", "--format", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [row["id"] for row in rows] == list(RULES)
    base = version.documentation_url()
    assert base == "https://capa-accounts.github.io/capa-accounts/"
    for row in rows:
        rule = RULES[row["id"]]
        assert set(row) == {"id", "name", "severity", "title", "family", "changeAware", "helpUri"}
        assert (row["severity"], row["changeAware"]) == (rule.severity, rule.change_aware)
        page = PROJECT / "docs" / "rules" / f"{row['family']}.md"
        assert row["helpUri"] == f"{base}rules/{row['family']}/#{row['id'].lower()}"
        assert f"## {row['id']} {{ #{row['id'].lower()} }}" in page.read_text(encoding="utf-8")
    assert rows[0]["family"] == "controlplanes" and rows[0]["name"] == "MissingIdentityRef"


def test_every_rule_has_a_short_unique_name() -> None:
    """SARIF's rule name: a short CamelCase identifier, given with `@rule(..., name=...)`."""
    names = [rule.name for rule in RULES.values()]
    missing = [rule.id for rule in RULES.values() if not rule.name]
    assert missing == [], "give these rules a name: @rule(ID, severity, name=...)"
    assert len(set(names)) == len(names)
    for name in names:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]{2,39}", name), name


def test_rules_refuses_an_unknown_format() -> None:
    result = runner.invoke(main, ["rules", "--format", "yaml"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "'yaml' is not one of 'text', 'json'" in result.stderr
