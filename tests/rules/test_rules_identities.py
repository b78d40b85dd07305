"""Tests of the identity rules: CAPA-I001 to I008 and CAPA-X003, on edited example repositories."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest
from conftest import edit, line_of, of_rule, run_check
from rule_examples import Example, assert_example, examples

from capa_accounts.hooks.check.repository import kustomize_command
from capa_accounts.hooks.rules import all_rules
from capa_accounts.hooks.rules.identities import _cycles, verdict

STAGING = "overlays/staging/identity.yaml"
LIVE = "overlays/live/identity.yaml"
DEFAULT = "overlays/management/controller-identity.yaml"
MANAGEMENT_KUSTOMIZATION = "overlays/management/kustomization.yaml"
OURS = (
    "CAPA-I001",
    "CAPA-I002",
    "CAPA-I003",
    "CAPA-I004",
    "CAPA-I005",
    "CAPA-I006",
    "CAPA-I007",
    "CAPA-I008",
    "CAPA-X003",
)

ALLOWED_STAGING = "  allowedNamespaces:\n    list:\n    - staging\n"
ALLOWED_DEFAULT = "  allowedNamespaces:\n    list:\n    - live\n    - staging\n"
SOURCE_DEFAULT = "  sourceIdentityRef:\n    kind: AWSClusterControllerIdentity\n    name: default\n"
STATIC = """\
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterStaticIdentity
metadata:
  name: keys
spec:
  secretRef: aws-keys
  allowedNamespaces:
    list:
    - staging
