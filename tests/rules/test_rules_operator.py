"""Operator mode: render, fn and check with `credentials: operator`; rules CAPA-O001…O004."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import edit, line_of, of_rule, run_check
from kustomize_tools import flux_build, keyed
from rule_examples import Example, assert_example, examples

from capa_accounts.cli import main
from capa_accounts.kustomize_plugin.render import load_base

runner = CliRunner()
COMPONENTS = (
    "https://github.com/kubernetes-sigs/cluster-api-provider-aws/releases/{}/"
    "infrastructure-components.yaml"
)
CLUSTER_KINDS = {
    "Cluster",
    "AWSManagedCluster",
    "AWSManagedControlPlane",
    "MachinePool",
    "AWSManagedMachinePool",
}
# SOPS output as `sops --encrypt --age ... --encrypted-regex '^(data|stringData)$'` writes it.
# As SOPS writes a value: a 32-byte IV, a 16-byte tag (getsops/sops aes/cipher.go).
ENC = (
    "ENC[AES256_GCM,data:Zm9vYmFy,iv:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=,"
    "tag:BwgJCgsMDQ4PEBESExQVFg==,type:str]"
)
SOPS_SECRET = f"""\
apiVersion: v1
kind: Secret
metadata:
    name: staging-credentials
    namespace: capa-staging
type: Opaque
stringData:
    AWS_B64ENCODED_CREDENTIALS: {ENC}
    AWS_REGION: {ENC}
sops:
    age:
        - recipient: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCg==
            -----END AGE ENCRYPTED FILE-----
    lastmodified: "2026-01-01T00:00:00Z"
    mac: {ENC}
    encrypted_regex: ^(data|stringData)$
    version: 3.9.0
