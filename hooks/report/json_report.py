"""``--format json``: every finding as an object, and the summary's counts (the module is not
named ``json``, which would shadow the standard library's inside this package)."""

from __future__ import annotations

import json

from capa_accounts.hooks.check.engine import Report


def as_json(report: Report) -> str:
    return (
        json.dumps(
            {"findings": [f.to_json() for f in report.findings], "summary": report.summary()},
            indent=2,
        )
        + "\n"
    )