"""


def source(kind: str, name: str) -> str:
    return f"  sourceIdentityRef:\n    kind: {kind}\n    name: {name}\n"


def add_static(repo: Path, listed: bool = True) -> None:
    (repo / "overlays/staging/static.yaml").write_text(STATIC, encoding="utf-8")
    if listed:
        edit(
            repo / "overlays/staging/kustomization.yaml",
            "- identity.yaml\n",
            "- identity.yaml\n- static.yaml\n",
        )


def test_pristine_example_has_no_identity_findings(example_repo: Path) -> None:
    report = run_check(example_repo)
    assert [f.text() for f in report.findings if f.rule in OURS] == []


def test_rules_are_registered_with_documentation() -> None:
    rules = all_rules()
    for rule_id in OURS:
        doc = rules[rule_id].doc
        sections = [doc.index(s) for s in ("\n\nWhy: ", "\n\nBad:\n", "\n\nGood:\n", "\n\nFix: ")]
        assert sections == sorted(sections), rule_id
        assert "\n" not in rules[rule_id].title
    assert rules["CAPA-I004"].severity == "warning"
    assert {rules[r].severity for r in OURS if r != "CAPA-I004"} == {"error"}


# (file, old text, new text, rule, text on the expected line, words the message must hold)
FIRES = [
    (STAGING, ALLOWED_STAGING, "", "CAPA-I001", "spec:", "no allowedNamespaces"),
    (
        STAGING,
        ALLOWED_STAGING,
        "  allowedNamespaces: null\n",
        "CAPA-I001",
        "allowedNamespaces",
        "a null allowedNamespaces",
    ),
    (
        STAGING,
        ALLOWED_STAGING,
        "  allowedNamespaces:\n",
        "CAPA-I001",
        "allowedNamespaces",
        "Namespace is not permitted to use AWSClusterRoleIdentity: staging-identity",
    ),
    (
        DEFAULT,
        ALLOWED_DEFAULT,
        "  allowedNamespaces: null\n",
        "CAPA-I001",
        "allowedNamespaces",
        "AWSClusterControllerIdentity 'default'",
    ),
    (
        STAGING,
        ALLOWED_STAGING,
        "  allowedNamespaces: {}\n",
        "CAPA-I002",
        "allowedNamespaces",
        "any namespace can build clusters in account 222222222222 with this role",
    ),
    (
        STAGING,
        "    list:\n    - staging\n",
        "    list: null\n",
        "CAPA-I002",
        "allowedNamespaces",
        "admits every namespace",
    ),
    (
        STAGING,
        "    list:\n    - staging\n",
        "    selector: {}\n",
        "CAPA-I002",
        "allowedNamespaces",
        "admits every namespace",
    ),
    (
        STAGING,
        "    list:\n    - staging\n",
        "    list:\n    selector:\n      matchLabels:\n",
        "CAPA-I002",
        "allowedNamespaces",
        "admits every namespace",
    ),
    (
        DEFAULT,
        ALLOWED_DEFAULT,
        "  allowedNamespaces: {}\n",
        "CAPA-I002",
        "allowedNamespaces",
        "management account's own credentials (account 111111111111)",
    ),
    (
        STAGING,
        "    list:\n    - staging\n",
        "    list: []\n",
        "CAPA-I003",
        "list: []",
        "an empty list names no namespace",
    ),
    (
        STAGING,
        "    list:\n    - staging\n",
        "    selector:\n      matchLabels: {}\n",
        "CAPA-I003",
        "selector:",
        "an empty label selector matches no namespace",
    ),
    (
        STAGING,
        "    list:\n    - staging\n",
        "    selector:\n      matchExpressions: []\n",
        "CAPA-I003",
        "selector:",
        "admits no namespace",
    ),
    (
        STAGING,
        "    list:\n    - staging\n",
        "    list: []\n    selector: {}\n",
        "CAPA-I003",
        "list: []",
        "admits no namespace",
    ),
    (
        STAGING,
        "    list:\n    - staging\n",
        "    selector:\n      matchLabels: {env: staging}\n",
        "CAPA-I004",
        "selector:",
        "anyone who can label a namespace",
    ),
    (
        STAGING,
        "    - staging\n",
        "    - staging\n    selector:\n      matchExpressions:\n"
        "      - {key: env, operator: In, values: [staging]}\n",
        "CAPA-I004",
        "selector:",
        "build clusters in account 222222222222",
    ),
    (
        STAGING,
        "    - staging\n",
        "    - staging\n    - live\n",
        "CAPA-I005",
        "- live",
        "admits namespace 'live' (account 'live''s namespace)",
    ),
    (
        STAGING,
        "    - staging\n",
        "    - kube-system\n    - staging\n",
        "CAPA-I005",
        "kube-system",
        "no account declares it",
    ),
    (
        DEFAULT,
        "  name: default",
        "  name: controller",
        "CAPA-I006",
        "name: controller",
        "accepts only the name 'default'",
    ),
    (
        MANAGEMENT_KUSTOMIZATION,
        "- controller-identity.yaml\n",
        "",
        "CAPA-I006",
        "name: default",
        "CAPA never creates it for role-identity clusters",
    ),
    (STAGING, SOURCE_DEFAULT, "", "CAPA-I007", "spec:", "has no sourceIdentityRef"),
    (
        STAGING,
        SOURCE_DEFAULT,
        "  sourceIdentityRef: null\n",
        "CAPA-I007",
        "sourceIdentityRef",
        "a null sourceIdentityRef",
    ),
    (
        STAGING,
        SOURCE_DEFAULT,
        source("AWSClusterRoleIdentity", "gone-identity"),
        "CAPA-I007",
        "gone-identity",
        "which the repository does not contain",
    ),
    (
        STAGING,
        SOURCE_DEFAULT,
        source("AWSClusterStaticIdentity", "keys"),
        "CAPA-I007",
        "name: keys",
        "AWSClusterStaticIdentity 'keys'",
    ),
    (
        STAGING,
        SOURCE_DEFAULT,
        source("AWSClusterControllerIdentity", "controller"),
        "CAPA-I007",
        "name: controller",
        "accepts only 'default'",
    ),
    (
        STAGING,
        SOURCE_DEFAULT,
        source("AWSClusterRoleIdentity", "staging-identity"),
        "CAPA-I007",
        "    name: staging-identity",
        "cycle (staging-identity -> staging-identity)",
    ),
    (
        STAGING,
        "  name: staging-identity\n",
        "  name: staging-identity\n  namespace: staging\n",
        "CAPA-X003",
        "namespace: staging",
        "is cluster-scoped but carries namespace 'staging'",
    ),
    (
        DEFAULT,
        "  name: default\n",
        "  name: default\n  namespace: capa-system\n",
        "CAPA-X003",
        "namespace: capa-system",
        "AWSClusterControllerIdentity 'default' is cluster-scoped",
    ),
]


@pytest.mark.parametrize(
    ("file", "old", "new", "rule_id", "needle", "words"),
    FIRES,
    ids=[
        "I001-absent",
        "I001-null",
        "I001-empty-key",
        "I001-default-null",
        "I002-empty-object",
        "I002-list-null",
        "I002-empty-selector",
        "I002-all-null",
        "I002-default",
        "I003-empty-list",
        "I003-empty-matchLabels",
        "I003-empty-matchExpressions",
        "I003-empty-list-and-selector",
        "I004-matchLabels",
        "I004-list-and-expressions",
        "I005-other-account",
        "I005-undeclared",
        "I006-not-default",
        "I006-default-missing",
        "I007-missing",
        "I007-null",
        "I007-dangling-role",
        "I007-dangling-static",
        "I007-controller-not-default",
        "I007-self-cycle",
        "X003-role",
        "X003-controller",
    ],
)
def test_rule_fires(
    example_repo: Path, file: str, old: str, new: str, rule_id: str, needle: str, words: str
) -> None:
    edit(example_repo / file, old, new)
    found = of_rule(run_check(example_repo), rule_id)
    # A kustomization edit moves the finding to the identity it concerns.
    target = STAGING if file == MANAGEMENT_KUSTOMIZATION else file
    line = line_of(example_repo / target, needle)
    here = [f for f in found if f.file == target]
    assert [(f.file, f.line) for f in here] == [(target, line)], found
    assert words in here[0].message


def test_i005_relates_to_the_account_declaration(example_repo: Path) -> None:
    edit(example_repo / STAGING, "    - staging\n", "    - staging\n    - live\n")
    (finding,) = of_rule(run_check(example_repo), "CAPA-I005")
    assert [(r.file, r.line) for r in finding.related] == [
        ("accounts.yaml", line_of(example_repo / "accounts.yaml", "- name: staging"))
    ]


def test_i006_default_renamed_also_breaks_every_chain(example_repo: Path) -> None:
    edit(example_repo / DEFAULT, "  name: default", "  name: controller")
    found = of_rule(run_check(example_repo), "CAPA-I006")
    assert sorted(f.file for f in found) == [LIVE, DEFAULT, STAGING]
    assert not of_rule(run_check(example_repo), "CAPA-I007")  # missing default is I006's


def test_i007_cycle_names_every_member(example_repo: Path) -> None:
    edit(example_repo / STAGING, SOURCE_DEFAULT, source("AWSClusterRoleIdentity", "live-identity"))
    edit(example_repo / LIVE, SOURCE_DEFAULT, source("AWSClusterRoleIdentity", "staging-identity"))
    found = of_rule(run_check(example_repo), "CAPA-I007")
    assert sorted((f.file, f.line) for f in found) == sorted(
        [
            (STAGING, line_of(example_repo / STAGING, "name: live-identity")),
            (LIVE, line_of(example_repo / LIVE, "    name: staging-identity")),
        ]
    )
    assert all(
        "staging-identity -> live-identity -> staging-identity" in f.message
        or "live-identity -> staging-identity -> live-identity" in f.message
        for f in found
    )
    by_file = {f.file: f for f in found}
    assert by_file[STAGING].related[0].file == LIVE


def test_i008_fires_at_kind(example_repo: Path) -> None:
    add_static(example_repo)
    (finding,) = of_rule(run_check(example_repo), "CAPA-I008")
    static = example_repo / "overlays/staging/static.yaml"
    assert (finding.file, finding.line) == (
        "overlays/staging/static.yaml",
        line_of(static, "kind: AWSClusterStaticIdentity"),
    )
    assert "Secret 'aws-keys'" in finding.message


@pytest.mark.e2e  # a real kustomize builds it
@pytest.mark.skipif(kustomize_command() is None, reason="needs kubectl or kustomize on PATH")
def test_x003_kustomize_namespace_transformer(example_repo: Path) -> None:
    # The hard case: kustomize's `namespace:` stamps a namespace on kinds it does not know to
    # be cluster-scoped, CAPA's identities among them; the object is judged as built.
    kfile = "overlays/staging/kustomization.yaml"
    edit(example_repo / kfile, "resources:\n", "namespace: staging\nresources:\n")
    found = of_rule(run_check(example_repo), "CAPA-X003")
    # Reported where the fix goes: the kustomization's `namespace:`, not a line of the output.
    assert [(f.file, f.line, f.resource.name if f.resource else "") for f in found] == [
        (kfile, line_of(example_repo / kfile, "namespace: staging"), "staging-identity")
    ]
    assert "this kustomization's `namespace:` stamps it" in found[0].message


# (file, old, new, rules that must stay silent)
NEAR_MISSES = [
    (STAGING, ALLOWED_STAGING, "  allowedNamespaces: {}\n", ("CAPA-I001", "CAPA-I003")),
    (STAGING, "    list:\n    - staging\n", "    list: []\n", ("CAPA-I001", "CAPA-I002")),
    (
        STAGING,
        "    list:\n    - staging\n",
        "    selector:\n      matchLabels: {}\n",
        ("CAPA-I002", "CAPA-I004"),
    ),
    (
        STAGING,
        "    - staging\n",
        "    - staging\n    selector: {}\n",
        ("CAPA-I002", "CAPA-I003", "CAPA-I004"),
    ),
    (
        STAGING,
        "    - staging\n",
        "    - staging\n    selector:\n      matchLabels: {}\n",
        ("CAPA-I002", "CAPA-I003", "CAPA-I004"),
    ),
    (STAGING, "    - staging\n", "    - staging\n    - staging\n", ("CAPA-I005",)),
    (
        STAGING,
        "  name: staging-identity\n",
        '  name: staging-identity\n  namespace: ""\n',
        ("CAPA-X003",),
    ),
    (
        STAGING,
        SOURCE_DEFAULT,
        source("AWSClusterRoleIdentity", "live-identity"),
        ("CAPA-I006", "CAPA-I007"),
    ),
]


@pytest.mark.parametrize(
    ("file", "old", "new", "silent"),
    NEAR_MISSES,
    ids=[
        "empty-object-is-not-absent",
        "empty-list-is-not-everybody",
        "empty-selector-labels-is-not-everybody-nor-a-selector",
        "list-with-empty-selector",
        "list-with-empty-matchLabels",
        "own-namespace-twice",
        "empty-namespace",
        "chain-through-role-identity-to-default",
    ],
)
def test_near_miss_does_not_fire(
    example_repo: Path, file: str, old: str, new: str, silent: tuple[str, ...]
) -> None:
    edit(example_repo / file, old, new)
    report = run_check(example_repo)
    assert [f.text() for f in report.findings if f.rule in silent] == []


def test_i005_needs_accounts_yaml(example_repo: Path) -> None:
    # A hand-written repository declares no accounts: nothing to compare the namespaces with.
    edit(example_repo / STAGING, "    - staging\n", "    - staging\n    - live\n")
    (example_repo / "accounts.yaml").unlink()
    assert of_rule(run_check(example_repo), "CAPA-I005") == []


def test_i006_silent_when_nothing_chains_from_missing_default(example_repo: Path) -> None:
    edit(example_repo / MANAGEMENT_KUSTOMIZATION, "- controller-identity.yaml\n", "")
    add_static(example_repo)
    for file in (STAGING, LIVE):
        edit(example_repo / file, SOURCE_DEFAULT, source("AWSClusterStaticIdentity", "keys"))
    report = run_check(example_repo)
    assert of_rule(report, "CAPA-I006") == []
    assert of_rule(report, "CAPA-I007") == []


def test_i008_silent_for_a_file_no_kustomization_lists(example_repo: Path) -> None:
    add_static(example_repo, listed=False)  # Flux never applies it
    assert of_rule(run_check(example_repo), "CAPA-I008") == []


def test_i002_misspelt_list_is_pruned_to_everybody(example_repo: Path) -> None:
    if importlib.util.find_spec("capa_accounts.hooks.rules.schemas") is None:
        pytest.skip("needs schema pruning (capa_accounts.hooks.rules.schemas is not there yet)")
    edit(example_repo / STAGING, "    list:\n", "    lists:\n")
    found = of_rule(run_check(example_repo), "CAPA-I002")
    assert [(f.file, f.line) for f in found] == [
        (STAGING, line_of(example_repo / STAGING, "allowedNamespaces"))
    ]


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        (None, "unset"),
        ({}, "all"),
        ({"list": None}, "all"),
        ({"selector": {}}, "all"),
        ({"list": None, "selector": {"matchLabels": None}}, "all"),
        ({"list": []}, "none"),
        ({"selector": {"matchLabels": {}}}, "none"),
        ({"selector": {"matchExpressions": []}}, "none"),
        ({"list": [], "selector": {}}, "none"),
        ({"list": ["a"]}, "some"),
        ({"list": ["a"], "selector": {"matchLabels": {}}}, "some"),
        ({"selector": {"matchLabels": {"env": "a"}}}, "some"),
        (["a"], "invalid"),
        ({"list": "a"}, "invalid"),
    ],
    ids=[
        "nil",
        "empty",
        "list-null",
        "selector-empty",
        "all-null",
        "list-empty",
        "matchLabels-empty",
        "matchExpressions-empty",
        "list-empty-selector-empty",
        "list",
        "list-and-empty-selector",
        "selector",
        "not-an-object",
        "list-not-a-list",
    ],
)
def test_verdict_follows_capa(allowed: object, expected: str) -> None:
    assert verdict(allowed) == expected


@pytest.mark.e2e  # slow: out of the fast lane
def test_cycle_detection_is_linear() -> None:
    n = 200_000
    edges = {f"i{k}": f"i{k + 1}" for k in range(n)}  # one long chain ...
    edges[f"i{n}"] = f"i{n // 2}"  # ... whose tail loops back to its middle
    edges.update({"a": "b", "b": "a", "c": "a", "self": "self"})
    started = time.perf_counter()
    cycles = _cycles(edges)
    assert time.perf_counter() - started < 2
    assert sorted(len(c) for c in cycles) == [1, 2, n // 2 + 1]


# --- a small bad and good example of each rule (tests/data/rules/identities/) ---------------------


@pytest.mark.parametrize("example", examples("identities"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)
