"""Values STS and EKS reject although the CRDs accept them: CAPA-T011 (sessionName, externalID,
inlinePolicy of a role identity) and CAPA-C008 (eksClusterName), at the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import edit, line_of, of_rule, run_check

IDENTITY = "overlays/staging/identity.yaml"
CLUSTER = "overlays/staging/cluster-staging.yaml"
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


@pytest.mark.parametrize(
    ("name", "fires"),
    [
        ("staging.eu-west-1", True),
        ("-staging", True),
        ("_staging", True),
        ("staging eu", True),
        ("a" * 101, True),
        ("a" * 100, False),
        ("Staging_EU-1", False),
        ("1staging", False),
        ("''", False),  # empty: CAPA derives one
    ],
    ids=[
        "dot",
        "leading-dash",
        "leading-underscore",
        "space",
        "101-chars",
        "100-chars",
        "mixed",
        "leading-digit",
        "empty",
    ],
)
def test_c008_eks_cluster_name(example_repo: Path, name: str, fires: bool) -> None:
    path = example_repo / CLUSTER
    edit(path, "  eksClusterName: staging\n", f"  eksClusterName: {name}\n")
    expected = [(CLUSTER, line_of(path, "eksClusterName:"))] if fires else []
    assert found(example_repo, "CAPA-C008") == expected