"""


def load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def snapshot(repo: Path) -> dict[str, bytes]:
    return {
        p.relative_to(repo).as_posix(): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file()
    }


def switch(repo: Path, mode: str, capa_version: str | None = None) -> str:
    """Set spec.credentials (one line of accounts.yaml) and render; returns render's output."""
    accounts = repo / "accounts.yaml"
    text = accounts.read_text(encoding="utf-8")
    old = "operator" if "credentials: operator" in text else "roleIdentity"
    edit(accounts, f"credentials: {old}", f"credentials: {mode}")
    if capa_version:
        edit(
            accounts,
            "  accounts:\n",
            f"  operator:\n    capaVersion: {capa_version}\n  accounts:\n",
        )
    result = runner.invoke(main, ["render", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def operator_repo(example_repo: Path) -> Path:
    switch(example_repo, "operator")
    return example_repo


# --- render -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [None, "v2.10.0"], ids=["default-version", "capaVersion"])
def test_render_writes_one_pinned_filtered_provider_per_account(
    example_repo: Path, version: str | None
) -> None:
    switch(example_repo, "operator", version)
    expected = version or "v2.11.1"
    for account in ("staging", "live"):
        (provider,) = load(example_repo / f"providers/{account}/provider.yaml")
        assert provider["apiVersion"] == "operator.cluster.x-k8s.io/v1alpha2"
        assert provider["metadata"] == {"name": f"aws-{account}", "namespace": f"capa-{account}"}
        assert provider["spec"] == {
            "version": expected,
            "fetchConfig": {"url": COMPONENTS.format(expected)},
            "configSecret": {"name": f"{account}-credentials", "namespace": f"capa-{account}"},
            "manager": {
                "additionalArgs": {"--watch-filter": account},
                "featureGates": {"MachinePool": True, "AutoControllerIdentityCreator": False},
            },
            "patches": [
                {
                    "target": {
                        "group": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "capa-manager-role",
                    },
                    "patch": '[{"op": "replace", "path": "/metadata/name", '
                    f'"value": "capa-{account}-manager-role"}}]',
                },
                {
                    "target": {
                        "group": "rbac.authorization.k8s.io",
                        "kind": "ClusterRoleBinding",
                        "name": "capa-manager-rolebinding",
                    },
                    "patch": '[{"op": "replace", "path": "/metadata/name", '
                    f'"value": "capa-{account}-manager-rolebinding"}}, '
                    '{"op": "replace", "path": "/roleRef/name", '
                    f'"value": "capa-{account}-manager-role"}}]',
                },
            ],
        }
        (namespace,) = load(example_repo / f"providers/{account}/namespace.yaml")
        assert namespace["metadata"]["name"] == f"capa-{account}"


@pytest.mark.e2e  # a real kustomize builds it
def test_render_labels_every_cluster_object_and_points_control_planes_at_default(
    operator_repo: Path,
) -> None:
    for account in ("staging", "live"):
        items = flux_build(operator_repo / "overlays" / account)
        kinds = {i["kind"] for i in items}
        assert "AWSClusterRoleIdentity" not in kinds
        assert kinds >= CLUSTER_KINDS
        for item in (i for i in items if i["kind"] in CLUSTER_KINDS):
            assert item["metadata"]["labels"]["cluster.x-k8s.io/watch-filter"] == account, item
        plane = next(i for i in items if i["kind"] == "AWSManagedControlPlane")
        assert plane["spec"]["identityRef"] == {
            "kind": "AWSClusterControllerIdentity",
            "name": "default",
        }
    management = {i["kind"]: i for i in flux_build(operator_repo / "overlays/management")}
    assert management["AWSClusterControllerIdentity"]["spec"]["allowedNamespaces"] == {
        "list": ["live", "staging"]
    }
    assert "ValidatingAdmissionPolicy" not in management  # its own Kustomization, without force
    policy = {i["kind"] for i in flux_build(operator_repo / "overlays/management/admission-policy")}
    assert policy == {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}


def test_render_stages_flux_and_decrypts_only_where_the_secret_is(operator_repo: Path) -> None:
    flux = operator_repo / "clusters/management"
    (provider,) = load(flux / "capa-staging-provider.yaml")
    assert provider["spec"]["path"] == "./providers/staging"
    assert provider["spec"]["decryption"] == {"provider": "sops", "secretRef": {"name": "sops-age"}}
    assert provider["spec"]["wait"] is True
    assert provider["spec"]["deletionPolicy"] == "Orphan"
    (account,) = load(flux / "capa-staging.yaml")
    assert account["spec"]["dependsOn"] == [
        {"name": "capa-management"},
        {"name": "capa-management-admission-policy"},
        {"name": "capa-staging-provider"},
    ]
    (management,) = load(flux / "capa-management.yaml")
    assert management["spec"]["force"] is True and "dependsOn" not in management["spec"]


def test_render_bootstrap_enables_the_target_user_and_grants_nothing(operator_repo: Path) -> None:
    assert not (operator_repo / "bootstrap/management.yaml").exists()
    (stack,) = load(operator_repo / "bootstrap/staging.yaml")
    assert stack["spec"] == {
        "bootstrapUser": {"enable": True},
        "eks": {"iamRoleCreation": False, "managedMachinePool": {"disable": False}},
    }
    for path in operator_repo.rglob("*.yaml"):
        assert "kind: Secret" not in path.read_text(encoding="utf-8"), path


@pytest.mark.e2e  # slow: out of the fast lane
def test_every_directory_flux_applies_builds_plain(operator_repo: Path) -> None:
    for flux_doc in sorted((operator_repo / "clusters/management").glob("*.yaml")):
        (doc,) = load(flux_doc)
        assert flux_build(operator_repo / doc["spec"]["path"]), flux_doc


@pytest.mark.e2e  # a real kustomize builds it
def test_the_users_encrypted_secret_is_listed_once_it_exists(operator_repo: Path) -> None:
    secret = operator_repo / "providers/staging/credentials.sops.yaml"
    secret.write_text(SOPS_SECRET, encoding="utf-8")
    findings = of_rule(run_check(operator_repo), "CAPA-R001")
    assert [(f.file, f.severity) for f in findings] == [
        ("providers/staging/kustomization.yaml", "error")
    ]
    result = runner.invoke(main, ["render", "--repo", str(operator_repo)])
    assert result.exit_code == 0 and "update providers/staging/kustomization.yaml" in result.output
    built = keyed(flux_build(operator_repo / "providers/staging"))
    assert ("v1", "Secret", "capa-staging", "staging-credentials") in built
    report = run_check(operator_repo)
    assert not of_rule(report, "CAPA-R001") and not of_rule(report, "CAPA-S002")
    assert secret.read_text(encoding="utf-8") == SOPS_SECRET  # render never touches it


def test_switching_back_removes_the_operator_files(example_repo: Path, tmp_path: Path) -> None:
    pristine = tmp_path / "pristine"
    shutil.copytree(example_repo, pristine)
    output = switch(example_repo, "operator")
    assert "create providers/staging/provider.yaml" in output
    assert "delete overlays/staging/identity.yaml" in output
    output = switch(example_repo, "roleIdentity")
    assert "delete providers/staging/provider.yaml" in output
    assert "delete clusters/management/capa-staging-provider.yaml" in output
    assert not (example_repo / "providers").exists()
    assert snapshot(example_repo) == snapshot(pristine)


@pytest.mark.parametrize(
    ("name", "extra", "message"),
    [
        ("capa-staging-ns", "namespace: capa-staging", "namespace"),
        ("staging-provider", "", "Flux Kustomization"),
    ],
    ids=["provider-namespace-taken", "provider-kustomization-taken"],
)
def test_names_operator_mode_adds_must_not_collide(
    example_repo: Path, name: str, extra: str, message: str
) -> None:
    entry = (
        f'    - name: {name}\n      accountId: "444444444444"\n      region: eu-west-1\n'
        f'      kubernetesVersion: "1.35"\n'
    )
    if extra:
        entry += f"      {extra}\n"
    with (example_repo / "accounts.yaml").open("a", encoding="utf-8") as accounts:
        accounts.write(entry)  # the last item of the list, which ends the file
    edit(example_repo / "accounts.yaml", "credentials: roleIdentity", "credentials: operator")
    before = snapshot(example_repo)
    result = runner.invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 2
    assert (
        f"accounts.yaml:{line_of(example_repo / 'accounts.yaml', 'name: staging')}:"
        in result.output
    )
    assert message in result.output and "rename one of them" in result.output
    assert snapshot(example_repo) == before


# --- the KRM function ---------------------------------------------------------------------


def _staging_config(kind: str) -> dict[str, Any]:
    settings = {
        "accountId": "222222222222",
        "managementAccountId": "111111111111",
        "region": "eu-west-1",
        "kubernetesVersion": "1.35",
        "credentials": "operator",
    }
    if kind == "ConfigMap":
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "staging"},
            "data": settings,
        }
    return {
        "apiVersion": "capa-accounts.dev/v1alpha1",
        "kind": "Account",
        "metadata": {"name": "staging"},
        "spec": settings,
    }


