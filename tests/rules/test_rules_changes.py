"""Change-aware rules CAPA-D001 … D005 and `check --base REF`, on real git repositories."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edit, line_of, of_rule, run_check
from gitrepo import LIVE_ACCOUNT, commit, git, rerender
from rule_examples import Example, assert_example, examples

from capa_accounts.cli import main
from capa_accounts.core.errors import GitError
from capa_accounts.hooks.check import repository
from capa_accounts.hooks.check.repository import kustomize_command
from capa_accounts.hooks.git import base as git_base

D_RULES = ("CAPA-D001", "CAPA-D002", "CAPA-D003", "CAPA-D004", "CAPA-D005", "CAPA-D006")
STAGING = "overlays/staging/cluster-staging.yaml"
LIVE = "overlays/live/cluster-live.yaml"


def exact_line(path: Path, needle: str) -> int:
    """The first line that is ``needle``, else the first that contains it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines.index(needle) + 1 if needle in lines else line_of(path, needle)


def d_findings(repo: Path, base: str = "HEAD") -> list[tuple[str, str, int]]:
    return [
        (f.rule, f.file, f.line)
        for f in run_check(repo, base_ref=base).findings
        if f.rule in D_RULES
    ]


def set_staging(repo: Path, key: str, value: str) -> None:
    """Change one setting of the staging account (the first) in accounts.yaml, then render."""
    path = repo / "accounts.yaml"
    text, count = re.subn(
        rf"(?m)^(      {key}: )(\S+)", rf'\g<1>"{value}"', path.read_text(encoding="utf-8"), count=1
    )
    assert count == 1
    path.write_text(text, encoding="utf-8")
    rerender(repo)


def test_unchanged_repository_has_no_change_findings(committed: Path) -> None:
    report = run_check(committed, base_ref="HEAD")
    assert [f for f in report.findings if f.rule in D_RULES] == []
    assert report.warnings_loading == []


def test_change_rules_run_only_with_a_base(committed: Path) -> None:
    set_staging(committed, "region", "eu-central-1")
    assert [f for f in run_check(committed).findings if f.rule in D_RULES] == []
    assert [r for r, _f, _l in d_findings(committed)] == ["CAPA-D002"]


# --- each rule fires on its change, in the working-tree file, with the old value -------------


def _identity_swap(repo: Path) -> None:
    edit(repo / STAGING, "name: staging-identity", "name: live-identity")


def _eks_rename(repo: Path) -> None:
    edit(repo / STAGING, "eksClusterName: staging", "eksClusterName: staging-2")


def _cluster_rename(repo: Path) -> None:
    edit(
        repo / "accounts.yaml",
        "the number 1.3\n",
        "the number 1.3\n      clusters:\n        - name: staging-eu\n",
    )
    rerender(repo)


def _skip_a_minor(repo: Path) -> None:
    # The example runs the newest minor but one that EKS has; the overlay shows the skip.
    edit(repo / STAGING, "version: '1.35'", "version: '1.37'")


def _remove_live(repo: Path) -> None:
    edit(repo / "accounts.yaml", LIVE_ACCOUNT, "")
    rerender(repo)


FIRES: list[tuple[str, Callable[[Path], None], str, str, str, str]] = [
    # (id, change, rule, file, text on the reported line, old value in the message)
    (
        "identity-swapped-by-hand",
        _identity_swap,
        "CAPA-D001",
        STAGING,
        "name: live-identity",
        "'staging-identity'",
    ),
    (
        "region-in-accounts",
        lambda r: set_staging(r, "region", "eu-central-1"),
        "CAPA-D002",
        STAGING,
        "region: eu-central-1",
        "'eu-west-1'",
    ),
    (
        "eks-cluster-name-by-hand",
        _eks_rename,
        "CAPA-D002",
        STAGING,
        "eksClusterName: staging-2",
        "'staging'",
    ),
    (
        "cluster-renamed-in-accounts",
        _cluster_rename,
        "CAPA-D002",
        "overlays/staging/cluster-staging-eu.yaml",
        "  name: staging-eu-control-plane",
        "staging/staging-control-plane",
    ),
    (
        "version-down",
        lambda r: set_staging(r, "kubernetesVersion", "1.34"),
        "CAPA-D003",
        STAGING,
        "version: '1.34'",
        "'1.35'",
    ),
    (
        "version-skips-a-minor",
        _skip_a_minor,
        "CAPA-D003",
        STAGING,
        "version: '1.37'",
        "go to 1.36 first",
    ),
    (
        "account-removed",
        _remove_live,
        "CAPA-D004",
        "accounts.yaml",
        "  accounts:",
        "'live' (AWS account 333333333333)",
    ),
]


