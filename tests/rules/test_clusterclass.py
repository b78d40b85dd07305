"""Templates and ClusterClass are judged like the concrete kinds (CAPA-C001 … C004): a template's
identityRef, a ClusterClass patch and a Cluster's topology variables, each in the namespace
where Cluster API creates the object."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import CAPA_REFERENCE, edit, line_of, run_check

from capa_accounts.core.finding import Finding

EXTRA = "workloads/classes.yaml"
CONTROL_RULES = ("CAPA-C001", "CAPA-C002", "CAPA-C003", "CAPA-C004")
STAGING = "{kind: AWSClusterRoleIdentity, name: staging-identity}"
LIVE = "{kind: AWSClusterRoleIdentity, name: live-identity}"
STATIC = "{kind: AWSClusterStaticIdentity, name: staging-static}"
CONTROLLER = "{kind: AWSClusterControllerIdentity, name: default}"

TEMPLATE_KINDS = [
    ("controlplane.cluster.x-k8s.io/v1beta2", "AWSManagedControlPlaneTemplate"),
    ("infrastructure.cluster.x-k8s.io/v1beta2", "AWSClusterTemplate"),
]


def write(repo: Path, text: str) -> Path:
    path = repo / EXTRA
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def control(repo: Path) -> list[Finding]:
    return [f for f in run_check(repo).findings if f.rule in CONTROL_RULES and f.file == EXTRA]


def template(api_version: str, kind: str, ref: str | None, namespace: str = "staging") -> str:
    identity = f"      identityRef: {ref}\n" if ref else ""
    return (
        f"apiVersion: {api_version}\nkind: {kind}\n"
        f"metadata: {{name: tpl, namespace: {namespace}}}\n"
        f"spec:\n  template:\n    spec:\n{identity}      region: eu-west-1\n"
    )


# --- a template on its own: judged in its own namespace ---------------------------------------

CASES = [
    ("static", STATIC, "CAPA-C004", "kind: AWSClusterStaticIdentity"),
    ("controller", CONTROLLER, "CAPA-C004", "kind: AWSClusterControllerIdentity"),
    ("other-account", LIVE, "CAPA-C003", "identityRef:"),
    ("none", None, "CAPA-C001", "    spec:"),
]


@pytest.mark.parametrize(
    ("api_version", "kind"), TEMPLATE_KINDS, ids=[k for _, k in TEMPLATE_KINDS]
)
@pytest.mark.parametrize(
    ("ref", "rule", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_template_is_judged_like_its_concrete_kind(
    example_repo: Path, api_version: str, kind: str, ref: str | None, rule: str, needle: str
) -> None:
    path = write(example_repo, template(api_version, kind, ref))
    found = [f for f in control(example_repo) if f.rule == rule]
    assert [f.line for f in found] == [line_of(path, needle)]
    assert found[0].resource is not None and found[0].resource.kind == kind


@pytest.mark.parametrize(
    ("api_version", "kind"), TEMPLATE_KINDS, ids=[k for _, k in TEMPLATE_KINDS]
)
def test_a_template_naming_its_accounts_identity_is_quiet(
    example_repo: Path, api_version: str, kind: str
) -> None:
    write(example_repo, template(api_version, kind, STAGING))
    assert control(example_repo) == []


# --- ClusterClass and Cluster topology ---------------------------------------------------------

CLASS = """apiVersion: cluster.x-k8s.io/v1beta1
kind: ClusterClass
metadata: {name: mt, namespace: staging}
spec:
  controlPlane:
    ref:
      apiVersion: controlplane.cluster.x-k8s.io/v1beta1
      kind: KubeadmControlPlaneTemplate
      name: cp
  infrastructure:
    ref: {apiVersion: infrastructure.cluster.x-k8s.io/v1beta2, kind: AWSClusterTemplate, name: tpl}
  variables:
  - name: identityRef
    required: false
    schema:
      openAPIV3Schema:
        type: object
        properties: {kind: {type: string}, name: {type: string}}
  patches:
  - name: identity
    definitions:
    - selector:
        apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
        kind: AWSClusterTemplate
        matchResources: {infrastructureCluster: true}
      jsonPatches:
      - op: replace
        path: /spec/template/spec/identityRef
        valueFrom: {variable: identityRef}
