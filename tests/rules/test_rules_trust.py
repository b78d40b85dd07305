"""Tests of the trust rules CAPA-T001 to T010: rendered example repositories with edits, and the
seed guide's own YAML as a hand-written repository (tests/data/seed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import edit, line_of, of_rule, run_check
from rule_examples import Example, assert_example, examples

from capa_accounts.core.iam_policy import wildcard_match
from capa_accounts.hooks.rules import all_rules
from capa_accounts.kustomize_plugin import generated, render

SEED = Path(__file__).parents[1] / "data" / "seed"
OURS = tuple(f"CAPA-T{n:03d}" for n in range(1, 12))
WARNINGS = ("CAPA-T008", "CAPA-T009", "CAPA-T010")

ACCOUNTS = "accounts.yaml"
STAGING = "overlays/staging/identity.yaml"
LIVE = "overlays/live/identity.yaml"
TARGET = "bootstrap/staging.yaml"
MANAGEMENT = "bootstrap/management.yaml"

ROLE = "controllers.cluster-api-provider-aws.sigs.k8s.io"
STAGING_ARN = f"arn:aws:iam::222222222222:role/{ROLE}"
LIVE_ARN = f"arn:aws:iam::333333333333:role/{ROLE}"
MGMT_ARN = f"arn:aws:iam::111111111111:role/{ROLE}"
TRUSTED = f"        - {MGMT_ARN}\n"
STAGING_VERSION = '      kubernetesVersion: "1.35"  # quoted: YAML reads 1.30 as the number 1.3\n'
SESSION = "  sessionName: capa-staging\n"
ALLOW = "      Effect: Allow\n      Action:\n      - sts:AssumeRole\n"
CONDITION = "      Condition:\n        {op}:\n          {key}: {value}\n"

Edit = tuple[str, str, str]


def apply(repo: Path, edits: list[Edit]) -> None:
    for file, old, new in edits:
        edit(repo / file, old, new)


def rerender(repo: Path) -> None:
    """What `capa-accounts render` does after accounts.yaml changed."""
    generated.apply(repo, generated.changes(repo, render.plan(repo)))


def test_pristine_example_has_no_trust_findings(example_repo: Path) -> None:
    assert [f.text() for f in run_check(example_repo).findings if f.rule in OURS] == []


def test_rules_are_registered_with_documentation() -> None:
    rules = all_rules()
    for rule_id in OURS:
        doc = rules[rule_id].doc
        sections = [doc.index(s) for s in ("\n\nWhy: ", "\n\nBad:\n", "\n\nGood:\n", "\n\nFix: ")]
        assert sections == sorted(sections), rule_id
        assert len(rules[rule_id].title) <= 93, rule_id
    assert {r for r in OURS if rules[r].severity == "warning"} == set(WARNINGS)


# (id, edits, rule, file of the finding, text on its line, severity, words the message holds)
FIRES = [
    (
        "t001-placeholder",
        [(STAGING, "::222222222222:", "::<staging-account-id>:")],
        "CAPA-T001",
        STAGING,
        "roleARN:",
        "error",
        "'arn:aws:iam::<staging-account-id>:role/",
    ),
    (
        "t001-11-digits",
        [(STAGING, "::222222222222:", "::22222222222:")],
        "CAPA-T001",
        STAGING,
        "roleARN:",
        "error",
        "12-digit account",
    ),
    (
        "t001-user-arn",
        [(STAGING, ":role/", ":user/")],
        "CAPA-T001",
        STAGING,
        "roleARN:",
        "error",
        "no cluster using staging-identity",
    ),
    (
        "t001-wildcard-account",
        [(STAGING, "::222222222222:", "::*:")],
        "CAPA-T001",
        STAGING,
        "roleARN:",
        "error",
        "STS rejects",
    ),
    (
        "t001-unknown-partition",
        [(STAGING, "arn:aws:", "arn:aws-moon:")],
        "CAPA-T001",
        STAGING,
        "roleARN:",
        "error",
        "arn:<partition>",
    ),
    (
        "t002-other-account",
        [(STAGING, "::222222222222:", "::333333333333:")],
        "CAPA-T002",
        STAGING,
        "roleARN:",
        "error",
        "names AWS account 333333333333, but accounts.yaml "
        "declares 222222222222 for account staging",
    ),
    (
        "t003-star",
        [(TARGET, TRUSTED, "        - '*'\n")],
        "CAPA-T003",
        TARGET,
        "- '*'",
        "error",
        "trusts every AWS principal",
    ),
    (
        "t003-star-string",
        [(TARGET, "        AWS:\n" + TRUSTED, "        AWS: '*'\n")],
        "CAPA-T003",
        TARGET,
        "AWS: '*'",
        "error",
        "account staging trusts every AWS principal",
    ),
    (
        "t003-other-account",
        [(TARGET, "::111111111111:", "::999999999999:")],
        "CAPA-T003",
        TARGET,
        "999999999999",
        "error",
        f"not the management principal {MGMT_ARN}",
    ),
    (
        "t003-bare-root",
        [(TARGET, TRUSTED, "        - arn:aws:iam::111111111111:root\n")],
        "CAPA-T003",
        TARGET,
        ":root",
        "error",
        "trusts all of account 111111111111",
    ),
    (
        "t003-root-condition-names-another",
        [
            (
                TARGET,
                TRUSTED,
                "        - arn:aws:iam::111111111111:root\n"
                + CONDITION.format(
                    op="ArnEquals", key="aws:PrincipalArn", value="arn:aws:iam::111111111111:role/x"
                ),
            )
        ],
        "CAPA-T003",
        TARGET,
        ":root",
        "error",
        "without a Condition on aws:PrincipalArn",
    ),
    (
        "t003-account-id-as-root",
        [(TARGET, TRUSTED, "        - '111111111111'\n")],
        "CAPA-T003",
        TARGET,
        "'111111111111'",
        "error",
        "trusts all of account 111111111111",
    ),
    (
        "t003-extra-principal",
        [(TARGET, TRUSTED, TRUSTED + "        - arn:aws:iam::111111111111:role/admin\n")],
        "CAPA-T003",
        TARGET,
        "role/admin",
        "error",
        "trusts arn:aws:iam::111111111111:role/admin",
    ),
    (
        "t003-deny-only",
        [(TARGET, "      Effect: Allow\n", "      Effect: Deny\n")],
        "CAPA-T003",
        TARGET,
        "- Sid: CapaAccountsTrustManagement",
        "error",
        "no Allow sts:AssumeRole trust statement",
    ),
    (
        "t003-other-action",
        [(TARGET, "      - sts:AssumeRole\n", "      - sts:TagSession\n")],
        "CAPA-T003",
        TARGET,
        "- Sid: CapaAccountsTrustManagement",
        "error",
        "AccessDenied",
    ),
    (
        "t003-no-trust",
        [(TARGET, "    trustStatements:\n", "    extraStatements:\n")],
        "CAPA-T003",
        TARGET,
        "clusterAPIControllers:",
        "error",
        "no Allow sts:AssumeRole",
    ),
    (
        "t003-not-principal",
        [(TARGET, "      Principal:\n", "      NotPrincipal:\n")],
        "CAPA-T003",
        TARGET,
        "NotPrincipal:",
        "error",
        "every principal except",
    ),
    (
        "t004-target-missing",
        [(MANAGEMENT, f"      - {LIVE_ARN}\n", "")],
        "CAPA-T004",
        MANAGEMENT,
        f"- {STAGING_ARN}",
        "error",
        f"the management controllersRole is granted no sts:AssumeRole on {LIVE_ARN} "
        "(roleARN of live-identity)",
    ),
    (
        "t004-wildcard-misses",
        [
            (
                MANAGEMENT,
                f"      - {STAGING_ARN}\n      - {LIVE_ARN}\n",
                "      - arn:aws:iam::2*:role/controllers.*\n",
            )
        ],
        "CAPA-T004",
        MANAGEMENT,
        "- arn:aws:iam::2*",
        "error",
        LIVE_ARN,
    ),
    (
        "t004-question-mark-is-one-character",
        [
            (
                MANAGEMENT,
                f"      - {STAGING_ARN}\n      - {LIVE_ARN}\n",
                f"      - arn:aws:iam::22222222222?:role/{ROLE}\n"
                f"      - arn:aws:iam::3?:role/{ROLE}\n",
            )
        ],
        "CAPA-T004",
        MANAGEMENT,
        "- arn:aws:iam::22222222222?",
        "error",
        LIVE_ARN,
    ),
    (
        "t004-denied",
        [
            (
                MANAGEMENT,
                f"      - {LIVE_ARN}\n",
                f"      - {LIVE_ARN}\n    - Effect: Deny\n      Action: sts:*\n"
                "      Resource:\n      - arn:aws:iam::333*\n",
            )
        ],
        "CAPA-T004",
        MANAGEMENT,
        f"- {STAGING_ARN}",
        "error",
        LIVE_ARN,
    ),
    (
        "t005-other-name",
        [(STAGING, f"role/{ROLE}", "role/capa-controllers")],
        "CAPA-T005",
        STAGING,
        "roleARN:",
        "error",
        f"names role capa-controllers, but bootstrap/staging.yaml creates {ROLE}",
    ),
    (
        "t005-stack-prefix",
        [(TARGET, "spec:\n", "spec:\n  namePrefix: team-\n")],
        "CAPA-T005",
        STAGING,
        "roleARN:",
        "error",
        f"creates team-{ROLE}",
    ),
    (
        "t006-identity",
        [(STAGING, SESSION, SESSION + "  durationSeconds: 7200\n")],
        "CAPA-T006",
        STAGING,
        "durationSeconds",
        "error",
        "7200 is above 3600",
    ),
    (
        "t006-accounts",
        [
            (ACCOUNTS, STAGING_VERSION, STAGING_VERSION + "      durationSeconds: 43200\n"),
            (STAGING, SESSION, SESSION + "  durationSeconds: 43200\n"),
        ],
        "CAPA-T006",
        ACCOUNTS,
        "durationSeconds",
        "error",
        "43200 of account staging",
    ),
    (
        "t007-missing",
        [
            (
                TARGET,
                ALLOW,
                ALLOW
                + CONDITION.format(op="StringEquals", key="sts:ExternalId", value="capa-staging"),
            )
        ],
        "CAPA-T007",
        STAGING,
        "spec:",
        "error",
        "requires sts:ExternalId 'capa-staging', but staging-identity sends none",
    ),
    (
        "t007-different",
        [
            (
                TARGET,
                ALLOW,
                ALLOW + CONDITION.format(op="StringLike", key="STS:EXTERNALID", value="capa-*"),
            ),
            (STAGING, SESSION, SESSION + "  externalID: other\n"),
        ],
        "CAPA-T007",
        STAGING,
        "externalID",
        "error",
        "sends 'other'",
    ),
    (
        "t007-unrequired",
        [(STAGING, SESSION, SESSION + "  externalID: capa-staging\n")],
        "CAPA-T007",
        STAGING,
        "externalID",
        "warning",
        "an externalID nothing requires protects",
    ),
    (
        "t008",
        [
            (
                STAGING,
                SESSION,
                SESSION + "  policyARNs:\n  - arn:aws:iam::aws:policy/ReadOnlyAccess\n",
            )
        ],
        "CAPA-T008",
        STAGING,
        "policyARNs:",
        "warning",
        "never sent to STS",
    ),
    (
        "t009-accounts",
        [
            (ACCOUNTS, STAGING_VERSION, STAGING_VERSION + "      iamRoleCreation: true\n"),
            (TARGET, "iamRoleCreation: false", "iamRoleCreation: true"),
        ],
        "CAPA-T009",
        ACCOUNTS,
        "iamRoleCreation",
        "warning",
        "of account staging",
    ),
    (
        "t009-stack",
        [(TARGET, "iamRoleCreation: false", "iamRoleCreation: true")],
        "CAPA-T009",
        TARGET,
        "iamRoleCreation",
        "warning",
        "iam:CreateRole on arn:*:iam::*:role/*",
    ),
    (
        "t010",
        [(ACCOUNTS, "principal: controllersRole", "principal: bootstrapUser")],
        "CAPA-T010",
        ACCOUNTS,
        "principal: bootstrapUser",
        "warning",
        "long-lived access keys",
    ),
]


@pytest.mark.parametrize(
    ("edits", "rule", "file", "needle", "severity", "words"),
    [c[1:] for c in FIRES],
    ids=[c[0] for c in FIRES],
)
def test_fires(
    example_repo: Path,
    edits: list[Edit],
    rule: str,
    file: str,
    needle: str,
    severity: str,
    words: str,
) -> None:
    apply(example_repo, edits)
    found = of_rule(run_check(example_repo), rule)
    assert [(f.file, f.line, f.severity) for f in found] == [
        (file, line_of(example_repo / file, needle), severity)
    ]
    assert words in found[0].message


# (id, edits, rule that must stay silent)
NEAR_MISSES = [
    ("t001-gov-partition", [(STAGING, "arn:aws:", "arn:aws-us-gov:")], "CAPA-T001"),
    ("t001-iso-b-partition", [(STAGING, "arn:aws:", "arn:aws-iso-b:")], "CAPA-T001"),
    ("t001-role-path", [(STAGING, ":role/", ":role/capa/team/")], "CAPA-T001"),
    ("t002-same-account-other-partition", [(STAGING, "arn:aws:", "arn:aws-cn:")], "CAPA-T002"),
    (
        "t003-root-with-condition",
        [
            (
                TARGET,
                TRUSTED,
                "        - arn:aws:iam::111111111111:root\n"
                + CONDITION.format(op="ArnEquals", key="aws:PrincipalArn", value=MGMT_ARN),
            )
        ],
        "CAPA-T003",
    ),
    (
        "t003-root-with-condition-beside-the-principal",
        [
            (
                TARGET,
                TRUSTED,
                TRUSTED
                + "        - arn:aws:iam::111111111111:root\n"
                + CONDITION.format(op="StringEquals", key="AWS:PrincipalArn", value=MGMT_ARN),
            )
        ],
        "CAPA-T003",
    ),
    (
        "t003-principal-string",
        [(TARGET, "        AWS:\n" + TRUSTED, f"        AWS: {MGMT_ARN}\n")],
        "CAPA-T003",
    ),
    (
        "t003-action-string",
        [(TARGET, "      Action:\n      - sts:AssumeRole\n", "      Action: sts:AssumeRole\n")],
        "CAPA-T003",
    ),
    (
        "t003-action-sts-star",
        [(TARGET, "      - sts:AssumeRole\n", "      - sts:*\n")],
        "CAPA-T003",
    ),
    ("t003-action-star", [(TARGET, "      - sts:AssumeRole\n", "      - '*'\n")], "CAPA-T003"),
    (
        "t003-service-statement-beside",
        [
            (
                TARGET,
                "    trustStatements:\n",
                "    trustStatements:\n    - Effect: Allow\n"
                "      Action: sts:AssumeRole\n      Principal:\n"
                "        Service: ec2.amazonaws.com\n",
            )
        ],
        "CAPA-T003",
    ),
    (
        "t004-seed-wildcard",
        [
            (
                MANAGEMENT,
                f"      - {STAGING_ARN}\n      - {LIVE_ARN}\n",
                f"      - arn:aws:iam::*:role/{ROLE}\n",
            )
        ],
        "CAPA-T004",
    ),
    (
        "t004-action-wildcard",
        [(MANAGEMENT, "      - sts:AssumeRole\n", "      - STS:Assume*\n")],
        "CAPA-T004",
    ),
    (
        "t004-allow-assume-role",
        [
            (MANAGEMENT, "spec:\n", "spec:\n  allowAssumeRole: true\n"),
            (MANAGEMENT, "      - sts:AssumeRole\n", "      - sts:TagSession\n"),
        ],
        "CAPA-T004",
    ),
    (
        "t005-prefix-on-both-sides",
        [
            (TARGET, "spec:\n", "spec:\n  namePrefix: team-\n"),
            (STAGING, f"role/{ROLE}", f"role/team-{ROLE}"),
        ],
        "CAPA-T005",
    ),
    (
        "t005-empty-suffix",
        [
            (TARGET, "spec:\n", "spec:\n  nameSuffix: ''\n"),
            (STAGING, f"role/{ROLE}", "role/controllers"),
        ],
        "CAPA-T005",
    ),
    ("t006-one-hour", [(STAGING, SESSION, SESSION + "  durationSeconds: 3600\n")], "CAPA-T006"),
    (
        "t007-same-value",
        [
            (
                TARGET,
                ALLOW,
                ALLOW
                + CONDITION.format(op="StringEquals", key="sts:ExternalId", value="capa-staging"),
            ),
            (STAGING, SESSION, SESSION + "  externalID: capa-staging\n"),
        ],
        "CAPA-T007",
    ),
    (
        "t007-like-pattern",
        [
            (
                TARGET,
                ALLOW,
                ALLOW + CONDITION.format(op="StringLike", key="sts:ExternalId", value="capa-*"),
            ),
            (STAGING, SESSION, SESSION + "  externalID: capa-staging\n"),
        ],
        "CAPA-T007",
    ),
    ("t008-empty-list", [(STAGING, SESSION, SESSION + "  policyARNs: []\n")], "CAPA-T008"),
    (
        "t009-eks-disabled",
        [(TARGET, "iamRoleCreation: false", "iamRoleCreation: true\n    disable: true")],
        "CAPA-T009",
    ),
]


@pytest.mark.parametrize(
    ("edits", "rule"), [c[1:] for c in NEAR_MISSES], ids=[c[0] for c in NEAR_MISSES]
)
def test_near_miss_does_not_fire(example_repo: Path, edits: list[Edit], rule: str) -> None:
    apply(example_repo, edits)
    assert [f.text() for f in of_rule(run_check(example_repo), rule)] == []


# (id, edits, text on the line of both findings): no grant covers either target role.
UNGRANTED = [
    (
        "action-is-not-assume-role",
        [(MANAGEMENT, "      - sts:AssumeRole\n", "      - sts:TagSession\n")],
        "- Sid: CapaAccountsAssume",
    ),
    (
        "grant-on-the-wrong-principal",
        [(MANAGEMENT, "  clusterAPIControllers:\n", "  bootstrapUser:\n    enable: true\n")],
        "spec:",
    ),
    (
        "user-principal-without-user",
        [(ACCOUNTS, "principal: controllersRole", "principal: bootstrapUser")],
        "spec:",
    ),
]


@pytest.mark.parametrize(
    ("edits", "needle"), [c[1:] for c in UNGRANTED], ids=[c[0] for c in UNGRANTED]
)
def test_t004_one_finding_per_target_role(
    example_repo: Path, edits: list[Edit], needle: str
) -> None:
    apply(example_repo, edits)
    found = of_rule(run_check(example_repo), "CAPA-T004")
    line = line_of(example_repo / MANAGEMENT, needle)
    assert [(f.file, f.line) for f in found] == [(MANAGEMENT, line), (MANAGEMENT, line)]
    assert sorted(arn for f in found for arn in (STAGING_ARN, LIVE_ARN) if arn in f.message) == [
        STAGING_ARN,
        LIVE_ARN,
    ]


def test_t002_names_the_accounts_yaml_line(example_repo: Path) -> None:
    edit(example_repo / STAGING, "::222222222222:", "::333333333333:")
    (finding,) = of_rule(run_check(example_repo), "CAPA-T002")
    assert [(r.file, r.line) for r in finding.related] == [
        (ACCOUNTS, line_of(example_repo / ACCOUNTS, 'accountId: "222222222222"'))
    ]


def test_t004_relates_the_identity_and_reports_each_role_once(example_repo: Path) -> None:
    edit(
        example_repo / MANAGEMENT,
        f"      - {STAGING_ARN}\n      - {LIVE_ARN}\n",
        "      - arn:aws:iam::444444444444:role/x\n",
    )
    found = of_rule(run_check(example_repo), "CAPA-T004")
    assert sorted((r.file, r.line) for f in found for r in f.related) == [
        (LIVE, line_of(example_repo / LIVE, "roleARN:")),
        (STAGING, line_of(example_repo / STAGING, "roleARN:")),
    ]


def test_rendered_bootstrap_user_principal_passes_the_chain_rules(example_repo: Path) -> None:
    edit(example_repo / ACCOUNTS, "principal: controllersRole", "principal: bootstrapUser")
    rerender(example_repo)
    findings = [f for f in run_check(example_repo).findings if f.rule in OURS]
    # Only T010 remains: render moves the grant to the user and the trust to its ARN.
    assert [(f.rule, f.file) for f in findings] == [("CAPA-T010", ACCOUNTS)]


def test_rendered_external_id_and_duration(example_repo: Path) -> None:
    edit(
        example_repo / ACCOUNTS,
        STAGING_VERSION,
        STAGING_VERSION + "      externalID: capa-staging\n      durationSeconds: 7200\n",
    )
    rerender(example_repo)
    report = run_check(example_repo)
    assert of_rule(report, "CAPA-T007") == []
    # T006 once, at accounts.yaml where the account declares it, not again at the identity.
    assert [(f.file, f.line) for f in of_rule(report, "CAPA-T006")] == [
        (ACCOUNTS, line_of(example_repo / ACCOUNTS, "durationSeconds"))
    ]


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("arn:aws:iam::*:role/controllers.*", STAGING_ARN, True),
        ("arn:*:iam::*:role/*.cluster-api-provider-aws.sigs.k8s.io", LIVE_ARN, True),
        ("arn:aws:iam::22222222222?:role/*", STAGING_ARN, True),
        ("arn:aws:iam::[2]*:role/*", STAGING_ARN, False),  # no character classes in IAM
        ("arn:aws:iam::*:role/Controllers.*", STAGING_ARN, False),  # resources are case-sensitive
    ],
    ids=["star", "allow-assume-role", "question-mark", "no-brackets", "case-sensitive"],
)
def test_wildcard_match(pattern: str, value: str, matches: bool) -> None:
    assert wildcard_match(pattern, value) is matches


# --- the seed guide's own YAML, as a hand-written repository ----------------------------------


@pytest.fixture
def seed_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "seed"
    shutil.copytree(SEED, repo)
    return repo


SEED_EXPECTED = {
    "CAPA-T001": [],  # both roleARNs are well-formed role ARNs (account IDs filled in)
    "CAPA-T002": [],  # no accounts.yaml: nothing declares which account is whose
    # T003: both targets trust exactly the controllers role the management stack grants to.
    "CAPA-T003": [],
    # T004: arn:aws:iam::*:role/controllers.cluster-api-provider-aws.sigs.k8s.io covers both roles.
    "CAPA-T004": [],
    "CAPA-T005": [],  # both roles are named as the target stacks (default affixes) create them
    "CAPA-T006": [],  # no durationSeconds anywhere
    "CAPA-T007": [],  # no externalID, and no trust statement requires sts:ExternalId
    "CAPA-T008": [],  # no policyARNs
    # T009: both target stacks set eks.iamRoleCreation: true.
    "CAPA-T009": ["bootstrap-target-live.yaml", "bootstrap-target-staging.yaml"],
    # T010: bootstrapUser is enabled, but the AssumeRole grant is on the controllers role.
    "CAPA-T010": [],
    "CAPA-T011": [],  # the guide sets no sessionName, externalID or inlinePolicy
}


def test_seed_guide_trust_findings(seed_repo: Path) -> None:
    report = run_check(seed_repo)
    assert {rule: sorted(f.file for f in of_rule(report, rule)) for rule in OURS} == SEED_EXPECTED


# (id, edits, rule, file, text on the finding's line, words)
SEED_FIRES = [
    (
        "t003-other-role",
        [("bootstrap-target-live.yaml", f"role/{ROLE}", "role/admin")],
        "CAPA-T003",
        "bootstrap-target-live.yaml",
        "role/admin",
        f"not the management principal (arn:*:iam::111111111111:role/{ROLE})",
    ),
    (
        "t003-star",
        [("bootstrap-target-live.yaml", f'"{MGMT_ARN}"', '"*"')],
        "CAPA-T003",
        "bootstrap-target-live.yaml",
        '- "*"',
        "every AWS principal",
    ),
    (
        "t004-narrow-grant",
        [("bootstrap-management.yaml", "::*:", "::222222222222:")],
        "CAPA-T004",
        "bootstrap-management.yaml",
        '- "arn:aws:iam::222222222222',
        LIVE_ARN,
    ),
    (
        "t005-other-name",
        [
            (
                "identities.yaml",
                f"333333333333:role/{ROLE}",
                "333333333333:role/controllers.example.com",
            )
        ],
        "CAPA-T005",
        "identities.yaml",
        "controllers.example.com",
        "names role controllers.example.com",
    ),
    (
        "t007-required-by-nobody",
        [
            (
                "bootstrap-target-live.yaml",
                '        Effect: "Allow"\n',
                '        Effect: "Allow"\n        Condition:\n          '
                'StringEquals: {"sts:ExternalId": live}\n',
            )
        ],
        "CAPA-T007",
        "bootstrap-target-live.yaml",
        "sts:ExternalId",
        "no AWSClusterRoleIdentity sends",
    ),
    (
        "t010-grant-on-user",
        [
            (
                "bootstrap-management.yaml",
                "    enable: true\n  clusterAPIControllers:\n",
                "    enable: true\n",
            )
        ],
        "CAPA-T010",
        "bootstrap-management.yaml",
        "enable: true",
        "long-lived access keys",
    ),
]


@pytest.mark.parametrize(
    ("edits", "rule", "file", "needle", "words"),
    [c[1:] for c in SEED_FIRES],
    ids=[c[0] for c in SEED_FIRES],
)
def test_seed_variants_fire(
    seed_repo: Path, edits: list[Edit], rule: str, file: str, needle: str, words: str
) -> None:
    apply(seed_repo, edits)
    found = of_rule(run_check(seed_repo), rule)
    assert [(f.file, f.line) for f in found] == [(file, line_of(seed_repo / file, needle))]
    assert words in found[0].message


# --- hub and spoke (T003/T004 through role identities), sts:TagSession beside AssumeRole ----------


STAGING_IDENTITY = "overlays/staging/identity.yaml"
STAGING_STACK = "bootstrap/staging.yaml"
LIVE_STACK = "bootstrap/live.yaml"
SOURCE_DEFAULT = "    kind: AWSClusterControllerIdentity\n    name: default\n"
SOURCE_LIVE = "    kind: AWSClusterRoleIdentity\n    name: live-identity\n"
HUB_GRANT = (
    "  clusterAPIControllers:\n    extraStatements:\n    - Effect: Allow\n      Action:\n"
    f"      - sts:AssumeRole\n      Resource:\n      - {STAGING_ARN}\n"
)


def spoke(repo: Path) -> None:
    """staging-identity chains through live-identity: live's role assumes staging's."""
    edit(repo / STAGING_IDENTITY, SOURCE_DEFAULT, SOURCE_LIVE)


def findings(repo: Path, rule: str) -> list[tuple[str, int]]:
    return [(f.file, f.line) for f in of_rule(run_check(repo), rule)]


def test_t003_spoke_must_trust_the_hub_role_not_management(example_repo: Path) -> None:
    spoke(example_repo)
    found = of_rule(run_check(example_repo), "CAPA-T003")
    path = example_repo / STAGING_STACK
    assert [(f.file, f.line) for f in found] == [(STAGING_STACK, line_of(path, MGMT_ARN))]
    assert LIVE_ARN in found[0].message and "hub role of 'live-identity'" in found[0].message
    assert [r.file for r in found[0].related] == ["overlays/live/identity.yaml"]


def test_t004_hub_stack_must_grant_the_spoke(example_repo: Path) -> None:
    spoke(example_repo)
    found = of_rule(run_check(example_repo), "CAPA-T004")
    # The management stack grants staging's role, but CAPA never uses that grant here.
    assert [f.file for f in found] == [LIVE_STACK]
    assert STAGING_ARN in found[0].message and LIVE_ARN in found[0].message


def test_hub_and_spoke_near_miss(example_repo: Path) -> None:
    spoke(example_repo)
    edit(example_repo / STAGING_STACK, MGMT_ARN, LIVE_ARN)
    edit(example_repo / LIVE_STACK, "  clusterAPIControllers:\n", HUB_GRANT)
    assert findings(example_repo, "CAPA-T003") == []
    assert findings(example_repo, "CAPA-T004") == []


def test_spoke_trusting_both_hub_and_management_fires(example_repo: Path) -> None:
    spoke(example_repo)
    edit(
        example_repo / STAGING_STACK,
        f"        - {MGMT_ARN}\n",
        f"        - {LIVE_ARN}\n        - {MGMT_ARN}\n",
    )
    edit(example_repo / LIVE_STACK, "  clusterAPIControllers:\n", HUB_GRANT)
    assert findings(example_repo, "CAPA-T003") == [
        (STAGING_STACK, line_of(example_repo / STAGING_STACK, MGMT_ARN))
    ]


def test_chain_from_default_still_trusts_management(example_repo: Path) -> None:
    # A target that trusts the hub although its identity chains from default: T003 as before.
    edit(example_repo / STAGING_STACK, MGMT_ARN, LIVE_ARN)
    assert findings(example_repo, "CAPA-T003") == [
        (STAGING_STACK, line_of(example_repo / STAGING_STACK, LIVE_ARN))
    ]


@pytest.mark.parametrize(
    ("granted", "fires"),
    [(False, True), (True, False)],
    ids=["no-stack-grants", "hub-stack-grants"],
)
def test_t004_hand_written_hub_and_spoke(example_repo: Path, granted: bool, fires: bool) -> None:
    (example_repo / "accounts.yaml").unlink()  # judged by content
    spoke(example_repo)
    edit(example_repo / "bootstrap/management.yaml", f"      - {STAGING_ARN}\n", "")
    if granted:
        edit(example_repo / LIVE_STACK, "  clusterAPIControllers:\n", HUB_GRANT)
    # Without accounts.yaml base/ is applied as well: only staging's role is asked about here.
    found = [
        (f.file, f.line)
        for f in of_rule(run_check(example_repo), "CAPA-T004")
        if STAGING_ARN in f.message
    ]
    assert found == (
        [(STAGING_IDENTITY, line_of(example_repo / STAGING_IDENTITY, "roleARN"))] if fires else []
    )


# --- sts:TagSession (EKS Pod Identity) --------------------------------------------------------


@pytest.mark.parametrize(
    "actions",
    [
        "      - sts:AssumeRole\n      - sts:TagSession\n",
        "      - sts:TagSession\n      - sts:AssumeRole\n",
    ],
    ids=["after", "before"],
)
def test_tag_session_beside_assume_role_is_accepted(example_repo: Path, actions: str) -> None:
    for stack in (STAGING_STACK, "bootstrap/management.yaml"):
        edit(example_repo / stack, "      - sts:AssumeRole\n", actions)
    assert findings(example_repo, "CAPA-T003") == []
    assert findings(example_repo, "CAPA-T004") == []


def test_tag_session_alone_is_no_trust(example_repo: Path) -> None:
    edit(example_repo / STAGING_STACK, "      - sts:AssumeRole\n", "      - sts:TagSession\n")
    assert [f for f, _ in findings(example_repo, "CAPA-T003")] == [STAGING_STACK]


@pytest.mark.parametrize(
    ("trusted", "fires"),
    [
        ("arn:aws:iam::333333333333:role/hub-controllers", False),  # the hub's role
        ("arn:aws:iam::333333333333:role/other-role", True),
    ],
    ids=["hub-role", "another-role"],
)
def test_t003_hand_written_spoke_may_trust_the_hub_role(
    example_repo: Path, trusted: str, fires: bool
) -> None:
    (example_repo / "accounts.yaml").unlink()  # judged by content: stacks name no account
    spoke(example_repo)
    edit(
        example_repo / "overlays/live/identity.yaml",
        LIVE_ARN,
        "arn:aws:iam::333333333333:role/hub-controllers",
    )
    edit(example_repo / STAGING_STACK, MGMT_ARN, trusted)
    found = [
        (f.file, f.line)
        for f in of_rule(run_check(example_repo), "CAPA-T003")
        if f.file == STAGING_STACK
    ]
    assert found == (
        [(STAGING_STACK, line_of(example_repo / STAGING_STACK, trusted))] if fires else []
    )


# --- a small bad and good example of each rule (tests/data/rules/trust/) --------------------------


@pytest.mark.parametrize("example", examples("trust"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)