@pytest.mark.parametrize(
    ("change", "rule_id", "file", "needle", "old"),
    [case[1:] for case in FIRES],
    ids=[case[0] for case in FIRES],
)
def test_rule_fires_on_its_change(
    committed: Path, change: Callable[[Path], None], rule_id: str, file: str, needle: str, old: str
) -> None:
    change(committed)
    found = of_rule(run_check(committed, base_ref="HEAD"), rule_id)
    line = exact_line(committed / file, needle)
    assert [(f.file, f.line) for f in found if f.line == line] == [(file, line)], found
    hit = next(f for f in found if f.line == line)
    assert old in hit.message and "at HEAD" in hit.message
    assert hit.severity == "error"  # D004 too: live was not decommissioning at HEAD


def test_cluster_rename_reports_every_object_of_the_cluster(committed: Path) -> None:
    _cluster_rename(committed)
    found = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D002")
    assert sorted(f.resource.kind for f in found if f.resource) == [
        "AWSManagedCluster",
        "AWSManagedControlPlane",
        "AWSManagedMachinePool",
        "Cluster",
        "MachinePool",
    ]
    assert {f.file for f in found} == {"overlays/staging/cluster-staging-eu.yaml"}


def test_namespace_change_is_reported_at_the_new_namespace(committed: Path) -> None:
    edit(
        committed / "accounts.yaml",
        "    - name: live\n",
        "    - name: live\n      namespace: prod\n",
    )
    rerender(committed)
    found = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D002")
    cluster = next(f for f in found if f.resource and f.resource.kind == "Cluster")
    assert (cluster.file, cluster.line) == (LIVE, line_of(committed / LIVE, "namespace: prod"))
    assert "was live/live at HEAD" in cluster.message
    assert len(found) == 5  # Cluster, AWSManagedCluster, control plane, pool, managed pool


def test_reading_the_base_never_touches_the_working_tree(committed: Path) -> None:
    set_staging(committed, "region", "eu-central-1")
    before = git(committed, "status", "--porcelain")
    text = (committed / STAGING).read_text(encoding="utf-8")
    stash = git(committed, "stash", "list")
    assert d_findings(committed) != []
    assert git(committed, "status", "--porcelain") == before
    assert (committed / STAGING).read_text(encoding="utf-8") == text
    assert git(committed, "stash", "list") == stash


def test_base_is_any_commit_and_the_repository_may_be_a_subdirectory(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = example_repo.parent
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(top.parent))
    git(top, "init", "-q")
    set_staging(example_repo, "kubernetesVersion", "1.34")
    commit(top, "init")
    set_staging(example_repo, "kubernetesVersion", "1.35")
    commit(top, "upgrade")
    set_staging(example_repo, "kubernetesVersion", "1.36")
    assert d_findings(example_repo, "HEAD") == []  # 1.35 → 1.36: one minor
    assert d_findings(example_repo, "HEAD~1") == [
        ("CAPA-D003", STAGING, line_of(example_repo / STAGING, "version: '1.36'"))
    ]


