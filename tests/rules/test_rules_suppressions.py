"""Suppressions (annotation and accounts.yaml) and their rule CAPA-R006, on the example repo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edit, line_of, of_rule, run_check
from rule_examples import Example, assert_example, examples

from capa_accounts.cli import main
from capa_accounts.hooks.check.suppress import parse_annotation
from capa_accounts.hooks.rules import all_rules

BASE_IDENTITY = "base/identity.yaml"
STAGING_IDENTITY = "overlays/staging/identity.yaml"
LIVE_IDENTITY = "overlays/live/identity.yaml"
HAND_WRITTEN = "platform/shared-identity.yaml"
POLICY_ARNS = "  policyARNs:\n    - arn:aws:iam::aws:policy/ReadOnlyAccess\n  allowedNamespaces:"
SELECTOR_IDENTITY = """\
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterRoleIdentity
metadata:
  name: {name}
  annotations:
    capa-accounts.dev/ignore: {value}
spec:
  roleARN: arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io
  sourceIdentityRef: {{kind: AWSClusterControllerIdentity, name: default}}
  allowedNamespaces:
    selector:
      matchLabels:
        team: staging
"""


def render(repo: Path) -> None:
    result = CliRunner().invoke(main, ["render", "--repo", str(repo)])
    assert result.exit_code == 0, result.output


def check_json(repo: Path) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(main, ["check", "--repo", str(repo), "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def base_policy_arns(repo: Path, annotation: str | None = None) -> None:
    """Give the base role identity `policyARNs` (T008 in every account), optionally annotated."""
    path = repo / BASE_IDENTITY
    edit(path, "  allowedNamespaces:", POLICY_ARNS)
    if annotation is not None:
        edit(
            path,
            "  name: account-identity\n",
            "  name: account-identity\n  annotations:\n"
            f"    capa-accounts.dev/ignore: {json.dumps(annotation)}\n",
        )
    render(repo)


def hand_written(repo: Path, value: str, name: str = "staging-shared") -> Path:
    path = repo / HAND_WRITTEN
    path.parent.mkdir(exist_ok=True)
    text = SELECTOR_IDENTITY.format(name=name, value=json.dumps(value))
    with path.open("a", encoding="utf-8") as out:
        out.write(("---\n" if path.stat().st_size else "") + text)
    return path


def add_suppress(repo: Path, account: str, entries: str) -> Path:
    accounts = repo / "accounts.yaml"
    anchor = f"    - name: {account}"
    text = accounts.read_text(encoding="utf-8")
    start = text.index(anchor)
    end = text.index('kubernetesVersion: "1.35"', start)
    end = text.index("\n", end) + 1
    accounts.write_text(text[:end] + entries + text[end:], encoding="utf-8")
    return accounts


# --- the pristine example ---------------------------------------------------------------------


def test_pristine_example_has_no_r006_and_nothing_suppressed(example_repo: Path) -> None:
    report = run_check(example_repo)
    assert of_rule(report, "CAPA-R006") == []
    assert report.suppressed == 0


# --- annotations ------------------------------------------------------------------------------


def test_base_annotation_suppresses_the_rule_in_every_account(example_repo: Path) -> None:
    base_policy_arns(example_repo, "CAPA-T008: session policies reviewed by security, SEC-12")
    rendered = (example_repo / STAGING_IDENTITY).read_text(encoding="utf-8")
    assert "capa-accounts.dev/ignore: 'CAPA-T008: session policies" in rendered
    code, out = check_json(example_repo)
    assert (code, out["findings"]) == (0, [])
    assert out["summary"]["suppressed"] == 2  # type: ignore[index]


def test_without_annotation_every_account_reports(example_repo: Path) -> None:
    base_policy_arns(example_repo)
    code, out = check_json(example_repo)
    assert code == 0  # T008 is a warning
    assert [(f["rule"], f["file"]) for f in out["findings"]] == [  # type: ignore[attr-defined]
        ("CAPA-T008", LIVE_IDENTITY),
        ("CAPA-T008", STAGING_IDENTITY),
    ]
    assert out["summary"]["suppressed"] == 0  # type: ignore[index]


def test_annotation_of_another_rule_suppresses_nothing(example_repo: Path) -> None:
    base_policy_arns(example_repo, "CAPA-I004: labels are set by the platform team")
    report = run_check(example_repo)
    assert len(of_rule(report, "CAPA-T008")) == 2
    assert report.suppressed == 0


def test_hand_written_annotation_suppresses_only_its_object(example_repo: Path) -> None:
    hand_written(example_repo, "CAPA-I004: only the platform team labels namespaces, see SEC-7")
    path = hand_written(example_repo, "CAPA-T008: unrelated", name="staging-other")
    report = run_check(example_repo)
    selectors = [
        n
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line == "    selector:"
    ]
    assert [
        (f.file, f.line, f.resource.name if f.resource else None)
        for f in of_rule(report, "CAPA-I004")
    ] == [(HAND_WRITTEN, selectors[1], "staging-other")]
    assert report.suppressed == 1


@pytest.mark.parametrize(
    "value",
    [
        "CAPA-I004: labels come from policy, see SEC-7, part 2, CAPA-T008: reviewed",
        "CAPA-T008: reviewed,CAPA-I004: labels come from policy",
        "  CAPA-I004 :  labels come from policy  ",
        "CAPA-I004: labels come from policy, ticket SEC-12, CAPA-T008: reviewed",
    ],
    ids=["reason-with-commas", "no-space-after-comma", "spaces-around", "ticket-id-in-reason"],
)
def test_annotation_lists_several_rules(example_repo: Path, value: str) -> None:
    hand_written(example_repo, value)
    report = run_check(example_repo)
    assert (of_rule(report, "CAPA-I004"), of_rule(report, "CAPA-R006")) == ([], [])
    assert report.suppressed == 1
    entries = parse_annotation(value, set(all_rules()))
    assert all(s.valid for s in entries) and "CAPA-I004" in {s.rule for s in entries}


# --- CAPA-R006 on annotations -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("CAPA-I004", "'CAPA-I004' has no reason"),
        ("CAPA-I004: ", "'CAPA-I004' has no reason"),
        ("CAPA-I004 labels come from policy", "'CAPA-I004' lacks the colon"),
        ("CAPA-Z999: no such rule", "names unknown rule 'CAPA-Z999'"),
        ("capa-i004: lower case", "(did you mean CAPA-I004?)"),
        ("CAPA-R006: hide my mistakes", "names CAPA-R006, which cannot be suppressed"),
        ("", "names no rule"),
    ],
    ids=[
        "no-reason",
        "empty-reason",
        "no-colon",
        "unknown-rule",
        "wrong-case",
        "r006-itself",
        "empty",
    ],
)
def test_r006_invalid_annotation_suppresses_nothing(
    example_repo: Path, value: str, says: str
) -> None:
    path = hand_written(example_repo, value)
    report = run_check(example_repo)
    found = of_rule(report, "CAPA-R006")
    column = len("    capa-accounts.dev/ignore: ") + 1
    assert [(f.file, f.line, f.column, f.severity) for f in found] == [
        (HAND_WRITTEN, line_of(path, "capa-accounts.dev/ignore"), column, "error")
    ]
    assert says in found[0].message and "suppresses nothing" in found[0].message
    assert len(of_rule(report, "CAPA-I004")) == 1  # an invalid suppression accepts nothing
    assert report.suppressed == 0
    assert report.exit_code(strict=False) == 1


def test_r006_only_the_invalid_entry_of_several(example_repo: Path) -> None:
    hand_written(example_repo, "CAPA-I004: labels come from policy, CAPA-Z999: typo")
    report = run_check(example_repo)
    assert ["CAPA-Z999" in f.message for f in of_rule(report, "CAPA-R006")] == [True]
    assert (of_rule(report, "CAPA-I004"), report.suppressed) == ([], 1)


def test_r006_in_base_is_reported_once_at_the_template(example_repo: Path) -> None:
    base_policy_arns(example_repo, "CAPA-T008")
    report = run_check(example_repo)
    base = example_repo / BASE_IDENTITY
    assert [(f.file, f.line) for f in of_rule(report, "CAPA-R006")] == [
        (BASE_IDENTITY, line_of(base, "capa-accounts.dev/ignore"))
    ]
    assert "render copies it into every account" in of_rule(report, "CAPA-R006")[0].message
    assert len(of_rule(report, "CAPA-T008")) == 2


# --- accounts.yaml suppress -------------------------------------------------------------------


def test_account_suppress_covers_only_that_account(example_repo: Path) -> None:
    add_suppress(
        example_repo,
        "staging",
        "      suppress:\n        - rule: CAPA-T008\n"
        "          reason: staging experiments with session policies\n",
    )
    base_policy_arns(example_repo)
    code, out = check_json(example_repo)
    assert [(f["rule"], f["file"]) for f in out["findings"]] == [  # type: ignore[attr-defined]
        ("CAPA-T008", LIVE_IDENTITY)
    ]
    assert (code, out["summary"]["suppressed"]) == (0, 1)  # type: ignore[index]


def test_account_suppress_covers_its_accounts_yaml_entry(example_repo: Path) -> None:
    accounts = add_suppress(
        example_repo,
        "staging",
        "      iamRoleCreation: true\n"
        "      suppress: [{rule: CAPA-T009, reason: EKSEnableIAM is on}]\n",
    )
    add_suppress(example_repo, "live", "      iamRoleCreation: true\n")
    render(example_repo)
    report = run_check(example_repo)
    live_entry = accounts.read_text(encoding="utf-8").split("- name: live")[1]
    assert "iamRoleCreation: true" in live_entry
    assert [(f.file, f.line) for f in of_rule(report, "CAPA-T009")] == [
        ("accounts.yaml", line_of(accounts, "- name: live") + 4)
    ]
    assert report.suppressed == 1


@pytest.mark.parametrize(
    ("entry", "field", "says"),
    [
        ("{rule: CAPA-Z999, reason: typo}", "rule: CAPA-Z999", "names unknown rule 'CAPA-Z999'"),
        ("{rule: CAPA-T008, reason: '  '}", "reason: '  '", "'CAPA-T008' has no reason"),
        ("{rule: CAPA-R006, reason: quiet}", "rule: CAPA-R006", "cannot be suppressed"),
    ],
    ids=["unknown-rule", "blank-reason", "r006-itself"],
)
def test_r006_invalid_account_suppress(
    example_repo: Path, entry: str, field: str, says: str
) -> None:
    accounts = add_suppress(example_repo, "staging", f"      suppress: [{entry}]\n")
    base_policy_arns(example_repo)
    report = run_check(example_repo)
    found = of_rule(report, "CAPA-R006")
    line = line_of(accounts, "suppress: [")
    key = field.split(": ")[0]
    column = accounts.read_text(encoding="utf-8").splitlines()[line - 1].index(field) + 1
    column += len(f"{key}: ")  # at the value
    assert [(f.file, f.line, f.column) for f in found] == [("accounts.yaml", line, column)]
    assert says in found[0].message and "account 'staging'" in found[0].message
    assert len(of_rule(report, "CAPA-T008")) == 2  # suppresses nothing
    assert report.suppressed == 0


def test_account_suppress_without_reason_is_an_input_error(example_repo: Path) -> None:
    # The schema of accounts.yaml requires `reason`: a form error, exit 2 with file and line.
    accounts = add_suppress(example_repo, "staging", "      suppress: [{rule: CAPA-T008}]\n")
    result = CliRunner().invoke(main, ["check", "--repo", str(example_repo)])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"capa-accounts: accounts.yaml:{line_of(accounts, 'suppress:')}:"
    )
    assert "reason" in result.stderr and "Traceback" not in result.output


# --- a small bad and good example of each rule (tests/data/rules/suppressions/) -------------------


@pytest.mark.parametrize("example", examples("suppressions"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)
