"""Repository-wide rule settings (`spec.check.rules` in accounts.yaml) and stale suppressions
(CAPA-R012)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import edit, line_of, of_rule, run_check
from test_rules_suppressions import add_suppress, base_policy_arns, check_json, hand_written

from capa_accounts.core.accounts_file import load_account_set
from capa_accounts.core.errors import CapaAccountsError

CHECK = "  accounts:\n"


def settings(repo: Path, entries: str) -> Path:
    """Put `check: {rules: ...}` before `accounts:` in the example's accounts.yaml."""
    path = repo / "accounts.yaml"
    edit(path, CHECK, "  check:\n    rules:\n" + entries + CHECK)
    return path


T008_IGNORE = (
    "      - rule: CAPA-T008\n        severity: ignore\n"
    "        reason: session policies are reviewed by security (SEC-12)\n"
)


def test_ignore_turns_a_rule_off_for_every_account(example_repo: Path) -> None:
    settings(example_repo, T008_IGNORE)
    base_policy_arns(example_repo)
    code, out = check_json(example_repo)
    assert (code, out["findings"]) == (0, [])
    assert out["summary"]["suppressed"] == 2  # type: ignore[index]


def test_near_miss_without_the_setting_every_account_reports(example_repo: Path) -> None:
    base_policy_arns(example_repo)
    assert len(of_rule(run_check(example_repo), "CAPA-T008")) == 2


@pytest.mark.parametrize("severity", ["error", "warning"])
def test_severity_changes_what_a_finding_weighs(example_repo: Path, severity: str) -> None:
    settings(
        example_repo,
        f"      - rule: CAPA-T008\n        severity: {severity}\n"
        "        reason: session policies must be reviewed before merge\n",
    )
    base_policy_arns(example_repo)
    report = run_check(example_repo)
    assert {f.severity for f in of_rule(report, "CAPA-T008")} == {severity}
    assert report.exit_code(strict=False) == (1 if severity == "error" else 0)


@pytest.mark.parametrize(
    ("entry", "field", "says"),
    [
        ("rule: CAPA-T999, severity: ignore, reason: x", "rule", "unknown rule 'CAPA-T999'"),
        ("rule: CAPA-T008, severity: ignore, reason: '  '", "reason", "has no reason"),
        ("rule: CAPA-R006, severity: ignore, reason: noisy", "rule", "cannot be suppressed"),
    ],
    ids=["unknown-rule", "blank-reason", "unsuppressible"],
)
def test_a_bad_setting_is_a_finding_and_changes_nothing(
    example_repo: Path, entry: str, field: str, says: str
) -> None:
    path = settings(example_repo, f"      - {{{entry}}}\n")
    base_policy_arns(example_repo)
    report = run_check(example_repo)
    (bad,) = of_rule(report, "CAPA-R006")
    assert (bad.file, bad.line) == ("accounts.yaml", line_of(path, "      - {rule: CAPA-"))
    assert says in bad.message and "changes nothing" in bad.message
    assert len(of_rule(report, "CAPA-T008")) == 2


def test_a_setting_without_reason_is_an_input_error(example_repo: Path) -> None:
    settings(example_repo, "      - {rule: CAPA-T008, severity: ignore}\n")
    with pytest.raises(CapaAccountsError, match="reason"):
        load_account_set(example_repo)


def test_stale_setting_is_a_warning_at_its_entry(example_repo: Path) -> None:
    path = settings(example_repo, T008_IGNORE)  # no identity has policyARNs
    report = run_check(example_repo)
    (stale,) = of_rule(report, "CAPA-R012")
    assert stale.severity == "warning" and report.exit_code(strict=False) == 0
    assert (stale.file, stale.line) == ("accounts.yaml", line_of(path, "- rule: CAPA-T008"))
    assert "CAPA-T008 reported nothing" in stale.message


def test_stale_account_suppression_is_a_warning(example_repo: Path) -> None:
    accounts = add_suppress(
        example_repo,
        "staging",
        "      suppress:\n        - rule: CAPA-T008\n          reason: session policies\n",
    )
    (stale,) = of_rule(run_check(example_repo), "CAPA-R012")
    assert (stale.file, stale.line) == ("accounts.yaml", line_of(accounts, "- rule: CAPA-T008"))
    base_policy_arns(example_repo)  # the near miss: now it accepts staging's finding
    assert of_rule(run_check(example_repo), "CAPA-R012") == []


def test_stale_hand_written_annotation_is_a_warning(example_repo: Path) -> None:
    path = hand_written(example_repo, "CAPA-T008: session policies reviewed")  # no policyARNs
    (stale,) = of_rule(run_check(example_repo), "CAPA-R012")
    assert (stale.file, stale.line) == (
        path.relative_to(example_repo).as_posix(),
        line_of(path, "capa-accounts.dev/ignore"),
    )


def test_change_aware_suppressions_are_not_stale_without_base(example_repo: Path) -> None:
    settings(example_repo, "      - {rule: CAPA-D004, severity: warning, reason: reviewed}\n")
    assert of_rule(run_check(example_repo), "CAPA-R012") == []
