"""clusterawsadm configurations are clusterawsadm's input, not Kubernetes objects: they need no
metadata (CAPA-R007 is for what kustomize builds), and an unknown key is judged by its effect,
since clusterawsadm decodes its config without strictness (CAPA-R004)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from capa_accounts.cli import main

HEAD = (
    "apiVersion: bootstrap.aws.infrastructure.cluster.x-k8s.io/v1beta1\nkind: AWSIAMConfiguration\n"
)
# CAPA docs/book/src/topics/eks/disabling.md (cluster-api-provider-aws @ 2cf09d78)
EKS_DISABLED = HEAD + "spec:\n  eks:\n    disable: true\n"


def check(text: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["check", "-", "--format", "json", *args], input=text)


def found(result: Result, rule: str | None = None) -> list[tuple[str, str, int]]:
    report = json.loads(result.stdout)
    return [
        (f["rule"], f["severity"], f["line"])
        for f in report["findings"]
        if rule is None or f["rule"] == rule
    ]


def test_a_clusterawsadm_config_from_capas_docs_needs_no_metadata() -> None:
    result = check(EKS_DISABLED)
    assert (result.exit_code, found(result)) == (0, [])


def test_two_configs_without_names_are_no_duplicate_id() -> None:
    result = check(EKS_DISABLED + "---\n" + EKS_DISABLED)
    assert (result.exit_code, found(result)) == (0, [])


@pytest.mark.parametrize(
    "text",
    [
        # a Kubernetes object without a name: kustomize refuses it
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {}}\n",
        # the same kind in another API group is no clusterawsadm configuration
        "apiVersion: example.com/v1\nkind: AWSIAMConfiguration\nspec: {}\n",
    ],
    ids=["configmap", "other-group"],
)
def test_near_miss_a_kubernetes_object_without_a_name_is_still_r007(text: str) -> None:
    result = check(text)
    assert result.exit_code == 1 and [r for r, _s, _l in found(result)] == ["CAPA-R007"]
