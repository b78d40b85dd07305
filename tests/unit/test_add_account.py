"""add-account: a new entry in accounts.yaml (comments and layout kept), then render."""

from __future__ import annotations

import difflib
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import edit
from kustomize_tools import flux_build

from capa_accounts.cli import main
from capa_accounts.core.accounts_file import load_account_set

runner = CliRunner()
QA_LINES = [
    "    - name: qa\n",
    '      accountId: "444444444444"\n',
    "      region: eu-central-1\n",
    '      kubernetesVersion: "1.35"\n',
]


def add(repo: Path, *args: str) -> Result:
    return runner.invoke(main, ["add-account", *args, "--repo", str(repo)])


def namespaces(built: list[dict]) -> dict[str, set[str | None]]:
    """Where the overlay puts things: the Namespace it creates, and the namespaces objects use."""
    return {
        "created": {i["metadata"]["name"] for i in built if i["kind"] == "Namespace"},
        "used": {
            i["metadata"].get("namespace")
            for i in built
            if i["kind"] not in ("Namespace", "AWSClusterRoleIdentity")
        },
        "admitted": {
            ns
            for i in built
            if i["kind"] == "AWSClusterRoleIdentity"
            for ns in i["spec"]["allowedNamespaces"]["list"]
        },
    }


def snapshot(repo: Path) -> dict[str, bytes]:
    return {
        p.relative_to(repo).as_posix(): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file()
    }


def added_lines(old: str, new: str) -> list[str]:
    """The lines ``new`` adds to ``old``; fails when any line of ``old`` changed or went away."""
    diff = list(difflib.ndiff(old.splitlines(True), new.splitlines(True)))
    assert not [d for d in diff if d.startswith("- ")], "".join(diff)
    return [d[2:] for d in diff if d.startswith("+ ")]


@pytest.mark.e2e  # a real kustomize builds it
def test_added_account_keeps_the_file_and_renders_an_overlay_flux_builds(
    example_repo: Path,
) -> None:
    accounts = example_repo / "accounts.yaml"
    before = accounts.read_text()
    result = add(example_repo, "qa", "--account-id", "444444444444", "--region", "eu-central-1")
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.splitlines()[0] == "added account qa (444444444444, eu-central-1, "
        "Kubernetes 1.35)"
    )
    assert "create overlays/qa/kustomization.yaml" in result.stdout
    assert "update overlays/management/controller-identity.yaml" in result.stdout

    after = accounts.read_text()
    assert added_lines(before, after) == QA_LINES
    assert after.startswith("---\n# yaml-language-server: $schema=./accounts.schema.json\n")
    # The entry lands at the end of the list, below the commented-out `check:` section above it.
    assert after.index("  # check:") < after.index("- name: live") < after.index("- name: qa")
    assert [a.name for a in load_account_set(example_repo).accounts] == ["staging", "live", "qa"]

    built = flux_build(example_repo / "overlays" / "qa")
    assert namespaces(built) == {"created": {"qa"}, "used": {"qa"}, "admitted": {"qa"}}
    assert any(
        i["kind"] == "AWSManagedControlPlane" and i["spec"]["region"] == "eu-central-1"
        for i in built
    )
    rendered = runner.invoke(main, ["render", "--check", "--repo", str(example_repo)])
    assert rendered.exit_code == 0, rendered.output
    checked = runner.invoke(main, ["check", "--repo", str(example_repo)])
    assert checked.exit_code == 0, checked.output


@pytest.mark.e2e  # a real kustomize builds it
def test_namespace_option_is_written_and_rendered(example_repo: Path) -> None:
    result = add(
        example_repo,
        "qa",
        "--account-id",
        "444444444444",
        "--region",
        "eu-west-1",
        "--namespace",
        "qa-clusters",
    )
    assert result.exit_code == 0, result.output
    assert "      namespace: qa-clusters\n" in (example_repo / "accounts.yaml").read_text()
    built = flux_build(example_repo / "overlays" / "qa")
    assert namespaces(built) == {
        "created": {"qa-clusters"},
        "used": {"qa-clusters"},
        "admitted": {"qa-clusters"},
    }


