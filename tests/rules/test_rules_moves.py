"""The move rule CAPA-D006 (with --base): an existing account's accountId, partition or role
name changed, on real git repositories."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import edit, line_of, of_rule, run_check
from gitrepo import commit, rerender
from rule_examples import Example, assert_example, examples

LIVE_ROLE = "arn:aws:iam::333333333333:role/controllers.cluster-api-provider-aws.sigs.k8s.io"


# --- CAPA-D006: an account moves to another AWS account ---------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "what"),
    [
        (
            '      accountId: "222222222222"',
            '      accountId: "444444444444"',
            'accountId: "444',
            "accountId of account 'staging' changed from '222222222222'",
        ),
        (
            "  management:\n",
            "  partition: aws-us-gov\n  management:\n",
            "partition: aws-us-gov",
            "partition of account 'staging' changed from 'aws'",
        ),
        (
            "      region: eu-west-1\n",
            "      region: eu-west-1\n      nameSuffix: .other\n",
            "nameSuffix: .other",
            "role name of account 'staging' changed from "
            "'controllers.cluster-api-provider-aws.sigs.k8s.io' at HEAD to 'controllers.other'",
        ),
    ],
    ids=["account-id", "partition", "role-name"],
)
def test_d006_an_account_moves(
    committed: Path,
    old: str,
    new: str,
    key: str,
    what: str,
) -> None:
    edit(committed / "accounts.yaml", old, new)
    if "partition" in key:  # GovCloud has its own regions (core/regions.py)
        edit(committed / "accounts.yaml", "region: eu-west-1", "region: us-gov-west-1", 2)
    rerender(committed)
    found = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D006")
    line = line_of(committed / "accounts.yaml", key)
    hit = next(f for f in found if "'staging'" in f.message)
    assert (hit.file, hit.line, hit.severity) == ("accounts.yaml", line, "error")
    assert what in hit.message
    assert "staging-identity" in hit.message
    # A set-wide partition moves every account; the other edits move staging alone.
    assert len(found) == (2 if "partition" in key else 1)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "      region: eu-west-1\n",
            "      region: eu-west-1\n      sessionName: capa-staging-2\n",
        ),
        (
            "    - name: live\n",
            '    - name: qa\n      accountId: "444444444444"\n'
            '      region: eu-west-1\n      kubernetesVersion: "1.35"\n    - name: live\n',
        ),
    ],
    ids=["session-name", "new-account"],
)
def test_d006_near_miss(committed: Path, old: str, new: str) -> None:
    edit(committed / "accounts.yaml", old, new)
    rerender(committed)
    assert of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D006") == []


def test_d006_without_accounts_yaml_compares_role_arns(committed: Path) -> None:
    (committed / "accounts.yaml").unlink()
    shutil.rmtree(committed / "base")
    commit(committed, "hand-written")
    identity = committed / "overlays/live/identity.yaml"
    edit(identity, "333333333333", "444444444444")
    found = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D006")
    assert [(f.file, f.line) for f in found] == [
        ("overlays/live/identity.yaml", line_of(identity, "roleARN"))
    ]
    edit(identity, "444444444444", "333333333333")
    assert of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D006") == []


# --- a small bad and good example of each rule (tests/data/rules/moves/) --------------------------


@pytest.mark.parametrize("example", examples("moves"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)