@pytest.mark.parametrize(
    ("policy", "fate"),
    [
        ("  deletionPolicy: Orphan\n", "keep running in AWS, and CAPA can no longer reconcile"),
        ("", "are deleted by Flux (deletionPolicy MirrorPrune)"),
    ],
    ids=["orphan", "flux-default-policy"],
)
def test_removed_overlay_without_accounts_yaml(committed: Path, policy: str, fate: str) -> None:
    """Hand-written repositories: an overlay and its Flux Kustomization were deleted."""
    (committed / "accounts.yaml").unlink()
    shutil.rmtree(committed / "base")
    edit(committed / "clusters/management/capa-live.yaml", "  deletionPolicy: Orphan\n", policy)
    commit(committed, "hand-written")
    shutil.rmtree(committed / "overlays/live")
    (committed / "clusters/management/capa-live.yaml").unlink()
    found = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D004")
    # The first Flux Kustomization left beside the removed one carries the finding.
    assert [(f.file, f.line) for f in found] == [
        ("clusters/management/capa-management-admission-policy.yaml", 1)
    ]
    assert (
        "overlay overlays/live was removed (present at HEAD, not decommissioning)"
        in found[0].message
    )
    assert f"its clusters (live) {fate}" in found[0].message
    assert found[0].severity == "error"


def _two_clusters(repo: Path) -> None:
    """staging runs two clusters, staging and blue; committed."""
    edit(
        repo / "accounts.yaml",
        "the number 1.3\n",
        "the number 1.3\n      clusters:\n        - name: staging\n        - name: blue\n",
    )
    rerender(repo)
    commit(repo, "blue")


def test_a_cluster_removed_from_an_account_that_stays(committed: Path) -> None:
    _two_clusters(committed)
    edit(committed / "accounts.yaml", "        - name: blue\n", "")
    rerender(committed)
    assert not (committed / "overlays/staging/cluster-blue.yaml").exists()
    report = run_check(committed, base_ref="HEAD")
    found = [f for f in report.findings if f.rule in D_RULES]
    line = line_of(committed / "accounts.yaml", "clusters:")
    assert [(f.rule, f.file, f.line, f.severity) for f in found] == [
        ("CAPA-D005", "accounts.yaml", line, "error")
    ]
    assert found[0].message == (
        "Cluster staging/blue left overlays/staging (present at HEAD): Flux prunes its objects "
        "and CAPA deletes EKS cluster 'blue' in AWS account 222222222222; put it back, or keep "
        "it listed as `- name: blue` with `decommissioning: true` if its deletion is meant"
    )


def test_a_removed_cluster_of_an_overlay_flux_does_not_prune_is_silent(committed: Path) -> None:
    _two_clusters(committed)
    edit(committed / "accounts.yaml", "        - name: blue\n", "")
    rerender(committed)
    edit(committed / "clusters/management/capa-staging.yaml", "prune: true", "prune: false")
    assert d_findings(committed) == []


@pytest.mark.parametrize("change", [_cluster_rename, _remove_live], ids=["renamed", "account"])
def test_a_renamed_cluster_or_a_removed_account_is_not_a_removed_cluster(
    committed: Path, change: Callable[[Path], None]
) -> None:
    change(committed)
    rules = {rule for rule, _f, _l in d_findings(committed)}
    assert "CAPA-D005" not in rules and rules  # CAPA-D002 or CAPA-D004 says it


# --- harmless changes stay silent ---------------------------------------------------------------


def _add_account(repo: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "add-account",
            "qa",
            "--account-id",
            "444444444444",
            "--region",
            "eu-west-1",
            "--repo",
            str(repo),
        ],
    )
    assert result.exit_code == 0, result.output


def _label(repo: Path) -> None:
    edit(
        repo / "base/cluster.yaml",
        "  name: cluster-control-plane\nspec:",
        "  name: cluster-control-plane\n  labels:\n    team: platform\nspec:",
    )
    rerender(repo)


def _patch_spelling(repo: Path) -> None:
    edit(repo / STAGING, "version: '1.35'", "version: v1.35.4")


SILENT: list[tuple[str, Callable[[Path], None]]] = [
    ("account-added", _add_account),
    ("label-added", _label),
    ("one-minor-upgrade", lambda r: set_staging(r, "kubernetesVersion", "1.36")),
    ("same-minor-other-spelling", _patch_spelling),
]


@pytest.mark.parametrize("change", [c for _i, c in SILENT], ids=[i for i, _c in SILENT])
def test_harmless_change_is_silent(committed: Path, change: Callable[[Path], None]) -> None:
    change(committed)
    assert git(committed, "status", "--porcelain") != ""  # the change is real
    assert d_findings(committed) == []