@pytest.mark.parametrize(
    ("args", "prepare", "message"),
    [
        (["staging", "--account-id", "444444444444"], None, "name 'staging' is already used"),
        (
            ["qa", "--account-id", "444444444444", "--namespace", "live"],
            None,
            "namespace 'live' is already used by account 'live'",
        ),
        (
            ["qa", "--account-id", "444444444444"],
            (
                '      kubernetesVersion: "1.35"\n',
                '      kubernetesVersion: "1.35"\n      identityName: qa-identity\n',
            ),
            "identity name 'qa-identity' is already used by account 'live'",
        ),
        (["management", "--account-id", "444444444444"], None, "reserved for overlays/management"),
    ],
    ids=["same-name", "same-namespace", "same-identity-name", "reserved-name"],
)
def test_conflict_exits_2_and_changes_nothing(
    example_repo: Path, args: list[str], prepare: tuple[str, str] | None, message: str
) -> None:
    if prepare:
        edit(example_repo / "accounts.yaml", *prepare)
    before = snapshot(example_repo)
    result = add(example_repo, *args, "--region", "eu-west-1")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"capa-accounts: accounts.yaml: cannot add account '{args[0]}'")
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1
    assert snapshot(example_repo) == before


@pytest.mark.parametrize(
    ("option", "value", "shown"),
    [
        ("--account-id", "1234", "--account-id: '1234' does not match"),
        ("--account-id", "0123456789ab", "--account-id: '0123456789ab' does not match"),
        ("--region", "Europe", "--region: 'Europe' does not match"),
        (
            "--kubernetes-version",
            "1.35.2",
            "--kubernetes-version: '1.35.2' is not a Kubernetes "
            "version Amazon EKS supports: use one of 1.30, 1.31",
        ),
        (
            "--kubernetes-version",
            "1.3",
            "--kubernetes-version: '1.3' is not a Kubernetes version Amazon EKS supports",
        ),
        (
            "--kubernetes-version",
            "1.29",
            "--kubernetes-version: '1.29' is not a Kubernetes version Amazon EKS supports",
        ),
        (
            "--kubernetes-version",
            "1.31",
            "--kubernetes-version: Kubernetes 1.31 left EKS extended support on 2026-11-26: "
            "EKS creates no cluster with it; use 1.36 (in standard support)",
        ),
        ("--namespace", "QA", "--namespace: 'QA' does not match"),
        ("NAME", "Q_A", "NAME: 'Q_A' does not match"),
    ],
    ids=[
        "id-too-short",
        "id-not-digits",
        "region",
        "patch-version",
        "one-point-three",
        "older-than-the-calendar",
        "past-extended-support",
        "namespace",
        "name",
    ],
)
def test_bad_option_exits_2_naming_the_option(
    example_repo: Path, option: str, value: str, shown: str
) -> None:
    values = {"NAME": "qa", "--account-id": "444444444444", "--region": "eu-west-1", option: value}
    args = [values.pop("NAME")] + [part for pair in values.items() for part in pair]
    before = snapshot(example_repo)
    result = add(example_repo, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"capa-accounts: {shown}"), result.stderr
    assert "accounts.yaml" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert snapshot(example_repo) == before


def test_shared_account_id_is_added_with_a_warning(example_repo: Path) -> None:
    result = add(example_repo, "qa", "--account-id", "222222222222", "--region", "eu-west-1")
    assert result.exit_code == 0, result.output
    assert (
        "warning: [CAPA-X004] accounts 'staging' and 'qa' share AWS account 222222222222: "
        "the environments are not isolated" in result.stdout.splitlines()
    )
    assert (example_repo / "overlays" / "qa" / "kustomization.yaml").is_file()


@pytest.mark.parametrize(
    ("versions", "option", "written"),
    [
        (("1.34", "1.36"), [], '"1.36"'),
        (("1.35", "1.34"), [], '"1.35"'),
        (("1.35", "1.35"), ["--kubernetes-version", "1.34"], '"1.34"'),
        (("1.33", "1.34"), [], '"1.36"'),
    ],
    ids=[
        "highest-as-numbers",
        "highest-first",
        "explicit-kept-as-string",
        "highest-past-standard-support",
    ],
)
def test_kubernetes_version_defaults_to_the_highest_in_use(
    example_repo: Path, versions: tuple[str, str], option: list[str], written: str
) -> None:
    accounts = example_repo / "accounts.yaml"
    for version in versions:  # staging's line first, then live's
        edit(accounts, 'kubernetesVersion: "1.35"', f'kubernetesVersion: "x{version}"')
    accounts.write_text(accounts.read_text().replace('"x', '"'))
    result = add(
        example_repo, "qa", "--account-id", "444444444444", "--region", "eu-west-1", *option
    )
    assert result.exit_code == 0, result.output
    assert f"Kubernetes {written.strip(chr(34))})" in result.stdout
    assert (
        '    - name: qa\n      accountId: "444444444444"\n      region: eu-west-1\n'
        f"      kubernetesVersion: {written}\n"
    ) in accounts.read_text()


