"""The guide this tool automates, checked as a hand-written repository (no accounts.yaml).

Every finding here is explained in docs/capa-facts.md ("The seed guide, checked").
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import PROJECT, run_check

SEED = PROJECT / "tests" / "data" / "seed"

EXPECTED = {
    # clusterawsadm drops unknown keys: `disabled` is not `disable`, the line does nothing,
    # and `disable` defaults to false anyway: a warning with the field to write.
    ("CAPA-R004", "bootstrap-target-live.yaml", 8),
    ("CAPA-R004", "bootstrap-target-staging.yaml", 8),
    # iamRoleCreation: true lets the controllers create any role; only EKSEnableIAM needs it.
    ("CAPA-T009", "bootstrap-target-live.yaml", 19),
    ("CAPA-T009", "bootstrap-target-staging.yaml", 19),
    # The guide never creates `default`, and CAPA does not create it for role identities.
    ("CAPA-I006", "identities.yaml", 11),
    ("CAPA-I006", "identities.yaml", 24),
    # The operator alternative: long-lived keys (warning), aws-staging without fetchConfig,
    # `watch-filter` without `--`, and `env=staging` is not a label value.
    ("CAPA-O004", "operator-provider.yaml", 4),
    ("CAPA-O003", "operator-provider.yaml", 6),
    ("CAPA-O002", "operator-provider.yaml", 14),
}


def test_every_finding_on_the_seed_guide_is_the_expected_one(tmp_path: Path) -> None:
    repo = tmp_path / "seed"
    shutil.copytree(SEED, repo)
    report = run_check(repo)
    assert {(f.rule, f.file, f.line) for f in report.findings} == EXPECTED
    assert report.errors == 5 and report.warnings == 5
    r004 = [f for f in report.findings if f.rule == "CAPA-R004"]
    assert {f.severity for f in r004} == {"warning"} and "did you mean 'disable'" in r004[0].message
