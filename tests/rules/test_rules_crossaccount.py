"""Cross-account rules CAPA-X001 … X004, on the rendered example repository; X003's severity:
a namespace kustomize stamps on a cluster-scoped identity is a warning (the API server drops it,
Flux applies it all the same), an error only where the namespace changes meaning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edit, line_of, of_rule, run_check
from rule_examples import Example, assert_example, examples

from capa_accounts.cli import main
from capa_accounts.hooks.check.repository import kustomize_command

RULES = ("CAPA-X001", "CAPA-X002", "CAPA-X004")
LIVE_IDENTITY = "overlays/live/identity.yaml"
STAGING_IDENTITY = "overlays/staging/identity.yaml"


def where(repo: Path, rule: str) -> list[tuple[str, int]]:
    return [(f.file, f.line) for f in of_rule(run_check(repo), rule)]


def test_pristine_example_has_no_cross_account_findings(example_repo: Path) -> None:
    assert [f for f in run_check(example_repo).findings if f.rule in RULES] == []


# --- X001 -------------------------------------------------------------------------------------


def test_x001_fires_when_two_overlays_admit_one_namespace(example_repo: Path) -> None:
    path = example_repo / LIVE_IDENTITY
    edit(path, "    - live\n", "    - live\n    - staging\n")
    found = of_rule(run_check(example_repo), "CAPA-X001")
    assert [(f.file, f.line) for f in found] == [(LIVE_IDENTITY, line_of(path, "- staging"))]
    assert "'staging-identity' of overlays/staging" in found[0].message
    staging = example_repo / STAGING_IDENTITY
    assert [(r.file, r.line) for r in found[0].related] == [
        (STAGING_IDENTITY, line_of(staging, "    - staging"))
    ]


def test_x001_near_miss_one_overlay_two_identities(example_repo: Path) -> None:
    # Two identities of one account admitting its namespace share no credentials across
    # accounts (I005 and friends judge them).
    path = example_repo / STAGING_IDENTITY
    text = path.read_text(encoding="utf-8")
    second = text.split("\n", 1)[1].replace("name: staging-identity", "name: staging-extra")
    path.write_text(text + "---\n" + second, encoding="utf-8")
    assert where(example_repo, "CAPA-X001") == []


@pytest.mark.parametrize(
    ("key", "value", "what"),
    [("namespace", "staging", "namespace"), ("identityName", "staging-identity", "identity name")],
    ids=["namespace", "identity-name"],
)
def test_x001_is_a_finding_of_check_and_stops_render(
    example_repo: Path, key: str, value: str, what: str
) -> None:
    accounts = example_repo / "accounts.yaml"
    edit(accounts, "    - name: live\n", f"    - name: live\n      {key}: {value}\n")
    line = line_of(accounts, f"{key}: {value}")
    runner = CliRunner()
    result = runner.invoke(main, ["check", "--repo", str(example_repo), "--format", "json"])
    assert result.exit_code == 1, result.output
    found = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "CAPA-X001"]
    assert [(f["file"], f["line"], f["severity"]) for f in found] == [
        ("accounts.yaml", line, "error")
    ]
    assert f"{what} {value!r} is already used by account 'staging'" in found[0]["message"]
    assert found[0]["related"] == [
        {"file": "accounts.yaml", "column": 13, "line": line_of(accounts, "- name: staging")}
    ]
    sarif = json.loads(
        runner.invoke(main, ["check", "--repo", str(example_repo), "--format", "sarif"]).stdout
    )
    assert "CAPA-X001" in {r["ruleId"] for r in sarif["runs"][0]["results"]}
    for command in (
        ["render"],
        ["render", "--check"],
        ["add-account", "qa", "--account-id", "444444444444", "--region", "eu-west-1"],
    ):
        refused = runner.invoke(main, [*command, "--repo", str(example_repo)])
        assert refused.exit_code == 2, (command, refused.output)
        assert refused.stderr.startswith(f"capa-accounts: accounts.yaml:{line}:")
        assert "[CAPA-X001]" in refused.stderr


def test_x001_near_miss_own_namespace_spelt_out(example_repo: Path) -> None:
    edit(
        example_repo / "accounts.yaml",
        "    - name: live\n",
        "    - name: live\n      namespace: live\n",
    )
    assert where(example_repo, "CAPA-X001") == []


# --- X002 -------------------------------------------------------------------------------------

CONFIG_MAP = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: {}\n"


@pytest.mark.parametrize(
    ("live_namespace", "fires"),
    [("staging", True), ("live", False)],
    ids=["same-namespace", "other-namespace"],
)
def test_x002_config_map_in_two_overlays(
    example_repo: Path, live_namespace: str, fires: bool
) -> None:
    for account, namespace in (("live", live_namespace), ("staging", "staging")):
        path = example_repo / f"overlays/{account}/identity.yaml"
        path.write_text(
            path.read_text(encoding="utf-8") + CONFIG_MAP.format(namespace), encoding="utf-8"
        )
    staging = example_repo / STAGING_IDENTITY
    expected = [(STAGING_IDENTITY, line_of(staging, "name: shared"))] if fires else []
    assert where(example_repo, "CAPA-X002") == expected


def test_x002_fires_on_an_identity_in_two_overlays(example_repo: Path) -> None:
    live = (example_repo / LIVE_IDENTITY).read_text(encoding="utf-8").split("\n", 1)[1]
    path = example_repo / STAGING_IDENTITY
    path.write_text(path.read_text(encoding="utf-8") + "---\n" + live, encoding="utf-8")
    found = of_rule(run_check(example_repo), "CAPA-X002")
    assert [(f.file, f.line) for f in found] == [
        (STAGING_IDENTITY, line_of(path, "name: live-identity"))
    ]
    # Both files in the message, for a reader without SARIF's related locations.
    assert (
        f"of {STAGING_IDENTITY} is also applied by overlays/live from {LIVE_IDENTITY}"
        in found[0].message
    )
    assert [(r.file, r.line) for r in found[0].related] == [
        (LIVE_IDENTITY, line_of(example_repo / LIVE_IDENTITY, "name: live-identity"))
    ]


# --- X004 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account_id", "fires"),
    [("222222222222", True), ("444444444444", False)],
    ids=["shared", "distinct"],
)
def test_x004_shared_account_id(example_repo: Path, account_id: str, fires: bool) -> None:
    accounts = example_repo / "accounts.yaml"
    edit(accounts, 'accountId: "333333333333"', f'accountId: "{account_id}"')
    found = of_rule(run_check(example_repo), "CAPA-X004")
    if not fires:
        assert found == []
        return
    second = line_of(accounts, "- name: live") + 1
    assert [(f.file, f.line, f.severity) for f in found] == [("accounts.yaml", second, "warning")]
    assert [(r.file, r.line) for r in found[0].related] == [
        ("accounts.yaml", line_of(accounts, 'accountId: "222222222222"'))
    ]


# --- CAPA-X003's severity: a warning unless the namespace changes meaning -------------------------


KUSTOMIZATION = "overlays/staging/kustomization.yaml"
STAGING = "overlays/staging/identity.yaml"
DEFAULT = "overlays/management/controller-identity.yaml"
needs_kustomize = pytest.mark.skipif(
    kustomize_command() is None, reason="needs kubectl or kustomize on PATH"
)


def x003(repo: Path) -> list[tuple[str, int, str]]:
    return [(f.file, f.line, f.severity) for f in of_rule(run_check(repo), "CAPA-X003")]


@pytest.mark.e2e  # a real kustomize builds it
@needs_kustomize
def test_kustomize_stamped_namespace_is_a_warning(example_repo: Path) -> None:
    edit(example_repo / KUSTOMIZATION, "resources:\n", "namespace: staging\nresources:\n")
    line = line_of(example_repo / KUSTOMIZATION, "namespace: staging")
    assert x003(example_repo) == [(KUSTOMIZATION, line, "warning")]
    result = CliRunner().invoke(main, ["check", "--repo", str(example_repo), "--format", "json"])
    report = json.loads(result.stdout)
    assert [f["severity"] for f in report["findings"] if f["rule"] == "CAPA-X003"] == ["warning"]


@pytest.mark.e2e  # a real kustomize builds it
@needs_kustomize
def test_kustomize_stamping_a_namespace_the_identity_does_not_admit_is_a_warning(
    example_repo: Path,
) -> None:
    edit(example_repo / KUSTOMIZATION, "resources:\n", "namespace: live\nresources:\n")
    line = line_of(example_repo / KUSTOMIZATION, "namespace: live")
    found = of_rule(run_check(example_repo), "CAPA-X003")
    assert [(f.file, f.line, f.severity) for f in found] == [(KUSTOMIZATION, line, "warning")]
    assert "does not admit 'live', which changes nothing" in found[0].message


@pytest.mark.e2e  # a real kustomize builds it
@needs_kustomize
def test_management_overlay_stamped_capa_system_is_a_warning(example_repo: Path) -> None:
    """The usual case: `namespace: capa-system` on the management overlay stamps `default`,
    whose allowedNamespaces lists the account namespaces; the check still passes."""
    kfile = example_repo / "overlays/management/kustomization.yaml"
    edit(kfile, "resources:\n", "namespace: capa-system\nresources:\n")
    line = line_of(kfile, "namespace: capa-system")
    report = run_check(example_repo)
    found = of_rule(report, "CAPA-X003")
    assert [(f.file, f.line, f.severity) for f in found] == [
        ("overlays/management/kustomization.yaml", line, "warning")
    ]
    # a hand edit of a generated file is drift (R001); nothing else is an error
    assert {f.rule for f in report.findings if f.severity == "error"} <= {"CAPA-R001"}


@pytest.mark.parametrize(
    ("file", "old", "new", "needle", "severity"),
    [
        (
            STAGING,
            "  name: staging-identity\n",
            "  name: staging-identity\n  namespace: staging\n",
            "namespace: staging",
            "warning",
        ),
        (
            STAGING,
            "  name: staging-identity\n",
            "  name: staging-identity\n  namespace: live\n",
            "namespace: live",
            "warning",
        ),
        (
            DEFAULT,
            "  name: default\n",
            "  name: default\n  namespace: capa-system\n",
            "namespace: capa-system",
            "warning",
        ),
        (
            DEFAULT,
            "  name: default\n",
            "  name: default\n  namespace: live\n",
            "namespace: live",
            "warning",
        ),
    ],
    ids=["admitted", "not-admitted", "default-capa-system", "default-admitted"],
)
def test_hand_written_namespace(
    example_repo: Path, file: str, old: str, new: str, needle: str, severity: str
) -> None:
    edit(example_repo / file, old, new)
    assert x003(example_repo) == [(file, line_of(example_repo / file, needle), severity)]


def test_static_identity_namespace_is_an_error_even_when_admitted(example_repo: Path) -> None:
    static = example_repo / "overlays/staging/static.yaml"
    static.write_text(
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\n"
        "kind: AWSClusterStaticIdentity\nmetadata:\n  name: keys\n"
        "  namespace: staging\nspec:\n  secretRef: aws-keys\n"
        "  allowedNamespaces:\n    list:\n    - staging\n",
        encoding="utf-8",
    )
    edit(example_repo / KUSTOMIZATION, "- identity.yaml\n", "- identity.yaml\n- static.yaml\n")
    found = of_rule(run_check(example_repo), "CAPA-X003")
    assert [(f.file, f.line, f.severity) for f in found] == [
        ("overlays/staging/static.yaml", line_of(static, "namespace: staging"), "error")
    ]
    assert "Secret" in found[0].message


def test_static_identity_in_capas_own_namespace_is_a_warning(example_repo: Path) -> None:
    """Near miss: stamped with CAPA's own namespace, where its Secret is read anyway."""
    static = example_repo / "overlays/management/static.yaml"
    static.write_text(
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\n"
        "kind: AWSClusterStaticIdentity\nmetadata:\n  name: keys\n"
        "  namespace: capa-system\nspec:\n  secretRef: aws-keys\n"
        "  allowedNamespaces:\n    list:\n    - staging\n",
        encoding="utf-8",
    )
    kfile = example_repo / "overlays/management/kustomization.yaml"
    edit(kfile, "resources:\n", "resources:\n- static.yaml\n")
    found = of_rule(run_check(example_repo), "CAPA-X003")
    assert [(f.file, f.severity) for f in found] == [("overlays/management/static.yaml", "warning")]


# --- a small bad and good example of each rule (tests/data/rules/crossaccount/) -------------------


@pytest.mark.parametrize("example", examples("crossaccount"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)