# Each style: accounts.yaml, the lines add-account must add, the line the new entry must follow.
HEADER = (
    "# accounts\napiVersion: capa-accounts.dev/v1alpha1\nkind: AccountSet\nmetadata:\n"
    '{m}name: platform\nspec:\n{m}management:\n{m}{m}accountId: "111111111111"\n'
)
STYLES = {
    "sequences-not-indented": (
        HEADER.format(m="  ") + "  accounts:\n  - name: staging   # first\n"
        '    accountId: "222222222222"\n    region: eu-west-1\n    kubernetesVersion: "1.35"\n'
        "  # - name: dev\n  # check:\n  #   exclude: []\n",
        [
            "  - name: qa\n",
            '    accountId: "444444444444"\n',
            "    region: eu-central-1\n",
            '    kubernetesVersion: "1.35"\n',
        ],
        "  # - name: dev\n",
    ),
    "four-spaces-single-quotes": (
        HEADER.format(m="    ") + "    accounts:\n        -   name: staging\n"
        "            accountId: '222222222222'\n            region: eu-west-1\n"
        "            kubernetesVersion: '1.35'\n\n# trailing comment\n",
        [
            "        -   name: qa\n",
            "            accountId: '444444444444'\n",
            "            region: eu-central-1\n",
            "            kubernetesVersion: '1.35'\n",
        ],
        "            kubernetesVersion: '1.35'\n",
    ),
    "check-key-after-list": (
        HEADER.format(m="  ") + "  accounts:\n    - name: staging\n"
        '      accountId: "222222222222"\n      region: eu-west-1\n'
        '      kubernetesVersion: "1.35"\n      # externalID: in-the-entry\n\n'
        '  # what check skips\n  check:\n    exclude: ["tests/**"]\n',
        QA_LINES,
        "      # externalID: in-the-entry\n",
    ),
    "document-start-and-wide-spacing": (
        "---\n" + HEADER.format(m="  ").replace("accountId: ", "accountId:   ") + "  accounts:\n"
        '    - {name: staging, accountId: "222222222222", region: eu-west-1, '
        'kubernetesVersion: "1.35"}\n',
        QA_LINES,
        'kubernetesVersion: "1.35"}\n',
    ),
}


@pytest.mark.parametrize("style", list(STYLES), ids=list(STYLES))
def test_layout_of_the_file_is_kept(example_repo: Path, style: str) -> None:
    text, expected, previous = STYLES[style]
    accounts = example_repo / "accounts.yaml"
    accounts.write_text(text)
    result = add(example_repo, "qa", "--account-id", "444444444444", "--region", "eu-central-1")
    assert result.exit_code == 0, result.output
    after = accounts.read_text()
    assert added_lines(text, after) == expected
    assert after.split(expected[0])[0].endswith(previous)
    assert [a.name for a in load_account_set(example_repo).accounts] == ["staging", "qa"]


def test_render_refusal_leaves_accounts_yaml_unchanged(example_repo: Path) -> None:
    hand_written = example_repo / "overlays" / "qa" / "kustomization.yaml"
    hand_written.parent.mkdir()
    hand_written.write_text("resources: [mine.yaml]\n")
    before = snapshot(example_repo)
    result = add(example_repo, "qa", "--account-id", "444444444444", "--region", "eu-west-1")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "capa-accounts: overlays/qa/kustomization.yaml: exists and "
        "was not generated by capa-accounts"
    )
    assert snapshot(example_repo) == before