@pytest.mark.e2e  # a real kustomize builds it
@pytest.mark.parametrize("kind", ["Account", "ConfigMap"])
def test_fn_gives_the_objects_render_writes(operator_repo: Path, kind: str) -> None:
    items = load_base(operator_repo)
    for item in items:
        item["metadata"].pop("annotations")
    text = yaml.safe_dump(
        {
            "apiVersion": "config.kubernetes.io/v1",
            "kind": "ResourceList",
            "items": items,
            "functionConfig": _staging_config(kind),
        }
    )
    result = runner.invoke(main, ["fn"], input=text)
    assert result.exit_code == 0, result.output
    out = yaml.safe_load(result.stdout)
    rendered = [
        *flux_build(operator_repo / "overlays/staging"),
        *flux_build(operator_repo / "providers/staging"),
    ]
    assert keyed(out["items"]) == keyed(rendered)
    again = runner.invoke(main, ["fn"], input=result.stdout)  # idempotent
    assert again.exit_code == 0 and again.stdout == result.stdout


def test_fn_refuses_an_unknown_credentials_mode() -> None:
    config = _staging_config("Account")
    config["spec"]["credentials"] = "static"
    text = yaml.safe_dump(
        {
            "apiVersion": "config.kubernetes.io/v1",
            "kind": "ResourceList",
            "items": [],
            "functionConfig": config,
        }
    )
    result = runner.invoke(main, ["fn"], input=text)
    assert result.exit_code == 1
    message = yaml.safe_load(result.stdout)["results"][0]["message"]
    assert "spec.credentials: 'static' is not roleIdentity or operator" in message


# --- check on a rendered operator repository ----------------------------------------------


