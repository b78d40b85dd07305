"""A template's ``${VAR}`` placeholders are substituted before anything is applied (clusterctl,
Flux postBuild): the checks judge what is written around them, never the placeholder itself,
and still judge the same field when it holds a literal."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from capa_accounts.cli import main
from capa_accounts.core.substitution import templated

TEMPLATE = """\
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: AWSManagedControlPlane
metadata:
  name: ${CLUSTER_NAME}-control-plane
  namespace: team-a
spec:
  region: eu-west-1
  version: VERSION
  identityRef:
    kind: AWSClusterRoleIdentity
    name: team-a
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterRoleIdentity
metadata:
  name: team-a
spec:
  allowedNamespaces:
    list: [team-a]
  roleARN: ROLE
  sessionName: SESSION
  sourceIdentityRef:
    kind: AWSClusterControllerIdentity
    name: default
---
apiVersion: cluster.x-k8s.io/v1beta1
kind: MachinePool
metadata:
  name: mp-0
  namespace: team-a
spec:
  clusterName: c
  replicas: REPLICAS
  template:
    spec:
      clusterName: c
      bootstrap: {dataSecretName: ""}
      infrastructureRef: {kind: AWSMachinePool, name: mp-0, apiVersion: v1}
"""

PLACEHOLDERS = {
    "VERSION": "${KUBERNETES_VERSION}",
    "ROLE": "arn:aws:iam::${AWS_ACCOUNT_ID}:role/${ROLE_NAME}",
    "SESSION": "${SESSION_NAME:=capa}",
    "REPLICAS": "${WORKER_MACHINE_COUNT}",
}
LITERALS = {
    "VERSION": '"1.31.0-eks-1"',
    "ROLE": "arn:aws:iam::<account-id>:role/capa",
    "SESSION": "capa session",
    "REPLICAS": "two",
}


def _check(values: dict[str, str]) -> tuple[int, str]:
    text = TEMPLATE
    for key, value in values.items():
        text = text.replace(key, value)
    result = CliRunner().invoke(main, ["check", "-"], input=text)
    return result.exit_code, result.output


def test_placeholders_are_not_judged_as_values() -> None:
    code, out = _check(PLACEHOLDERS)
    for rule in ("CAPA-C006", "CAPA-R004", "CAPA-T001", "CAPA-T011"):
        assert rule not in out, out


@pytest.mark.parametrize(
    ("field", "rule"),
    [
        ("VERSION", "CAPA-C006"),
        ("ROLE", "CAPA-T001"),
        ("SESSION", "CAPA-T011"),
        ("REPLICAS", "CAPA-R004"),
    ],
    ids=["version", "roleARN", "sessionName", "replicas"],
)
def test_the_same_field_with_a_bad_literal_still_fires(field: str, rule: str) -> None:
    """Near miss: only ``${...}`` is a placeholder; ``<account-id>`` and bad literals are not."""
    code, out = _check({**PLACEHOLDERS, field: LITERALS[field]})
    assert code == 1 and rule in out, out


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${A}", True),
        ("x-${A:=b}-y", True),
        ("$A", False),
        ("${}", False),
        ("<id>", False),
        (3, False),
        ("${ A }", False),
    ],
)
def test_what_counts_as_a_placeholder(value: object, expected: bool) -> None:
    assert templated(value) is expected
