"""Adopting capa-accounts where a team already is: a folder of a monorepo, a repository that
`flux bootstrap` wrote, Flux settings in accounts.yaml.

Every Flux path is built as kustomize-controller builds it: joined below the root of the
source (the top of the git work tree), a kustomization.yaml generated where there is none
(fluxcd/pkg kustomize/kustomize_generator.go generateKustomization), plain kustomize with
LoadRestrictionsNone (the real kubectl kustomize, v5.8.1).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from conftest import PROJECT
from kustomize_tools import flux_build
from test_precommit import _head, pre_commit

from capa_accounts.cli import main
from capa_accounts.core import version

GIT = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]
DATA = Path(__file__).resolve().parents[1] / "data" / "flux-repos"


def cli(*args: str, cwd: Path | None = None) -> Result:
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def commit(repo: Path) -> None:
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "change"], check=True)


def flux_bootstrapped(top: Path, name: str = "prod") -> Path:
    """The files `flux bootstrap --path=clusters/<name>` commits (tests/data/flux-repos)."""
    shutil.copytree(DATA / "bootstrap", top, dirs_exist_ok=True)
    if name != "prod":
        (top / "clusters" / "prod").rename(top / "clusters" / name)
        sync = top / "clusters" / name / "flux-system" / "gotk-sync.yaml"
        sync.write_text(sync.read_text().replace("./clusters/prod", f"./clusters/{name}"))
    return top


def kustomizations(directory: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if (
                isinstance(doc, dict)
                and doc.get("kind") == "Kustomization"
                and str(doc.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io/")
            ):
                out.append(doc)
    return out


def build_from_source_root(top: Path, path: str, scratch: Path) -> list[dict[str, Any]]:
    """kustomize-controller's build of ``spec.path``: below the source root, a kustomization
    generated when the directory has none (resources: its YAML files and its subdirectories
    that hold one)."""
    copy = scratch / "source"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(top, copy, ignore=shutil.ignore_patterns(".git"))
    directory = copy / posixpath.normpath("/" + path).lstrip("/")
    assert directory.is_dir(), f"{path} is not a directory of the source"
    if not (directory / "kustomization.yaml").exists():
        resources: list[str] = []
        for dirpath, dirnames, filenames in os.walk(directory):
            here = Path(dirpath)
            if here != directory and (here / "kustomization.yaml").exists():
                resources.append(here.relative_to(directory).as_posix())
                dirnames[:] = []
                continue
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith((".yaml", ".yml")):
                    resources.append((here / name).relative_to(directory).as_posix())
        (directory / "kustomization.yaml").write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": resources,
                }
            )
        )
    return flux_build(directory)


# --- 1. a folder of a monorepo ----------------------------------------------------------------


def test_init_in_a_monorepo_folder_writes_paths_flux_resolves_from_the_git_root(
    tmp_path: Path,
) -> None:
    top = git_repo(tmp_path / "platform")
    (top / "README.md").write_text("# platform\n")
    result = cli("init", "infra/capa", cwd=top)
    assert result.exit_code == 0, result.output
    folder = top / "infra" / "capa"
    docs = kustomizations(folder / "clusters" / "management")
    assert sorted(d["spec"]["path"] for d in docs) == [
        "./infra/capa/overlays/live",
        "./infra/capa/overlays/management",
        "./infra/capa/overlays/management/admission-policy",
        "./infra/capa/overlays/staging",
    ]
    for doc in docs:  # each one builds, from the top, as kustomize-controller builds it
        assert build_from_source_root(top, doc["spec"]["path"], tmp_path)
    # pre-commit reads its config at the top of the work tree only
    assert not (folder / ".pre-commit-config.yaml").exists()
    config = yaml.safe_load((top / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"]: h for h in config["repos"][0]["hooks"]}
    assert hooks["capa-accounts-check"]["args"][0] == "--repo=infra/capa"
    assert hooks["capa-accounts-render"]["args"] == ["--repo=infra/capa"]
    assert hooks["capa-accounts-build"]["files"] == r"^infra/capa/(overlays/|base/|accounts\.yaml$)"
    commit(top)
    for args in (("render", "--check"), ("check", "--base", "HEAD")):
        outcome = cli(*args, "--repo", "infra/capa", cwd=top)
        assert outcome.exit_code == 0, outcome.output


def test_init_at_the_top_keeps_paths_from_the_top(tmp_path: Path) -> None:
    """The near miss: a repository at the top of its work tree has no prefix."""
    top = git_repo(tmp_path / "fleet")
    assert cli("init", "--here", cwd=top).exit_code == 0
    paths = {d["spec"]["path"] for d in kustomizations(top / "clusters" / "management")}
    assert "./overlays/live" in paths
    assert "--repo" not in (top / ".pre-commit-config.yaml").read_text()


def test_r003_resolves_flux_paths_from_the_git_root(tmp_path: Path) -> None:
    top = git_repo(tmp_path / "platform")
    assert cli("init", "infra/capa", cwd=top).exit_code == 0
    assert cli("check", "--repo", "infra/capa", cwd=top).exit_code == 0
    live = top / "infra/capa/clusters/management/capa-live.yaml"
    # What render wrote before: right from the folder, wrong from where Flux reads.
    live.write_text(live.read_text().replace("./infra/capa/overlays/live", "./overlays/live"))
    result = cli("check", "--repo", "infra/capa", cwd=top)
    assert result.exit_code == 1
    assert (
        "infra/capa/clusters/management/capa-live.yaml:11:9: [CAPA-R003] path './overlays/live' "
        "is not a directory of the source root" in result.output
    )
    assert "account 'live' has no Flux Kustomization with path ./infra/capa/overlays/live" in (
        result.output
    )


# --- 2. into an existing Flux repository ------------------------------------------------------


def test_init_here_beside_a_flux_bootstrap(tmp_path: Path) -> None:
    top = flux_bootstrapped(git_repo(tmp_path / "fleet"))
    (top / ".sourceignore").write_text("# ours\n/docs/\n*.md\n")
    (top / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: https://github.com/pre-commit/pre-commit-hooks\n  rev: v4.6.0\n"
        "  hooks:\n  - id: trailing-whitespace\n"
    )
    commit(top)
    before = {p: p.read_text() for p in top.rglob("*") if p.is_file() and ".git" not in p.parts}
    result = cli("init", "--here", cwd=top)
    assert result.exit_code == 0, result.output
    assert "note: .pre-commit-config.yaml exists and was left as it is: add to its repos:\n" in (
        result.output
    )
    assert "  - repo: https://github.com/capa-accounts/capa-accounts\n" in result.output
    for path, text in before.items():  # theirs untouched, but for render's lines appended
        if path.name != ".sourceignore":
            assert path.read_text() == text, path
    ignore = (top / ".sourceignore").read_text()
    assert ignore.startswith("# ours\n/docs/\n*.md\n\n# >>> capa-accounts")
    assert "/bootstrap/\n" in ignore and ignore.endswith("# <<< capa-accounts\n")
    accounts = yaml.safe_load((top / "accounts.yaml").read_text())
    assert accounts["spec"]["flux"] == {"path": "clusters/prod"}
    assert (top / "clusters/prod/capa-live.yaml").is_file()
    assert not (top / "clusters/management").exists()
    # Flux applies ./clusters/prod (gotk-sync.yaml): it builds, our Kustomizations included.
    applied = build_from_source_root(top, "./clusters/prod", tmp_path)
    names = {d["metadata"]["name"] for d in applied if d["kind"] == "Kustomization"}
    assert {"flux-system", "capa-management", "capa-staging", "capa-live"} <= names
    for doc in kustomizations(top / "clusters/prod"):
        if doc["metadata"]["name"].startswith("capa-"):
            assert build_from_source_root(top, doc["spec"]["path"], tmp_path)
    assert cli("render", cwd=top).output == "up to date\n"
    commit(top)
    check = cli("check", "--base", "HEAD", cwd=top)
    assert check.exit_code == 0, check.output
    # Their lines stay theirs: edited outside the block, kept by the next render.
    (top / ".sourceignore").write_text(ignore.replace("*.md\n", "*.md\n/scratch/\n"))
    assert cli("render", cwd=top).output == "up to date\n"
    assert "/scratch/\n" in (top / ".sourceignore").read_text()


def test_init_still_refuses_a_kustomization_file_it_would_overwrite(tmp_path: Path) -> None:
    """The near miss: beside a bootstrap, a file of the same name as one init writes."""
    top = flux_bootstrapped(git_repo(tmp_path / "fleet"))
    (top / "clusters/prod/capa-live.yaml").write_text("mine: true\n")
    result = cli("init", "--here", cwd=top)
    assert result.exit_code == 2
    assert "clusters/prod/capa-live.yaml already exists" in result.stderr
    assert not (top / "accounts.yaml").exists()


def test_render_keeps_a_users_sourceignore(example_repo: Path) -> None:
    ignore = example_repo / ".sourceignore"
    ignore.write_text("# mine\n/docs/\n")
    result = cli("render", "--repo", str(example_repo))
    assert result.exit_code == 0, result.output
    assert result.output == "update .sourceignore\n"
    text = ignore.read_text()
    assert text.startswith("# mine\n/docs/\n\n# >>> capa-accounts")
    assert cli("render", "--repo", str(example_repo)).output == "up to date\n"
    assert cli("check", "--repo", str(example_repo)).exit_code == 0
    ignore.write_text(
        "# mine\n# >>> capa-accounts: render writes the lines down to the end marker\n"
    )
    broken = cli("render", "--repo", str(example_repo))
    assert broken.exit_code == 2
    assert ".sourceignore: has the line" in broken.stderr and "restore the end marker" in (
        broken.stderr
    )


# --- 3. Flux settings in accounts.yaml --------------------------------------------------------

FLUX_SETTINGS = """\
  flux:
    path: clusters/prod
    namespace: flux-apps
    sourceRef:
      name: fleet
      namespace: flux-system
    interval: 5m
    retryInterval: 1m
    timeout: 3m