@pytest.mark.parametrize("style", [*STYLES, "example"], ids=[*STYLES, "example"])
def test_the_shortened_round_trip_writes_what_the_whole_one_writes(
    example_repo: Path, style: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more accounts, add-account round-trips only the last entry and what follows the
    list (its time does not grow with the fleet); the text must be the one the round trip of
    the whole file gives, comments between entries included."""
    from capa_accounts.kustomize_plugin import accounts_edit

    accounts = example_repo / "accounts.yaml"
    if style != "example":
        accounts.write_text(STYLES[style][0])
    shortened = accounts_edit._edited_by_the_last_entry
    used: list[bool] = []

    def whole(*args: object) -> None:
        return None

    def spy(*args: object) -> str | None:
        out = shortened(*args)  # type: ignore[arg-type]
        used.append(out is not None)
        return out

    for number, (name, account_id) in enumerate((("a1", "555555555551"), ("a2", "555555555552"))):
        monkeypatch.setattr(accounts_edit, "_edited_by_the_last_entry", whole)
        assert (
            add(example_repo, name, "--account-id", account_id, "--region", "eu-west-1").exit_code
            == 0
        )
        if number == 0:  # a comment between two entries, which the shortened file leaves out
            text = accounts.read_text()
            at = re.search(r"-\s+name: a1", text).start()  # type: ignore[union-attr]
            start = text.rindex("\n", 0, at) + 1
            accounts.write_text(
                f"{text[:start]}{' ' * (at - start)}# between entries\n{text[start:]}"
            )
    texts = {}
    for mode, patched in (("whole", whole), ("shortened", spy)):
        repo = example_repo.parent / mode
        shutil.copytree(example_repo, repo)
        monkeypatch.setattr(accounts_edit, "_edited_by_the_last_entry", patched)
        result = add(repo, "qa", "--account-id", "444444444444", "--region", "eu-central-1")
        assert result.exit_code == 0, result.output
        texts[mode] = (repo / "accounts.yaml").read_text()
    assert used == [True]
    assert texts["shortened"] == texts["whole"]
    assert len(added_lines(accounts.read_text(), texts["shortened"])) == 4


@pytest.mark.parametrize("mode", ["roleIdentity", "operator", "shared-id", "admission"])
def test_add_account_plans_only_what_the_new_account_changes(
    example_repo: Path, mode: str, tmp_path: Path
) -> None:
    """add-account plans the new account's files and the shared ones (not the fleet's): the
    tree it leaves is the one a full render gives, and no other account's file is written,
    even one that is out of date (a full render would rewrite it)."""
    from test_rules_operator import switch

    accounts = example_repo / "accounts.yaml"
    if mode == "operator":
        switch(example_repo, "operator")
    if mode == "admission":
        edit(
            accounts,
            "      region: eu-west-1\n",
            "      region: eu-west-1\n      admissionPolicy: false\n",
        )
        assert runner.invoke(main, ["render", "--repo", str(example_repo)]).exit_code == 0
    account_id = "222222222222" if mode == "shared-id" else "444444444444"
    stale = example_repo / "overlays/live/namespace.yaml"
    stale_text = stale.read_text() + "# out of date\n"
    stale.write_text(stale_text)
    result = add(example_repo, "qa", "--account-id", account_id, "--region", "eu-west-1")
    assert result.exit_code == 0, result.output
    assert stale.read_text() == stale_text
    touched = [
        line.split()[-1]
        for line in result.stdout.splitlines()[1:]
        if line.split()[0] in ("create", "update", "delete")
    ]
    assert touched and all(
        "/qa" in p or "management" in p or p.endswith("/capa-qa.yaml") or "-qa" in p
        for p in touched
    ), touched
    stale.write_text(stale_text.removesuffix("# out of date\n"))
    full = tmp_path / "full"
    shutil.copytree(example_repo, full)
    rendered = runner.invoke(main, ["render", "--repo", str(full)])
    assert rendered.exit_code == 0 and rendered.stdout == "up to date\n", rendered.output


def test_an_anchor_in_an_earlier_entry_still_gives_the_right_file(example_repo: Path) -> None:
    """The shortened round trip leaves out the entries before the last: when the last one (or
    what follows) refers to an anchor of theirs, the whole file is edited instead."""
    accounts = example_repo / "accounts.yaml"
    edit(accounts, "      region: eu-west-1\n", "      region: &home eu-west-1\n")
    text = accounts.read_text()
    last = text.index("- name: live")
    accounts.write_text(
        text[:last]
        + text[last:]
        .replace("region: eu-west-1", "region: *home")
        .replace("region: eu-central-1", "region: *home", 1)
    )
    before = accounts.read_text()
    assert "*home" in before
    result = add(example_repo, *["qa", "--account-id", "444444444444", "--region", "us-east-1"])
    assert result.exit_code == 0, result.output
    after = accounts.read_text()
    assert len(added_lines(before, after)) == 4
    assert [(a.name, a.region) for a in load_account_set(example_repo).accounts] == [
        ("staging", "eu-west-1"),
        ("live", "eu-west-1"),
        ("qa", "us-east-1"),
    ]