# --- bases that predate capa-accounts, are broken, or do not exist -------------------------------

LEGACY_OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namePrefix: old-
resources:
- cluster.yaml
"""


def _predating_commit(repo: Path) -> None:
    """A first commit with only hand-written overlays: no accounts.yaml, no base/."""
    stash = repo.parent / "later"
    repo.rename(stash)
    repo.mkdir()
    for rel in ("overlays/staging", "overlays/management", "clusters/management"):
        shutil.copytree(stash / rel, repo / rel)
    edit(repo / STAGING, "version: '1.35'", "version: '1.29'")
    (repo / "overlays/legacy").mkdir()
    (repo / "overlays/legacy/kustomization.yaml").write_text(LEGACY_OVERLAY, encoding="utf-8")
    (repo / "overlays/legacy/cluster.yaml").write_text(
        (repo / STAGING).read_text(encoding="utf-8").replace("staging", "legacy"), encoding="utf-8"
    )
    (repo / "clusters/management/broken.yaml").write_text("a: [\n", encoding="utf-8")
    git(repo, "init", "-q")
    commit(repo, "hand-written overlays")
    shutil.rmtree(repo / "overlays")
    shutil.rmtree(repo / "clusters")
    for path in stash.iterdir():
        path.rename(repo / path.name)


@pytest.mark.skipif(kustomize_command() is None, reason="needs kubectl or kustomize on PATH")
def test_base_that_predates_capa_accounts(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(example_repo.parent))
    _predating_commit(example_repo)
    report = run_check(example_repo, base_ref="HEAD")
    found = {(f.rule, f.file, f.line): f.message for f in report.findings if f.rule in D_RULES}
    version = ("CAPA-D003", STAGING, line_of(example_repo / STAGING, "version: '1.35'"))
    removed = ("CAPA-D004", "accounts.yaml", line_of(example_repo / "accounts.yaml", "accounts:"))
    assert set(found) == {version, removed}
    assert "'1.29'" in found[version]
    # The legacy overlay was built with kustomize at REF: its namePrefix names the cluster.
    assert "overlay overlays/legacy" in found[removed] and "(old-legacy)" in found[removed]
    assert any(
        "clusters/management/broken.yaml" in w and "not compared" in w
        for w in report.warnings_loading
    )


def test_base_head_without_commits_compares_with_an_empty_state(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(example_repo.parent))
    git(example_repo, "init", "-q")
    result = CliRunner().invoke(main, ["check", "--repo", str(example_repo), "--base", "HEAD"])
    assert result.exit_code == 0, result.output
    assert "warning: --base HEAD: the repository has no commit yet" in result.stderr
    assert "CAPA-D" not in result.stdout


@pytest.mark.parametrize(
    ("init", "ref", "message"),
    [
        (True, "nosuchref", "capa-accounts: --base nosuchref: not a commit in this repository"),
        (True, "--output=x", "capa-accounts: --base --output=x: not a commit in this repository"),
        (False, "HEAD", "capa-accounts: --base HEAD: cannot read git history here"),
    ],
    ids=["unknown-ref", "ref-like-an-option", "not-a-git-repository"],
)
def test_unreadable_base_is_exit_2(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch, init: bool, ref: str, message: str
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(example_repo.parent))
    if init:
        git(example_repo, "init", "-q")
        commit(example_repo)
    result = CliRunner().invoke(main, ["check", "--repo", str(example_repo), f"--base={ref}"])
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_unborn_branch_other_than_head_is_an_error(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(example_repo.parent))
    git(example_repo, "init", "-q")
    with pytest.raises(GitError, match="not a commit"):
        git_base.load_ref(example_repo, "main")


# --- the reader of REF, and the pre-commit hook ------------------------------------------------


def test_base_reads_what_the_working_tree_reader_reads(committed: Path) -> None:
    """At an unchanged HEAD, git_base gives the same documents as the working-tree reader
    (capa_accounts.hooks.check.repository)."""
    links = committed / "clusters/management"
    (links / "link.yaml").symlink_to("capa-live.yaml")
    (links / "outside.yaml").symlink_to("../../../elsewhere.yaml")  # never followed
    commit(committed, "symlinks")
    (links / "outside.yaml").unlink()  # the working-tree reader would refuse it (R002)
    now = repository.load(committed)
    then = git_base.load_ref(committed, "HEAD")

    def shown(loaded: repository.Loaded) -> list[tuple[str, object, repository.Source]]:
        return [(d.file, d.data, s) for d, s in loaded.documents]

    assert shown(then) == shown(now)
    assert "clusters/management/link.yaml" in {d.file for d, _s in then.documents}
    assert then.account_set == now.account_set and then.warnings == []


HOOK_CONFIG = """\
repos:
- repo: local
  hooks:
  - id: capa-accounts-check
    name: capa-accounts check --base HEAD
    entry: capa-accounts check --base HEAD
    language: system
    pass_filenames: false
    types_or: [yaml, json]