def test_check_warns_once_at_credentials(operator_repo: Path) -> None:
    findings = of_rule(run_check(operator_repo), "CAPA-O004")
    assert [(f.file, f.line, f.severity) for f in findings] == [
        ("accounts.yaml", line_of(operator_repo / "accounts.yaml", "credentials:"), "warning")
    ]
    result = runner.invoke(main, ["check", "--repo", str(operator_repo)])
    assert "[CAPA-O004]" in result.output


def test_check_finds_no_error_in_a_rendered_operator_repo(operator_repo: Path) -> None:
    errors = [f.text() for f in run_check(operator_repo).findings if f.severity == "error"]
    assert errors == []


def test_role_identity_repo_has_no_operator_finding(example_repo: Path) -> None:
    report = run_check(example_repo)
    assert not [f for f in report.findings if f.rule.startswith("CAPA-O")]


# --- hand-written repositories --------------------------------------------------------------

PROVIDER = """\
apiVersion: operator.cluster.x-k8s.io/v1alpha2
kind: InfrastructureProvider
metadata:
  name: {name}
  namespace: {namespace}
spec:
  version: v2.11.1
"""
FETCH = (
    "  fetchConfig:\n    url: https://github.com/kubernetes-sigs/cluster-api-provider-aws/"
    "releases/v2.11.1/infrastructure-components.yaml\n"
)
CONFIG_REF = "  configSecret:\n    name: staging-credentials\n    namespace: capa-staging\n"
FILTER = "  manager:\n    additionalArgs:\n      {key}: {value}\n"
GOOD = (
    PROVIDER.format(name="aws-staging", namespace="capa-staging")
    + FETCH
    + CONFIG_REF
    + FILTER.format(key='"--watch-filter"', value="staging")
)
CLUSTER = """\
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: AWSManagedControlPlane
metadata:
  name: my-eks-cluster
  namespace: staging
  labels:
    cluster.x-k8s.io/watch-filter: {label}
spec:
  identityRef:
    kind: AWSClusterControllerIdentity
    name: default
  eksClusterName: my-eks-cluster
  region: eu-west-1
  version: "1.35"
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterControllerIdentity
metadata:
  name: default
spec:
  allowedNamespaces:
    list: [staging]
"""


