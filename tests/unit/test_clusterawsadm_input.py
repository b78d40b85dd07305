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


# --- CAPA-R004 by effect -----------------------------------------------------------------------

V1ALPHA1 = HEAD.replace("v1beta1", "v1alpha1")


@pytest.mark.parametrize(
    ("text", "severity", "needle"),
    [
        # CAPA's docs and the seed guide: the key is `disable`, whose default is false anyway
        (
            HEAD + "spec:\n  clusterAPIControllers:\n    disabled: false\n",
            "warning",
            "changes nothing; write `disable`",
        ),
        # the writer wanted the role off: clusterawsadm creates it all the same
        (
            HEAD + "spec:\n  clusterAPIControllers:\n    disabled: true\n",
            "error",
            "`disabled: true` is silently lost",
        ),
        # v1alpha1's removed `eks.enable`: EKS is on unless `eks.disable: true`
        (V1ALPHA1 + "spec:\n  eks:\n    enable: true\n", "warning", "changes nothing"),
        (V1ALPHA1 + "spec:\n  eks:\n    enable: false\n", "error", "silently lost"),
        # a string field with a non-zero default (defaults.go): the same value changes nothing
        (HEAD + "spec:\n  partiton: aws\n", "warning", "`partition` defaults to 'aws'"),
        (HEAD + "spec:\n  partiton: aws-cn\n", "error", "keeps its default 'aws'"),
        # a v1beta1 field v1alpha1 never had is dropped too
        (V1ALPHA1 + "spec:\n  allowAssumeRole: true\n", "error", "silently lost"),
        # a wrong type never equals the default
        (HEAD + "spec:\n  bootstrapUser:\n    enabled: 'false'\n", "error", "silently lost"),
    ],
    ids=[
        "disabled-false",
        "disabled-true",
        "v1alpha1-enable-true",
        "v1alpha1-enable-false",
        "same-string-default",
        "other-string",
        "v1beta1-only-in-v1alpha1",
        "wrong-type",
    ],
)
def test_an_ignored_key_is_judged_by_its_effect(text: str, severity: str, needle: str) -> None:
    result = check(text)
    report = json.loads(result.stdout)
    (r004,) = [f for f in report["findings"] if f["rule"] == "CAPA-R004"]
    assert r004["severity"] == severity and needle in r004["message"], r004
    assert result.exit_code == (1 if severity == "error" else 0)
    strict = check(text, "--strict")
    assert strict.exit_code == 1  # a warning still fails a strict run


def test_near_miss_an_unknown_key_with_no_known_field_near_it_stays_an_error() -> None:
    result = check(HEAD + "spec:\n  somethingElse: false\n")
    assert found(result, "CAPA-R004") == [("CAPA-R004", "error", 4)]
    assert "did you mean" not in result.stdout


def test_an_unknown_key_in_a_kubernetes_object_stays_an_error() -> None:
    """Only clusterawsadm decodes without strictness: Flux's server-side apply rejects it."""
    text = (
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSClusterRoleIdentity\n"
        "metadata: {name: x}\nspec:\n  roleARN: arn:aws:iam::222222222222:role/r\n"
        "  sourceIdentityRef: {kind: AWSClusterControllerIdentity, name: default}\n"
        "  allowedNamespaces: {list: [a]}\n  durationseconds: 900\n"
    )
    assert found(check(text), "CAPA-R004") == [("CAPA-R004", "error", 8)]