"""


def test_flux_settings_shape_every_kustomization(example_repo: Path) -> None:
    accounts = example_repo / "accounts.yaml"
    accounts.write_text(
        accounts.read_text().replace("  accounts:\n", FLUX_SETTINGS + "  accounts:\n")
    )
    result = cli("render", "--repo", str(example_repo))
    assert result.exit_code == 0, result.output
    assert "delete clusters/management/capa-live.yaml\n" in result.output
    assert not (example_repo / "clusters/management").exists()
    docs = kustomizations(example_repo / "clusters/prod")
    assert len(docs) == 4
    for doc in docs:
        assert doc["metadata"]["namespace"] == "flux-apps"
        spec = doc["spec"]
        assert spec["sourceRef"] == {
            "kind": "GitRepository",
            "name": "fleet",
            "namespace": "flux-system",
        }
        assert (spec["interval"], spec["retryInterval"], spec["timeout"]) == ("5m", "1m", "3m")
    assert cli("check", "--repo", str(example_repo)).exit_code == 0
    # CAPA-R003 judges the Kustomizations of the configured source, and only those.
    live = example_repo / "clusters/prod/capa-live.yaml"
    live.write_text(live.read_text().replace("./overlays/live", "./overlays/lvie"))
    result = cli("check", "--repo", str(example_repo))
    assert "[CAPA-R003] path './overlays/lvie' is not a directory" in result.output
    live.write_text(live.read_text().replace("name: fleet", "name: other-repo"))
    result = cli("check", "--repo", str(example_repo))
    assert "path './overlays/lvie'" not in result.output  # another repository's path


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("  flux:\n    interval: 10 minutes\n", "spec.flux.interval"),
        ("  flux:\n    path: overlays/flux\n", "spec.flux.path: 'overlays/flux' is inside"),
        ("  flux:\n    path: ../elsewhere\n", "spec.flux.path"),
        ("  flux:\n    sourceRef:\n      kind: HelmRepository\n      name: x\n", "kind"),
    ],
    ids=["duration", "reserved", "outside", "kind"],
)
def test_bad_flux_settings_are_one_line_exit_2(
    example_repo: Path, setting: str, message: str
) -> None:
    accounts = example_repo / "accounts.yaml"
    accounts.write_text(accounts.read_text().replace("  accounts:\n", setting + "  accounts:\n"))
    result = cli("render", "--repo", str(example_repo))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "accounts.yaml:" in result.stderr
    assert message in result.stderr


def test_the_build_hook_finds_a_folders_overlays_from_the_top(tmp_path: Path) -> None:
    from capa_accounts.hooks import build

    top = git_repo(tmp_path / "platform")
    assert cli("init", "infra/capa", cwd=top).exit_code == 0
    old = Path.cwd()
    os.chdir(top)  # where pre-commit runs hooks, with paths from here
    try:
        changed = ["infra/capa/overlays/live/cluster-live.yaml", "README.md"]
        assert build.affected(Path("infra/capa"), changed) == ["overlays/live"]
        assert build.main(["--repo=infra/capa", *changed[:1]]) == 0
    finally:
        os.chdir(old)


# --- 7. repositories laid out by others: judged as Flux builds them ---------------------------


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    """tests/data/flux-repos/fleet-capi (see SOURCE.md there), outside any git work tree."""
    return Path(shutil.copytree(DATA / "fleet-capi", tmp_path / "fleet"))


def test_a_flux_repository_is_judged_as_flux_builds_it(fleet: Path) -> None:
    from capa_accounts.hooks.check import repository

    result = cli("check", "--repo", str(fleet))
    assert (result.exit_code, result.stdout) == (0, "")
    loaded = repository.load(fleet)
    names = sorted(
        (d.data["metadata"]["name"], s.flux)
        for d, s in loaded.documents
        if d.data.get("kind") == "ConfigMap"
    )
    # ./workloads/base has no kustomization.yaml: Flux generates one; each Kustomization
    # substitutes its own cluster_name, and ${region:=eu-west-1} its default.
    assert names == [("dev-config", "workload-dev"), ("prod-config", "workload-prod")]
    regions = {
        d.data["data"]["region"] for d, _s in loaded.documents if d.file.endswith("config.yaml")
    }
    assert regions == {"eu-west-1"}
    assert not [d for d, _s in loaded.documents if d.file.startswith("workloads/_template/")]


def test_two_kustomizations_substituting_the_same_name_still_collide(fleet: Path) -> None:
    """The near miss: substituted names that agree are one object applied twice (X002)."""
    workloads = fleet / "clusters/management/workloads.yaml"
    workloads.write_text(workloads.read_text().replace("cluster_name: prod", "cluster_name: dev"))
    result = cli("check", "--repo", str(fleet))
    assert result.exit_code == 1
    assert "[CAPA-X002] ConfigMap/default/dev-config of workloads/base/cluster-config.yaml" in (
        result.output
    )


def test_a_template_folder_a_flux_path_reaches_is_judged(fleet: Path) -> None:
    """The near miss: once a Kustomization applies _template/, its placeholders are real."""
    apps = fleet / "clusters/management/apps.yaml"
    apps.write_text(apps.read_text().replace("./apps/staging", "./workloads/_template"))
    result = cli("check", "--repo", str(fleet))
    assert result.exit_code == 1
    assert "workloads/_template/identity.yaml:7:12: [CAPA-T001]" in result.output


def test_a_public_repository_without_capa_objects_gets_no_capa_error(fleet: Path) -> None:
    shutil.rmtree(fleet / "workloads")
    (fleet / "clusters/management/workloads.yaml").unlink()
    result = cli("check", "--repo", str(fleet))
    assert (result.exit_code, result.stdout) == (0, "")


def test_an_argo_cd_repository_with_a_helm_chart_gets_no_error(tmp_path: Path) -> None:
    repo = Path(shutil.copytree(DATA / "argocd-apps", tmp_path / "apps"))
    result = cli("check", "--repo", str(repo))
    assert (result.exit_code, result.stdout) == (0, "")  # the summary line is on stderr
    # The near miss: a file outside any chart's templates/ is still read, and bad YAML there
    # is bad input (one line, exit 2) in a repository no Flux Kustomization describes.
    (repo / "guestbook" / "broken.yaml").write_text("name: {{ oops }}\n")
    broken = cli("check", "--repo", str(repo))
    assert broken.exit_code == 2
    assert broken.stderr.startswith("capa-accounts: guestbook/broken.yaml:1:8: ")


def test_bad_yaml_in_a_flux_repository_is_judged_by_whether_flux_applies_it(fleet: Path) -> None:
    (fleet / "workloads" / "base" / "values.yaml").write_text("a: {{ x }}\n")
    (fleet / "workloads" / "_template" / "notes.yaml").write_text("a: {{ x }}\n")
    result = cli("check", "--repo", str(fleet))
    assert result.exit_code == 1
    assert (
        "workloads/base/values.yaml:1:5: [CAPA-R007] a mapping key must be a string, not a "
        "list or mapping: Flux's build of workloads/base fails on it\n"
    ) in result.stdout
    assert "warning: workloads/_template/notes.yaml:1:5: " in result.stderr
    assert "not read, no Flux Kustomization applies it" in result.stderr


def test_check_against_git_history_follows_the_same_flux_paths(fleet: Path) -> None:
    """--base compares with REF read the same way: no template or base appears deleted."""
    git_repo(fleet)
    commit(fleet)
    result = cli("check", "--base", "HEAD", "--repo", str(fleet))
    assert (result.exit_code, result.stdout) == (0, "")
    shutil.copytree(DATA / "argocd-apps", fleet / "argo")  # a Helm chart, at HEAD too
    commit(fleet)
    again = cli("check", "--base", "HEAD", "--repo", str(fleet))
    assert (again.exit_code, again.stdout) == (0, "")


@pytest.fixture(scope="session")
def hook_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PRE_COMMIT_HOME as test_precommit.py sets it (hook environments installed once)."""
    return Path(
        os.environ.get("CAPA_ACCOUNTS_PRE_COMMIT_HOME") or tmp_path_factory.mktemp("hook-home")
    )


