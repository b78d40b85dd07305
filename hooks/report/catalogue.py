"""``capa-accounts rules``: the rule catalogue as a list, for people and for scripts.

Text is one line per rule (ID, severity, title; change-aware rules marked ``--base``); JSON is a
list of objects with the ID, the short name SARIF uses, the severity, the title, the family (the
module of ``hooks/rules/``), whether the rule needs ``--base``, and the rule's documentation page.
"""

from __future__ import annotations

import json
from typing import Any

from capa_accounts.hooks.report import rule_pages
from capa_accounts.hooks.report.explain import title
from capa_accounts.hooks.rules import all_rules


def entries() -> list[dict[str, Any]]:
    return [
        {
            "id": rule.id,
            "name": rule.name,
            "severity": rule.severity,
            "title": title(rule),
            "family": rule_pages.family(rule),
            "changeAware": rule.change_aware,
            "helpUri": rule_pages.help_uri(rule),
        }
        for rule in all_rules().values()
    ]


def render(fmt: str) -> str:
    rows = entries()
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    width = max(len(r["severity"]) for r in rows)
    lines = []
    for r in rows:
        scope = "(--base) " if r["changeAware"] and "--base" not in r["title"] else ""
        lines.append(f"{r['id']}  {r['severity']:<{width}}  {scope}{r['title']}")
    return "\n".join(lines) + "\n"