def hand_written(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "hand"
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    return repo


def findings(repo: Path, rule: str) -> list[tuple[str, int, str]]:
    return [(f.file, f.line, f.message) for f in of_rule(run_check(repo), rule)]


SEED_PROVIDER = textwrap.dedent("""\
    apiVersion: operator.cluster.x-k8s.io/v1alpha2
    kind: InfrastructureProvider
    metadata:
      name: aws-staging
      namespace: capa-staging
    spec:
      version: v2.3.0
      configSecret:
        name: staging-creds # must contain AWS_B64ENCODED_CREDENTIALS and AWS_REGION
      manager:
        additionalArgs:
          watch-filter: "env=staging"
    """)
SEED_CONTROL_PLANE = textwrap.dedent("""\
    apiVersion: controlplane.cluster.x-k8s.io/v1beta2
    kind: AWSManagedControlPlane
    metadata:
      name: my-eks-cluster
      namespace: staging
    spec:
      identityRef:
        kind: AWSClusterRoleIdentity
        name: staging-identity
      region: eu-west-1
      version: "1.35"
    ---
    apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
    kind: AWSClusterRoleIdentity
    metadata:
      name: staging-identity
    spec:
      roleARN: arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io
      sourceIdentityRef:
        kind: AWSClusterControllerIdentity
        name: default
      allowedNamespaces:
        list:
          - staging
    """)


def test_the_seed_guides_provider_fires_o002_twice_and_o003(tmp_path: Path) -> None:
    repo = hand_written(
        tmp_path, {"provider.yaml": SEED_PROVIDER, "cluster.yaml": SEED_CONTROL_PLANE}
    )
    o002 = findings(repo, "CAPA-O002")
    assert [(f, line) for f, line, _ in o002] == [("provider.yaml", 12), ("provider.yaml", 12)]
    assert "lacks `--`" in o002[0][2] and "positional argument" in o002[0][2]
    assert "'env=staging'" in o002[1][2] and "not a valid label value" in o002[1][2]
    o003 = findings(repo, "CAPA-O003")
    assert [(f, line) for f, line, _ in o003] == [("provider.yaml", 4)]
    assert "not a predefined provider name" in o003[0][2]
    assert not findings(repo, "CAPA-O001")  # it has a configSecret and a (broken) filter


O001_CASES = [
    ("no-config-secret", GOOD.replace(CONFIG_REF, ""), 6, "no configSecret"),
    (
        "no-watch-filter",
        GOOD.replace(FILTER.format(key='"--watch-filter"', value="staging"), ""),
        6,
        "no `--watch-filter` argument",
    ),
    (
        "empty-watch-filter",
        GOOD.replace('"--watch-filter": staging', '"--watch-filter": ""'),
        15,
        "turns the filter off",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "message"), [c[1:] for c in O001_CASES], ids=[c[0] for c in O001_CASES]
)
def test_o001_fires_on_a_provider_without_keys_or_filter(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    repo = hand_written(
        tmp_path, {"provider.yaml": text, "cluster.yaml": CLUSTER.format(label="staging")}
    )
    found = findings(repo, "CAPA-O001")
    assert [(f, n) for f, n, _ in found] == [("provider.yaml", line)]
    assert message in found[0][2]


@pytest.mark.parametrize(
    "text",
    [
        GOOD,
        PROVIDER.format(name="aws", namespace="capa-system"),  # one ordinary CAPA via the operator
    ],
    ids=["complete-provider", "single-aws-provider"],
)
def test_o001_near_miss(tmp_path: Path, text: str) -> None:
    repo = hand_written(
        tmp_path, {"provider.yaml": text, "cluster.yaml": CLUSTER.format(label="staging")}
    )
    assert findings(repo, "CAPA-O001") == []


O002_CASES = [
    (
        "single-dash",
        GOOD.replace('"--watch-filter"', '"-watch-filter"'),
        "staging",
        [("provider.yaml", 15, "shorthand flags")],
    ),
    (
        "invalid-value",
        GOOD.replace('"--watch-filter": staging', '"--watch-filter": staging/eu'),
        "staging",
        [("provider.yaml", 15, "matches nothing")],
    ),
    ("cluster-without-label", GOOD, "other", [("cluster.yaml", 7, "label value 'other'")]),
]


@pytest.mark.parametrize(
    ("text", "label", "expected"), [c[1:] for c in O002_CASES], ids=[c[0] for c in O002_CASES]
)
def test_o002_fires(
    tmp_path: Path, text: str, label: str, expected: list[tuple[str, int, str]]
) -> None:
    repo = hand_written(
        tmp_path, {"provider.yaml": text, "cluster.yaml": CLUSTER.format(label=label)}
    )
    found = findings(repo, "CAPA-O002")
    assert [(f, n) for f, n, _ in found] == [(f, n) for f, n, _ in expected]
    for (_, _, message), (_, _, needle) in zip(found, expected, strict=True):
        assert needle in message


def test_o002_fires_on_a_rendered_cluster_that_lost_its_label(operator_repo: Path) -> None:
    plane = operator_repo / "overlays/live/cluster-live.yaml"
    edit(
        plane,
        "    cluster.x-k8s.io/watch-filter: live\nspec:\n  identityRef",
        "spec:\n  identityRef",
    )
    found = findings(operator_repo, "CAPA-O002")
    lines = plane.read_text(encoding="utf-8").splitlines()
    labels = lines.index("  name: live-control-plane") + 3  # 1-based line of its `labels:`
    assert [(f, n) for f, n, _ in found] == [("overlays/live/cluster-live.yaml", labels)]
    assert "no label" in found[0][2] and "'aws-live'" in found[0][2]


def test_o002_near_miss(tmp_path: Path) -> None:
    repo = hand_written(
        tmp_path, {"provider.yaml": GOOD, "cluster.yaml": CLUSTER.format(label="staging")}
    )
    assert findings(repo, "CAPA-O002") == []


O003_CASES = [
    ("not-predefined", GOOD.replace(FETCH, ""), [("provider.yaml", 4, "not a predefined")]),
    (
        "releases-url",
        GOOD.replace("releases/v2.11.1/infrastructure-components.yaml", "releases"),
        [("provider.yaml", 9, "clusterctl")],
    ),
    (
        "same-name-two-namespaces",
        GOOD + "---\n" + GOOD.replace("namespace: capa-staging", "namespace: capa-other"),
        [("provider.yaml", 20, "another InfrastructureProvider is named 'aws-staging'")],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in O003_CASES], ids=[c[0] for c in O003_CASES]
)
def test_o003_fires(tmp_path: Path, text: str, expected: list[tuple[str, int, str]]) -> None:
    repo = hand_written(
        tmp_path, {"provider.yaml": text, "cluster.yaml": CLUSTER.format(label="staging")}
    )
    found = findings(repo, "CAPA-O003")
    assert [(f, n) for f, n, _ in found] == [(f, n) for f, n, _ in expected]
    assert expected[0][2] in found[0][2]


@pytest.mark.parametrize(
    "text",
    [
        GOOD,
        PROVIDER.format(name="aws", namespace="capa-system"),  # predefined: no fetchConfig needed
    ],
    ids=["aws-staging-with-fetch-config", "predefined-aws"],
)
def test_o003_near_miss(tmp_path: Path, text: str) -> None:
    repo = hand_written(tmp_path, {"provider.yaml": text})
    assert findings(repo, "CAPA-O003") == []


def test_o004_fires_at_the_first_provider_of_a_hand_written_repo(tmp_path: Path) -> None:
    live = GOOD.replace("staging", "live")
    repo = hand_written(tmp_path, {"a.yaml": GOOD, "b.yaml": live})
    found = of_rule(run_check(repo), "CAPA-O004")
    assert [(f.file, f.line, f.severity) for f in found] == [("a.yaml", 2, "warning")]


def test_o004_near_miss_single_aws_provider(tmp_path: Path) -> None:
    repo = hand_written(tmp_path, {"p.yaml": PROVIDER.format(name="aws", namespace="capa-system")})
    assert findings(repo, "CAPA-O004") == []


def test_c004_stays_silent_in_a_hand_written_operator_repo(tmp_path: Path) -> None:
    repo = hand_written(
        tmp_path, {"provider.yaml": GOOD, "cluster.yaml": CLUSTER.format(label="staging")}
    )
    assert findings(repo, "CAPA-C004") == []


@pytest.mark.parametrize("rule", ["CAPA-O001", "CAPA-O002", "CAPA-O003", "CAPA-O004"])
def test_explain_prints_the_rule(rule: str) -> None:
    result = runner.invoke(main, ["explain", rule])
    lines = result.output.splitlines()
    assert result.exit_code == 0 and lines[0].startswith(f"{rule} (")
    assert {"Why", "Bad", "Good", "Fix"} <= set(lines)


def test_a_provider_customised_in_base_keeps_its_settings(example_repo: Path) -> None:
    (example_repo / "base/provider.yaml").write_text(
        textwrap.dedent("""\
        # Settings every account's CAPA shares; render fills in name, version and filter.
        apiVersion: operator.cluster.x-k8s.io/v1alpha2
        kind: InfrastructureProvider
        metadata:
          name: aws
        spec:
          manager:
            featureGates:
              MachinePool: true
        """),
        encoding="utf-8",
    )
    edit(
        example_repo / "base/kustomization.yaml",
        "  - cluster.yaml\n",
        "  - cluster.yaml\n  - provider.yaml\n",
    )
    switch(example_repo, "operator")
    (provider,) = load(example_repo / "providers/live/provider.yaml")
    assert provider["metadata"] == {"name": "aws-live", "namespace": "capa-live"}
    assert provider["spec"]["manager"] == {
        "featureGates": {"MachinePool": True, "AutoControllerIdentityCreator": False},
        "additionalArgs": {"--watch-filter": "live"},
    }
    assert not (example_repo / "overlays/live/provider.yaml").exists()
    report = run_check(example_repo)
    assert [
        f.text()
        for f in report.findings
        if f.rule.startswith(("CAPA-O", "CAPA-R")) and f.severity == "error"
    ] == []


# --- a small bad and good example of each rule (tests/data/rules/operator/) -----------------------


@pytest.mark.parametrize("example", examples("operator"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)
