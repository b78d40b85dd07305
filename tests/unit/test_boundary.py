"""The repository boundary: no command reads or writes outside the repository.

Symlinks (files, directories, accounts.yaml, render's temporary names) and resource entries
that leave the repository, names that try to, FIFOs that would hang a reader, and init into a
directory that is not new or empty.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import edit, line_of
from hostile import (
    COMMANDS,
    OUTSIDE_TEXT,
    assert_one_line_error,
    invoke,
    outside_file,
    snapshot,
)

from capa_accounts.core.filewrite import TMP_SUFFIX

STAGING_ID = ('accountId: "222222222222"', 'accountId: "222222222299"')


def test_render_refuses_an_overlay_file_symlinked_outside(
    example_repo: Path, tmp_path: Path
) -> None:
    """overlays/staging/identity.yaml → a file outside: neither read nor overwritten."""
    outside = outside_file(tmp_path)
    identity = example_repo / "overlays/staging/identity.yaml"
    identity.unlink()
    identity.symlink_to(outside)
    edit(example_repo / "accounts.yaml", *STAGING_ID)  # render would rewrite identity.yaml
    before = snapshot(example_repo)
    for command in (("render",), ("render", "--check")):
        assert_one_line_error(
            invoke(*command, "--repo", str(example_repo)),
            "capa-accounts: overlays/staging/identity.yaml:",
            "leads outside the repository through a symlink",
        )
    result = invoke("check", "--repo", str(example_repo))
    assert result.exit_code == 1
    assert (
        "overlays/staging/kustomization.yaml:8:3: [CAPA-R008] resource 'identity.yaml' leads "
        "outside the repository through a symlink"
    ) in result.output
    assert "outside-marker" not in result.output
    assert outside.read_text() == OUTSIDE_TEXT and snapshot(example_repo) == before


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] + "-".join(c[1:2]) for c in COMMANDS])
def test_accounts_yaml_symlinked_outside_is_never_read(
    example_repo: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Even a valid AccountSet is refused when it lives outside the repository."""
    accounts = example_repo / "accounts.yaml"
    outside = outside_file(tmp_path, accounts.read_text(), "accounts.yaml")
    accounts.unlink()
    accounts.symlink_to(outside)
    before = snapshot(example_repo)
    assert_one_line_error(
        invoke(*command, "--repo", str(example_repo)),
        "capa-accounts: accounts.yaml:",
        "leads outside the repository through a symlink",
    )
    assert snapshot(example_repo) == before


def test_a_base_file_symlinked_outside_stops_render_at_its_entry(
    example_repo: Path, tmp_path: Path
) -> None:
    identity = example_repo / "base/identity.yaml"
    outside = outside_file(tmp_path, identity.read_text(), "identity.yaml")
    identity.unlink()
    identity.symlink_to(outside)
    line = line_of(example_repo / "base/kustomization.yaml", "identity.yaml")
    assert_one_line_error(
        invoke("render", "--repo", str(example_repo)),
        f"capa-accounts: base/kustomization.yaml:{line}:",
        "resource 'identity.yaml' leads outside the repository",
    )


def test_render_refuses_an_overlay_directory_symlinked_outside(
    example_repo: Path, tmp_path: Path
) -> None:
    staging = example_repo / "overlays/staging"
    outside = tmp_path / "outside-staging"
    shutil.move(staging, outside)
    staging.symlink_to(outside, target_is_directory=True)
    edit(example_repo / "accounts.yaml", *STAGING_ID)
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    assert_one_line_error(
        invoke("render", "--repo", str(example_repo)),
        "capa-accounts: overlays/staging/",
        "leads outside the repository through a symlink",
    )
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before


def test_a_planted_temporary_file_symlink_is_not_followed(
    example_repo: Path, tmp_path: Path
) -> None:
    """render stages identity.yaml in .identity.yaml.capa-accounts-tmp: a symlink planted
    there is replaced, never written through."""
    outside = outside_file(tmp_path)
    (example_repo / f"overlays/staging/.identity.yaml{TMP_SUFFIX}").symlink_to(outside)
    edit(example_repo / "accounts.yaml", *STAGING_ID)
    result = invoke("render", "--repo", str(example_repo))
    assert result.exit_code == 0, result.output
    assert "update overlays/staging/identity.yaml" in result.output
    assert outside.read_text() == OUTSIDE_TEXT
    identity = example_repo / "overlays/staging/identity.yaml"
    assert not identity.is_symlink() and "222222222299" in identity.read_text()
    assert not list(example_repo.rglob(f"*{TMP_SUFFIX}"))


def test_leftover_temporary_files_break_neither_check_nor_render(example_repo: Path) -> None:
    """A render killed mid-write leaves `.<name>.capa-accounts-tmp`: it is not a manifest."""
    staging = example_repo / "overlays/staging"
    (staging / f".identity.yaml{TMP_SUFFIX}").write_text("apiVersion: v1\nkind: Sec")
    (staging / f".cluster-staging.yaml{TMP_SUFFIX}").write_text("")
    assert invoke("check", "--repo", str(example_repo)).exit_code == 0
    assert invoke("render", "--check", "--repo", str(example_repo)).exit_code == 0
    edit(example_repo / "accounts.yaml", *STAGING_ID)
    assert invoke("render", "--repo", str(example_repo)).exit_code == 0
    assert not (staging / f".identity.yaml{TMP_SUFFIX}").exists()  # rewritten: cleaned up


def test_render_removes_every_leftover_temporary_file(example_repo: Path) -> None:
    leftovers = [
        example_repo / f"overlays/staging/.namespace.yaml{TMP_SUFFIX}",
        example_repo / f"bootstrap/.live.yaml{TMP_SUFFIX}",
        example_repo / f"..sourceignore{TMP_SUFFIX}",
    ]
    for leftover in leftovers:
        leftover.write_text("# generated by capa-accounts, half")
    result = invoke("render", "--repo", str(example_repo))
    assert result.output == "up to date\n"
    assert [p for p in leftovers if p.exists()] == []