"""


@pytest.mark.e2e  # slow: out of the fast lane
def test_pre_commit_compares_the_staged_change_with_head(
    example_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(example_repo.parent))
    git(example_repo, "init", "-q")
    config = tmp_path / "hooks.yaml"
    config.write_text(HOOK_CONFIG, encoding="utf-8")
    scripts = Path(sys.executable).parent
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "home"),
        "NO_COLOR": "1",
        "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}",
    }

    def pre_commit() -> subprocess.CompletedProcess[str]:
        git(example_repo, "add", "-A")
        return subprocess.run(
            [str(scripts / "pre-commit"), "run", "-c", str(config)],
            cwd=example_repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    first = pre_commit()  # the first commit must be possible: HEAD has no commit yet
    assert first.returncode == 0, first.stdout
    commit(example_repo, "init")
    set_staging(example_repo, "region", "eu-central-1")
    moved = pre_commit()
    assert moved.returncode == 1
    assert (
        f"{STAGING}:{line_of(example_repo / STAGING, 'eu-central-1')}:11: [CAPA-D002]"
        in moved.stdout
    )


def test_base_missing_from_a_shallow_clone_says_so(committed: Path, tmp_path: Path) -> None:
    set_staging(committed, "kubernetesVersion", "1.36")
    commit(committed, "upgrade")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", committed.as_uri(), str(clone))
    result = CliRunner().invoke(main, ["check", "--repo", str(clone), "--base", "HEAD~1"])
    assert result.exit_code == 2
    assert result.stderr == (
        "capa-accounts: --base HEAD~1: not a commit in this repository "
        "(this is a shallow clone: fetch that commit first)\n"
    )


@pytest.mark.skipif(kustomize_command() is None, reason="needs kubectl or kustomize on PATH")
def test_a_kustomization_at_ref_built_by_kustomize_reads_nothing_outside(
    committed: Path, tmp_path: Path
) -> None:
    """`namePrefix` at REF sends that build to a real kustomize over a copy of REF's tree:
    an entry naming a file outside is refused before kustomize runs, never read."""
    outside = tmp_path / "outside" / "static.yaml"
    outside.parent.mkdir()
    outside.write_text(
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\n"
        "kind: AWSClusterStaticIdentity\nmetadata: {name: outside-marker}\n"
        "spec: {secretRef: keys}\n",
        encoding="utf-8",
    )
    apps = committed / "apps"
    apps.mkdir()
    (apps / "kustomization.yaml").write_text(
        f"namePrefix: x-\nresources:\n- {outside}\n", encoding="utf-8"
    )
    commit(committed, "an app naming a file outside")
    shutil.rmtree(apps)
    report = run_check(committed, base_ref="HEAD")
    assert any(
        "apps/kustomization.yaml:3:" in w and "leads outside the repository: not built" in w
        for w in report.warnings_loading
    ), report.warnings_loading
    assert not any("outside-marker" in str(f) for f in report.findings)


# --- a small bad and good example of each rule (tests/data/rules/changes/) ------------------------


@pytest.mark.parametrize("example", examples("changes"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)
