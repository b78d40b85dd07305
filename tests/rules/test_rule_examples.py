"""Every rule of every family has a small bad and a small good example
(tests/data/rules/<family>/{bad,good}/<RULE>.yaml), and its family's test file runs them."""

from __future__ import annotations

import pytest
from rule_examples import DATA, examples, family_rules

from capa_accounts.hooks.rules import FAMILIES

ROOM = DATA.parents[1] / "rules"


@pytest.mark.parametrize("family", FAMILIES)
def test_every_rule_of_the_family_has_a_bad_and_a_good_example(family: str) -> None:
    rules = family_rules()[family]
    for verdict in ("bad", "good"):
        have = {e.rule for e in examples(family) if e.verdict == verdict}
        assert have == rules, (family, verdict, sorted(rules ^ have))


@pytest.mark.parametrize("family", FAMILIES)
def test_the_familys_test_file_runs_its_examples(family: str) -> None:
    path = ROOM / f"test_rules_{family}.py"
    assert path.is_file(), path
    assert f'examples("{family}")' in path.read_text(encoding="utf-8"), path


def test_no_example_lies_outside_a_family() -> None:
    """The near miss of a forgotten example: a folder named after no family, or a file named
    after no rule, would never run."""
    known = family_rules()
    for folder in DATA.iterdir():
        assert folder.name in known, folder
        for path in folder.glob("*/*.yaml"):
            assert path.parent.name in ("bad", "good") and path.stem in known[folder.name], path
