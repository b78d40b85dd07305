"""Session rules CAPA-T006 … T011; here the values STS rejects although the CRDs accept them:
CAPA-T011 (sessionName, externalID, inlinePolicy of a role identity), at the line. T006 … T010
are tested with the trust chain they qualify (test_rules_trust.py's tables)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import edit, line_of, of_rule, run_check
from rule_examples import Example, assert_example, examples

IDENTITY = "overlays/staging/identity.yaml"
SESSION = "  sessionName: capa-staging\n"


def found(repo: Path, rule: str) -> list[tuple[str, int]]:
    return [(f.file, f.line) for f in of_rule(run_check(repo), rule)]


@pytest.mark.parametrize(
    ("line", "fires"),
    [
        ("  sessionName: capa staging\n", True),  # a space
        ("  sessionName: x\n", True),  # one character: STS wants 2
        (f"  sessionName: {'a' * 65}\n", True),  # 65 characters
        ("  sessionName: capa/staging\n", True),  # '/' is not in [\w+=,.@-]
        ("  sessionName: capä-staging\n", True),  # \w is ASCII for STS
        ("  sessionName: capa+=,.@_-staging\n", False),
        (f"  sessionName: {'a' * 64}\n", False),
        ("  sessionName: ab\n", False),
        ("  sessionName: ''\n", False),  # empty: not sent, the SDK picks one
        ("  externalID: 'capa staging'\n", True),
        ("  externalID: urn:capa/staging:1\n", False),  # ':' and '/' are allowed in ExternalId
    ],
    ids=[
        "space",
        "too-short",
        "too-long",
        "slash",
        "non-ascii",
        "every-allowed-char",
        "64-chars",
        "2-chars",
        "empty",
        "external-id-space",
        "external-id-colon-slash",
    ],
)
def test_t011_session_name_and_external_id(example_repo: Path, line: str, fires: bool) -> None:
    path = example_repo / IDENTITY
    edit(path, SESSION, line)
    key = line.split(":")[0].strip()
    expected = [(IDENTITY, line_of(path, f"{key}:"))] if fires else []
    assert found(example_repo, "CAPA-T011") == expected


GOOD_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}],
}


@pytest.mark.parametrize(
    ("policy", "fires"),
    [
        ("Statement: [{Effect: Allow}]", True),  # YAML, not JSON
        ('{"Version": "2012-10-17"}', True),  # no Statement
        ('["not", "a", "policy"]', True),
        ('{"Statement": []}', True),
        ('{"Statement": [{"Effect": "Allow"}], }', True),  # trailing comma
        (json.dumps({**GOOD_POLICY, "Pad": "x" * 2048}), True),  # above 2,048 characters
        (json.dumps(GOOD_POLICY), False),
        ('{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}', False),
    ],
    ids=[
        "yaml",
        "no-statement",
        "list",
        "empty-statement",
        "trailing-comma",
        "too-long",
        "valid",
        "single-statement-object",
    ],
)
def test_t011_inline_policy(example_repo: Path, policy: str, fires: bool) -> None:
    path = example_repo / IDENTITY
    edit(path, SESSION, SESSION + f"  inlinePolicy: {json.dumps(policy)}\n")
    expected = [(IDENTITY, line_of(path, "inlinePolicy:"))] if fires else []
    assert found(example_repo, "CAPA-T011") == expected


# --- a small bad and good example of each rule (tests/data/rules/sessions/) -----------------------


@pytest.mark.parametrize("example", examples("sessions"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)