@pytest.mark.skipif(_head() is None, reason="the project is not a git checkout with a commit")
def test_pre_commit_runs_the_hooks_of_a_monorepo_folder(tmp_path: Path, hook_home: Path) -> None:
    """The real pre-commit, from the top of the work tree, with the config init wrote there."""
    top = git_repo(tmp_path / "platform")
    assert cli("init", "infra/capa", cwd=top).exit_code == 0
    config = top / ".pre-commit-config.yaml"
    config.write_text(
        config.read_text()
        .replace("https://github.com/capa-accounts/capa-accounts", str(PROJECT))
        .replace(f"rev: {version.release_tag()}", f"rev: {_head()}")
    )
    commit(top)
    clean = pre_commit(top, hook_home, "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "capa-accounts check" in clean.stdout and "Passed" in clean.stdout
    identity = top / "infra/capa/overlays/staging/identity.yaml"
    identity.write_text(
        identity.read_text().replace(
            "  allowedNamespaces:\n    list:\n    - staging\n", "  allowedNamespaces: {}\n"
        )
    )
    broken = pre_commit(top, hook_home, "--all-files")
    assert broken.returncode == 1
    # The findings name the file from the top, where pre-commit runs and editors open it.
    assert "infra/capa/overlays/staging/identity.yaml:" in broken.stdout
    assert "[CAPA-I002]" in broken.stdout, broken.stdout
    # The drift is the render hook's to print, once (check runs --with-hooks render).
    assert "generated file(s) out of date" in broken.stdout
    assert "[CAPA-R001]" not in broken.stdout


def test_without_its_bootstrap_a_repository_keeps_every_directory_judged(fleet: Path) -> None:
    """The near miss: with no flux-system Kustomization here, a directory no path here reaches
    may be applied from elsewhere: _template/ is judged again, substitution still applies."""
    shutil.rmtree(fleet / "clusters/management/flux-system")
    result = cli("check", "--repo", str(fleet))
    assert result.exit_code == 1
    assert "workloads/_template/identity.yaml:7:12: [CAPA-T001]" in result.output
    assert "CAPA-X002" not in result.output