"""


def cluster(namespace: str, ref: str | None, class_namespace: str = "") -> str:
    variables = f"    variables:\n    - name: identityRef\n      value: {ref}\n" if ref else ""
    where = f"    classNamespace: {class_namespace}\n" if class_namespace else ""
    return (
        "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\n"
        f"metadata: {{name: demo, namespace: {namespace}}}\n"
        f"spec:\n  topology:\n    class: mt\n{where}    version: v1.31.0\n{variables}"
    )


def classy(template_ref: str | None, cluster_text: str, klass: str = CLASS) -> str:
    tpl = template("infrastructure.cluster.x-k8s.io/v1beta2", "AWSClusterTemplate", template_ref)
    return f"{klass}---\n{tpl}---\n{cluster_text}"


def test_a_topology_variable_naming_another_accounts_identity_is_c003(example_repo: Path) -> None:
    path = write(example_repo, classy(None, cluster("staging", LIVE)))
    found = control(example_repo)
    assert [(f.rule, f.line) for f in found] == [("CAPA-C003", line_of(path, "value: {kind"))]
    assert found[0].resource is not None and found[0].resource.kind == "Cluster"
    assert "namespace 'staging'" in found[0].message
    assert "the AWSCluster that Cluster 'demo' gets from AWSClusterTemplate 'tpl'" in (
        found[0].message
    )


def test_a_topology_variable_naming_the_accounts_identity_is_quiet(example_repo: Path) -> None:
    # The template has no identityRef of its own: the class patches it for every Cluster.
    write(example_repo, classy(None, cluster("staging", STAGING)))
    assert control(example_repo) == []


def test_a_topology_variable_naming_the_controller_identity_is_c004(example_repo: Path) -> None:
    path = write(example_repo, classy(None, cluster("staging", CONTROLLER)))
    found = control(example_repo)
    assert [(f.rule, f.line) for f in found] == [("CAPA-C004", line_of(path, "value: {kind"))]


def test_a_class_default_is_judged_where_it_is_written(example_repo: Path) -> None:
    klass = CLASS.replace(
        "        type: object\n", f"        type: object\n        default: {CONTROLLER}\n"
    )
    path = write(example_repo, classy(None, cluster("staging", None), klass))
    found = control(example_repo)
    assert [(f.rule, f.file, f.line) for f in found] == [
        ("CAPA-C004", EXTRA, line_of(path, "default: {kind"))
    ]
    assert found[0].resource is not None and found[0].resource.kind == "ClusterClass"


def test_the_template_is_judged_in_the_namespace_of_the_cluster(example_repo: Path) -> None:
    # The class and template live in staging; the Cluster in live uses them (classNamespace):
    # CAPI creates the AWSCluster in live, which staging-identity does not admit.
    unpatched = CLASS[: CLASS.index("  patches:")]
    path = write(example_repo, classy(STAGING, cluster("live", None, "staging"), unpatched))
    found = control(example_repo)
    assert [(f.rule, f.line) for f in found] == [("CAPA-C003", line_of(path, "identityRef:"))]
    assert "namespace 'live'" in found[0].message and "Cluster 'demo'" in found[0].message


def test_the_template_near_miss_cluster_in_the_templates_namespace(example_repo: Path) -> None:
    unpatched = CLASS[: CLASS.index("  patches:")]
    write(example_repo, classy(STAGING, cluster("staging", None), unpatched))
    assert control(example_repo) == []


def test_v1beta2_class_and_cluster(example_repo: Path) -> None:
    klass = CLASS.replace(
        "cluster.x-k8s.io/v1beta1\nkind: ClusterClass",
        "cluster.x-k8s.io/v1beta2\nkind: ClusterClass",
    ).replace("    ref: {apiVersion: infra", "    templateRef: {apiVersion: infra")
    text = cluster("live", LIVE).replace(
        "apiVersion: cluster.x-k8s.io/v1beta1", "apiVersion: cluster.x-k8s.io/v1beta2"
    )
    text = text.replace("    class: mt\n", "    classRef: {name: mt, namespace: staging}\n")
    write(example_repo, classy(None, text, klass))
    assert control(example_repo) == []  # live-identity admits live, where the AWSCluster is made
    path = write(
        example_repo, classy(None, text.replace("live-identity", "staging-identity"), klass)
    )
    found = control(example_repo)
    assert [(f.rule, f.line) for f in found] == [("CAPA-C003", line_of(path, "value: {kind"))]


def test_a_class_patch_value_is_judged_at_the_patch(example_repo: Path) -> None:
    klass = CLASS.replace(
        "        valueFrom: {variable: identityRef}\n", f"        value: {STATIC}\n"
    )
    path = write(example_repo, classy(STAGING, cluster("staging", None), klass))
    found = [f for f in control(example_repo) if f.rule == "CAPA-C004"]
    assert [f.line for f in found] == [line_of(path, "value: {kind: AWSClusterStatic")]


def test_control_plane_overrides_win_for_the_control_plane_template(example_repo: Path) -> None:
    klass = (
        CLASS.replace("kind: KubeadmControlPlaneTemplate", "kind: AWSManagedControlPlaneTemplate")
        .replace("controlplane.cluster.x-k8s.io/v1beta1", "controlplane.cluster.x-k8s.io/v1beta2")
        .replace(
            "infrastructure.cluster.x-k8s.io/v1beta2\n        kind: AWSClusterTemplate\n"
            "        matchResources: {infrastructureCluster: true}",
            "controlplane.cluster.x-k8s.io/v1beta2\n        kind: AWSManagedControlPlaneTemplate\n"
            "        matchResources: {controlPlane: true}",
        )
    )
    cp = template("controlplane.cluster.x-k8s.io/v1beta2", "AWSManagedControlPlaneTemplate", None)
    cp = cp.replace("name: tpl", "name: cp")
    infra = template("infrastructure.cluster.x-k8s.io/v1beta2", "AWSClusterTemplate", STAGING)
    overrides = (
        "    controlPlane:\n      variables:\n        overrides:\n"
        f"        - name: identityRef\n          value: {LIVE}\n"
    )
    text = cluster("staging", STAGING) + overrides
    path = write(example_repo, f"{klass}---\n{cp}---\n{infra}---\n{text}")
    found = control(example_repo)
    assert [(f.rule, f.line) for f in found] == [
        ("CAPA-C003", line_of(path, f"          value: {LIVE}"))
    ]
    write(
        example_repo,
        f"{klass}---\n{cp}---\n{infra}---\n{text.replace('live-identity', 'staging-identity')}",
    )
    assert control(example_repo) == []


def test_a_patch_of_the_name_alone_keeps_the_defaulted_kind(example_repo: Path) -> None:
    # CAPA stores the template's identityRef as the controller identity; patching only the
    # name leaves kind AWSClusterControllerIdentity, whose only name is `default`.
    klass = CLASS.replace(
        "        path: /spec/template/spec/identityRef\n",
        "        path: /spec/template/spec/identityRef/name\n",
    )
    path = write(example_repo, classy(None, cluster("staging", "staging-identity"), klass))
    found = control(example_repo)
    line = line_of(path, "value: staging-identity")
    assert [(f.rule, f.line) for f in found] == [("CAPA-C002", line), ("CAPA-C004", line)]
    assert "AWSClusterControllerIdentity 'staging-identity'" in found[0].message
    # Near miss: the template names the role identity kind, the class patches the name.
    write(
        example_repo,
        classy(
            "{kind: AWSClusterRoleIdentity, name: x}", cluster("staging", "staging-identity"), klass
        ),
    )
    assert control(example_repo) == []


def test_what_the_repository_cannot_tell_is_not_judged(example_repo: Path) -> None:
    # A value template is rendered by CAPI with Go templates: the result is not known here.
    klass = CLASS.replace(
        "        valueFrom: {variable: identityRef}\n",
        "        valueFrom: {template: '{kind: AWSClusterRoleIdentity, name: x}'}\n",
    )
    write(example_repo, classy(CONTROLLER, cluster("staging", None), klass))
    assert control(example_repo) == []


# --- CAPA's own templates ----------------------------------------------------------------------

# CAPA's templates as the upstream corpus holds them (tests/data/upstream/SOURCES.md), so
# these tests run wherever the repository is.
UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "upstream"
needs_reference = pytest.mark.skipif(
    not (CAPA_REFERENCE / "templates").is_dir(),
    reason="../shared/capa-reference/templates is not present",
)
VARIABLES = {"CLUSTER_CLASS_NAME": "demo", "CLUSTER_NAME": "demo", "KUBERNETES_VERSION": "v1.31.0"}


def substitute(text: str) -> str:
    return re.sub(r"\$\{([A-Z_0-9]+)\}", lambda m: VARIABLES.get(m.group(1), "x"), text)


@needs_reference
def test_capas_eks_clusterclass_gets_the_c001_of_cluster_template_eks(example_repo: Path) -> None:
    plain = substitute((CAPA_REFERENCE / "templates" / "cluster-template-eks.yaml").read_text())
    classy_text = substitute(
        (UPSTREAM / "capa-templates--cluster-template-eks-clusterclass.yaml").read_text()
    )
    path = write(example_repo, plain)
    found = control(example_repo)
    assert [f.rule for f in found] == ["CAPA-C001"]
    assert found[0].resource is not None and found[0].resource.kind == "AWSManagedControlPlane"
    path = write(example_repo, classy_text)
    found = control(example_repo)
    assert [f.rule for f in found] == ["CAPA-C001"]
    assert found[0].resource is not None
    assert found[0].resource.kind == "AWSManagedControlPlaneTemplate"
    assert found[0].line == line_of(path, '      region: "x"') - 1  # at spec.template.spec
    # Near miss: the template names the account's identity, in the account's namespace.
    fixed = classy_text.replace(
        '      region: "x"', f'      identityRef: {STAGING}\n      region: "x"'
    ).replace('name: "demo-control-plane"', 'name: "demo-control-plane"\n  namespace: staging')
    write(example_repo, fixed)
    assert control(example_repo) == []


@needs_reference
def test_capas_multitenancy_clusterclass_is_judged_at_the_clusters_variable(
    example_repo: Path,
) -> None:
    text = substitute(
        (UPSTREAM / "capa-templates--cluster-template-multitenancy-clusterclass.yaml").read_text()
    )
    path = write(example_repo, text)
    found = control(example_repo)
    # The nested identity chains to `default`, which does not admit namespace `default`; no
    # C001 on the AWSClusterTemplate, whose identityRef the class replaces for every Cluster.
    lines = text.splitlines()
    variable = max(i for i, line in enumerate(lines) if line == "    - name: identityRef")
    assert lines[variable + 3] == "        name: x-demo"
    assert [(f.rule, f.line) for f in found] == [("CAPA-C003", variable + 4)]
    assert "Cluster 'demo' gets from AWSClusterTemplate 'multi-tenancy'" in found[0].message
    assert path.name == "classes.yaml"


HOSTILE = [
    ("class-spec-string", "spec: x\n", ""),
    ("patches-string", "spec:\n  patches: x\n", ""),
    (
        "patch-shapes",
        "spec:\n  infrastructure: {ref: {apiVersion: infrastructure.cluster.x-k8s.io/v1beta2,"
        " kind: AWSClusterTemplate, name: tpl}}\n  patches:\n  - 1\n  - {definitions: x}\n"
        "  - {enabledIf: [1], definitions: []}\n  - definitions:\n    - selector: x\n"
        "    - selector: {apiVersion: infrastructure.cluster.x-k8s.io/v1beta2,"
        " kind: AWSClusterTemplate, matchResources: {infrastructureCluster: true}}\n"
        "      jsonPatches: [1, {path: 3}, {op: add, path: /spec/template/spec/identityRef,"
        " valueFrom: x}, {op: add, path: /spec/template/spec/identityRef/name, value: [1]},"
        " {op: add, path: /spec/template/spec/identityRef, valueFrom: {variable: 'v[0].x'}}]\n",
        "  topology: {class: mt, variables: [1, {name: [2]}, {name: v, value: {a: b}}]}\n",
    ),
    ("topology-string", "spec: {}\n", "  topology: x\n"),
    ("classref-string", "spec: {}\n", "  topology: {classRef: x, class: [1]}\n"),
]


@pytest.mark.parametrize(
    ("class_spec", "cluster_spec"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_malformed_classes_and_clusters_are_findings_not_tracebacks(
    example_repo: Path, class_spec: str, cluster_spec: str
) -> None:
    tpl = template("infrastructure.cluster.x-k8s.io/v1beta2", "AWSClusterTemplate", STAGING)
    cluster_spec = cluster_spec or "  paused: true\n"
    text = (
        "apiVersion: cluster.x-k8s.io/v1beta1\nkind: ClusterClass\n"
        f"metadata: {{name: mt, namespace: staging}}\n{class_spec}---\n{tpl}---\n"
        "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\n"
        f"metadata: {{name: demo, namespace: staging}}\nspec:\n{cluster_spec}"
    )
    write(example_repo, text)
    report = run_check(example_repo)  # no exception: what is malformed is R004's or not judged
    assert [f for f in report.findings if f.rule in CONTROL_RULES and f.file == EXTRA] == []


def test_the_management_namespaces_exemption_follows_the_cluster(example_repo: Path) -> None:
    # The management cluster's own namespaces may use `default` (accounts.yaml
    # management.namespaces); what counts is where the Cluster puts the control plane.
    edit(
        example_repo / "accounts.yaml",
        "  credentials: roleIdentity",
        "    namespaces: [capi-management]\n  credentials: roleIdentity",
    )
    unpatched = CLASS[: CLASS.index("  patches:")].replace(
        "namespace: staging", "namespace: capi-management"
    )
    tpl = template(
        "infrastructure.cluster.x-k8s.io/v1beta2", "AWSClusterTemplate", None, "capi-management"
    )
    own = cluster("capi-management", None)
    write(example_repo, f"{unpatched}---\n{tpl}---\n{own}")
    assert control(example_repo) == []
    path = write(
        example_repo, f"{unpatched}---\n{tpl}---\n{cluster('staging', None, 'capi-management')}"
    )
    found = control(example_repo)
    assert [(f.rule, f.line) for f in found] == [("CAPA-C001", line_of(path, "    spec:"))]
    assert "Cluster 'demo' in namespace 'staging'" in found[0].message
