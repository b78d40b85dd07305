"""``--format gitlab``: a GitLab Code Quality report."""

from __future__ import annotations

import hashlib
import json

from capa_accounts.hooks.check.engine import Report

# GitLab's severities (docs.gitlab.com, ci/testing/code_quality, "Code Quality report format").
_GITLAB_SEVERITY = {"error": "major", "warning": "minor"}


def gitlab(report: Report) -> str:
    """A Code Quality report: a JSON array, one issue per finding, each with a fingerprint that
    is unique in the report (GitLab shows only the first issue of a fingerprint)."""
    issues = []
    for f in report.findings:
        key = "\0".join((f.rule, f.file, str(f.line), str(f.column), f.message))
        issues.append(
            {
                "description": f"[{f.rule}] {f.message}",
                "check_name": f.rule,
                "fingerprint": hashlib.sha256(key.encode()).hexdigest(),
                "severity": _GITLAB_SEVERITY[f.severity],
                "location": {"path": f.file, "lines": {"begin": f.line}},
            }
        )
    return json.dumps(issues, indent=2) + "\n"
