"""accounts.schema.json: made from the schema the CLI validates with, strict, kept in sync by
render, and every error of accounts.yaml reported in one run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from conftest import edit, of_rule, run_check

from capa_accounts.cli import main
from capa_accounts.core.accounts_file import load_account_set
from capa_accounts.core.errors import CapaAccountsError
from capa_accounts.core.schema import published


def editor_errors(repo: Path) -> list[jsonschema.ValidationError]:
    """What yaml-language-server reports: accounts.yaml against the file it names."""
    schema = json.loads((repo / "accounts.schema.json").read_text(encoding="utf-8"))
    data = yaml.safe_load((repo / "accounts.yaml").read_text(encoding="utf-8"))
    return list(jsonschema.Draft202012Validator(schema).iter_errors(data))


def cli_refuses(repo: Path) -> bool:
    try:
        load_account_set(repo)
    except CapaAccountsError:
        return True
    return False


def test_the_example_is_valid_for_both(example_repo: Path) -> None:
    assert editor_errors(example_repo) == [] and not cli_refuses(example_repo)


MUTATIONS = [
    ('accountId: "222222222222"', 'acountId: "222222222222"'),  # misspelt key in an account
    ("principal: controllersRole", "principal: controllersRole\n    princpal: x"),
    ("credentials: roleIdentity", "credentials: roleIdentity\n  partiton: aws"),
    ("metadata:\n  name: platform", "metadata:\n  name: platform\n  lables: {}"),
    (
        "  accounts:\n",
        "  check:\n    rules:\n      - {rule: CAPA-T008, severity: ignore, reason: r, x: 1}\n"
        "  accounts:\n",
    ),
]


@pytest.mark.parametrize(
    "old_new", MUTATIONS, ids=["account", "management", "spec", "meta", "rules"]
)
def test_editor_underlines_every_unknown_key_the_cli_refuses(
    example_repo: Path, old_new: tuple[str, str]
) -> None:
    edit(example_repo / "accounts.yaml", *old_new)
    assert cli_refuses(example_repo)
    errors = editor_errors(example_repo)
    assert errors and any(e.validator == "additionalProperties" for e in errors), errors


def test_near_miss_a_valid_rules_entry_passes_both(example_repo: Path) -> None:
    edit(
        example_repo / "accounts.yaml",
        "  accounts:\n",
        "  check:\n    rules:\n      - {rule: CAPA-T008, severity: ignore, reason: r}\n"
        "  accounts:\n",
    )
    assert editor_errors(example_repo) == [] and not cli_refuses(example_repo)


def test_schema_command_prints_the_published_file(example_repo: Path) -> None:
    result = CliRunner().invoke(main, ["schema", "accountset"])
    assert result.stdout == (example_repo / "accounts.schema.json").read_text(encoding="utf-8")
    assert result.stdout == published.text()


def _loosen(text: str) -> str:
    schema: Any = json.loads(text)
    del schema["properties"]["spec"]["additionalProperties"]
    return json.dumps(schema, indent=2) + "\n"


@pytest.mark.parametrize(
    "replace",
    [_loosen, lambda _text: '{"type": "object"}\n'],
    ids=["stale", "replaced"],
)
def test_a_stale_or_replaced_schema_is_drift_and_render_restores_it(
    example_repo: Path, replace: Any
) -> None:
    path = example_repo / "accounts.schema.json"
    path.write_text(replace(path.read_text(encoding="utf-8")), encoding="utf-8")
    (drift,) = of_rule(run_check(example_repo), "CAPA-R001")
    assert drift.file == "accounts.schema.json"
    result = CliRunner().invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 0 and "accounts.schema.json" in result.stdout
    assert path.read_text(encoding="utf-8") == published.text()
    assert of_rule(run_check(example_repo), "CAPA-R001") == []


def test_every_error_of_accounts_yaml_in_one_run(example_repo: Path) -> None:
    path = example_repo / "accounts.yaml"
    edit(path, 'accountId: "222222222222"', 'acountId: "222222222222"')
    edit(path, 'accountId: "333333333333"', "accountId: 333333333333")
    edit(path, "region: eu-west-1", "regoin: eu-west-1", count=2)
    result = CliRunner().invoke(main, ["check", "--repo", str(example_repo)])
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and "Traceback" not in result.output
    text = path.read_text(encoding="utf-8").splitlines()
    wrong = [str(n) for n, line in enumerate(text, 1) if re.search("acountId|Id: 3|regoin", line)]
    assert [line.split(": ", 2)[1].split(":")[1] for line in lines] == wrong
    assert len(wrong) == 4
    assert "unknown field 'acountId'" in lines[0] and "quote it" in lines[2]
    assert "missing required field 'accountId'" not in result.stderr  # the misspelling says it