@pytest.mark.parametrize(
    "entry",
    ["../../../outside/static.yaml", "/etc/hostname", "../../../outside"],
    ids=["file", "absolute", "directory"],
)
def test_a_resource_entry_climbing_out_is_a_finding_not_a_read(
    example_repo: Path, tmp_path: Path, entry: str
) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/static.yaml").write_text(
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSClusterStaticIdentity\n"
        "metadata: {name: keys}\nspec: {secretRef: keys}\n"
    )
    (tmp_path / "outside/kustomization.yaml").write_text("resources: [static.yaml]\n")
    apps = example_repo / "apps"
    apps.mkdir()
    (apps / "kustomization.yaml").write_text(f"resources:\n- {entry}\n")
    result = invoke("check", "--repo", str(example_repo), "--format", "json")
    assert result.exit_code == 1
    findings = yaml.safe_load(result.stdout)["findings"]
    assert [(f["rule"], f["file"], f["line"]) for f in findings] == [
        ("CAPA-R008", "apps/kustomization.yaml", 2)
    ]
    assert f"resource {entry!r} leads outside the repository" in findings[0]["message"]


def test_a_kustomization_built_by_kustomize_reads_nothing_outside(
    example_repo: Path, tmp_path: Path
) -> None:
    """`namePrefix` sends the build to a real kustomize, which would read the outside file:
    the entries are findings, and nothing of the file reaches the output."""
    outside = outside_file(
        tmp_path,
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\n"
        "kind: AWSClusterStaticIdentity\nmetadata: {name: outside-marker}\n"
        "spec: {secretRef: keys}\n",
        "static.yaml",
    )
    apps = example_repo / "apps"
    apps.mkdir()
    (apps / "kustomization.yaml").write_text(
        f"namePrefix: x-\nresources:\n- {os.path.relpath(outside, apps)}\n"
        f"configMapGenerator:\n- name: c\n  files:\n  - key={outside}\n"
    )
    result = invoke("check", "--repo", str(example_repo), "--format", "json")
    assert result.exit_code == 1 and "outside-marker" not in result.output
    findings = yaml.safe_load(result.stdout)["findings"]
    assert [(f["rule"], f["file"], f["line"]) for f in findings] == [
        ("CAPA-R008", "apps/kustomization.yaml", 3),
        ("CAPA-R008", "apps/kustomization.yaml", 7),
    ]


def test_a_symlink_loop_is_one_line(example_repo: Path) -> None:
    identity = example_repo / "overlays/staging/identity.yaml"
    identity.unlink()
    identity.symlink_to(identity)
    assert_one_line_error(
        invoke("render", "--repo", str(example_repo)),
        "capa-accounts: overlays/staging/identity.yaml:",
        "symlink loop",
    )


@pytest.mark.parametrize("name", ["../escape", "/escape", "a/b", "..", "UPPER"])
def test_account_names_cannot_leave_the_repository(example_repo: Path, name: str) -> None:
    before = snapshot(example_repo)
    result = invoke(
        "add-account",
        name,
        "--account-id",
        "444444444444",
        "--region",
        "eu-west-1",
        "--repo",
        str(example_repo),
    )
    assert result.exit_code == 2 and "DNS-1123" in result.stderr, result.output
    edit(example_repo / "accounts.yaml", "- name: live", f"- name: {name!r}")
    for command in (("render",), ("check",)):
        assert_one_line_error(
            invoke(*command, "--repo", str(example_repo)), "capa-accounts: accounts.yaml:", ""
        )
    assert not (example_repo.parent / "escape").exists()
    before["accounts.yaml"] = (example_repo / "accounts.yaml").read_bytes()
    assert snapshot(example_repo) == before


def test_a_fifo_named_like_accounts_yaml_is_refused_not_read(example_repo: Path) -> None:
    accounts = example_repo / "accounts.yaml"
    accounts.unlink()
    os.mkfifo(accounts)
    for command in (("render",), ("render", "--check")):
        assert_one_line_error(
            invoke(*command, "--repo", str(example_repo)),
            "capa-accounts: accounts.yaml:",
            "is not a regular file",
        )


@pytest.mark.e2e  # the commands as subprocesses under a timeout
@pytest.mark.parametrize("where", ["accounts.yaml", "overlays/staging/extra.yaml"])
def test_a_fifo_anywhere_does_not_hang_check_or_render(example_repo: Path, where: str) -> None:
    (example_repo / where).unlink(missing_ok=True)
    os.mkfifo(example_repo / where)
    exe = shutil.which("capa-accounts") or str(Path(sys.executable).parent / "capa-accounts")
    for command in (["check"], ["render", "--check"]):
        try:
            result = subprocess.run(
                [exe, *command, "--repo", str(example_repo)],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"{command} hangs on a FIFO at {where}")
        assert result.returncode in (0, 1, 2) and "Traceback" not in result.stderr


@pytest.mark.parametrize("case", ["not-empty", "under-a-file", "dangling-symlink"])
def test_init_writes_only_into_a_new_or_empty_directory(tmp_path: Path, case: str) -> None:
    target = tmp_path / "repo"
    if case == "not-empty":
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    elif case == "under-a-file":
        (tmp_path / "file").write_text("x")
        target = tmp_path / "file" / "repo"
    else:
        target.symlink_to(tmp_path / "missing")
    before = snapshot(tmp_path)
    result = invoke("init", str(target))
    assert_one_line_error(result, f"capa-accounts: {target}:", "")
    assert snapshot(tmp_path) == before
