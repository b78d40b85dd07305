"""The hooks under the real pre-commit framework, from this repository at its current commit."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PROJECT, edit, line_of

from capa_accounts.core import version

GIT = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]


def _head() -> str | None:
    result = subprocess.run(
        ["git", "-C", str(PROJECT), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PRE_COMMIT_HOME for the suite: hook environments are installed once."""
    return Path(
        os.environ.get("CAPA_ACCOUNTS_PRE_COMMIT_HOME")
        or tmp_path_factory.mktemp("pre-commit-home")
    )


def pre_commit(repo: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("pre-commit")
    assert exe, "pre-commit is installed with the test extra"
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run(
        [exe, "run", "--color", "never", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def _release_clone(tmp_path: Path) -> Path:
    """A local clone of this repository whose HEAD carries the release tag, as the documented
    release procedure makes it: pre-commit fetches `repo:` at `rev:` with git, offline."""
    clone = tmp_path / "capa-accounts.git"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(PROJECT), str(clone)], check=True)
    subprocess.run(
        [*GIT, "-C", str(clone), "tag", "-f", "-a", version.release_tag(), "-m", "release"],
        check=True,
        capture_output=True,
    )
    return clone


@pytest.mark.skipif(_head() is None, reason="the project is not a git checkout with a commit")
def test_hooks_pass_on_init_and_catch_an_injected_defect(
    example_repo: Path, pre_commit_home: Path, tmp_path: Path
) -> None:
    config = example_repo / ".pre-commit-config.yaml"
    text = config.read_text()
    # What init writes, unchanged but for where the repository is: its rev is the release.
    assert "repo: https://github.com/capa-accounts/capa-accounts\n" in text
    assert f"    rev: {version.release_tag()}\n" in text
    config.write_text(
        text.replace(
            "https://github.com/capa-accounts/capa-accounts", str(_release_clone(tmp_path))
        )
    )
    subprocess.run(["git", "init", "-q", str(example_repo)], check=True)
    subprocess.run([*GIT, "-C", str(example_repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(example_repo), "commit", "-qm", "init"], check=True)

    clean = pre_commit(example_repo, pre_commit_home, "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr

    identity = example_repo / "overlays" / "staging" / "identity.yaml"
    edit(identity, "  allowedNamespaces:\n    list:\n    - staging\n", "  allowedNamespaces: {}\n")
    line = line_of(identity, "allowedNamespaces")
    broken = pre_commit(example_repo, pre_commit_home, "--all-files")
    assert broken.returncode == 1
    assert f"overlays/staging/identity.yaml:{line}:3: [CAPA-I002]" in broken.stdout, broken.stdout
    assert "CAPA-R001" in broken.stdout  # the hand edit also drifts from accounts.yaml + base/
    assert "Traceback" not in broken.stdout + broken.stderr


def _install_hooks(repo: Path, home: Path) -> dict[str, str]:
    """`init`'s config pointed at this checkout, a first commit, and `pre-commit install`: from
    then on every `git commit` runs the hooks as a user's would."""
    config = repo / ".pre-commit-config.yaml"
    config.write_text(
        config.read_text()
        .replace("https://github.com/capa-accounts/capa-accounts", str(PROJECT))
        .replace(f"rev: {version.release_tag()}", f"rev: {_head()}")
    )
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "init"], check=True)
    exe = shutil.which("pre-commit")
    assert exe
    subprocess.run([exe, "install"], cwd=repo, env=env, check=True, capture_output=True)
    return env


def _commit(repo: Path, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    return subprocess.run(
        [*GIT, "-C", str(repo), "commit", "-m", message],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def _render(repo: Path) -> None:
    from capa_accounts.kustomize_plugin import generated, render

    generated.apply(repo, generated.changes(repo, render.plan(repo)))


LIVE = (
    '    - name: live\n      accountId: "333333333333"\n      region: eu-west-1\n'
    '      kubernetesVersion: "1.35"\n'
)


@pytest.mark.skipif(_head() is None, reason="the project is not a git checkout with a commit")
def test_a_destructive_commit_is_refused_and_says_why(
    example_repo: Path, pre_commit_home: Path
) -> None:
    env = _install_hooks(example_repo, pre_commit_home)
    # 1. Removing an account that still runs a cluster: refused, the finding in the output.
    edit(example_repo / "accounts.yaml", LIVE, "")
    _render(example_repo)
    refused = _commit(example_repo, env, "remove live")
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0, out
    assert "capa-accounts check (trust and namespace invariants, schemas)" in out
    assert "Failed" in out
    assert (
        "[CAPA-D004] account 'live' (AWS account 333333333333) was removed (present at "
        "HEAD, not decommissioning)" in out
    ), out
    assert "Traceback" not in out
    subprocess.run([*GIT, "-C", str(example_repo), "reset", "-q", "--hard", "HEAD"], check=True)
    subprocess.run([*GIT, "-C", str(example_repo), "clean", "-qfd"], check=True)

    # 2. An overlay deleted by hand: every hook used to say "(no files to check)".
    subprocess.run([*GIT, "-C", str(example_repo), "rm", "-rq", "overlays/staging"], check=True)
    refused = _commit(example_repo, env, "rm staging")
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0, out
    assert "no files to check" not in out.split("capa-accounts check")[1].splitlines()[0]
    assert "[CAPA-D004] overlay overlays/staging was deleted by hand" in out, out
    subprocess.run([*GIT, "-C", str(example_repo), "reset", "-q", "--hard", "HEAD"], check=True)

    # 3. The near miss: decommissioning first is accepted, and the warning still shows.
    edit(
        example_repo / "accounts.yaml",
        "    - name: live\n",
        "    - name: live\n      decommissioning: true\n",
    )
    _render(example_repo)
    accepted = _commit(example_repo, env, "decommission live")
    out = accepted.stdout + accepted.stderr
    assert accepted.returncode == 0, out
    assert (
        "[CAPA-D005] Cluster live/live left overlays/live (present at HEAD): Flux prunes "
        "its objects and CAPA deletes EKS cluster 'live' in AWS account 333333333333 (the "
        "account is `decommissioning: true`) (warning)" in out
    ), out

    # 4. ... and so is removing it afterwards.
    edit(
        example_repo / "accounts.yaml",
        "    - name: live\n      decommissioning: true\n" + LIVE.split("\n", 1)[1],
        "",
    )
    _render(example_repo)
    accepted = _commit(example_repo, env, "remove live")
    out = accepted.stdout + accepted.stderr
    assert accepted.returncode == 0, out
    assert (
        "[CAPA-D004] account 'live' (AWS account 333333333333) was removed after "
        "decommissioning" in out
    ), out


WHOLE_REPOSITORY = {"always_run": True, "pass_filenames": False, "require_serial": True}


def test_whole_repository_hooks_run_on_every_commit() -> None:
    """render and check judge the whole repository: a commit that only deletes files (no file
    pattern matches) must run them too, and the repository's own config must say the same."""
    import yaml

    offered = {h["id"]: h for h in yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())}
    own = {
        h["id"]: h
        for repo in yaml.safe_load((PROJECT / ".pre-commit-config.yaml").read_text())["repos"]
        for h in repo["hooks"]
    }
    init = {
        h["id"]: h
        for repo in yaml.safe_load(
            (PROJECT / "kustomize_plugin/example/pre-commit-config.yaml").read_text()
        )["repos"]
        for h in repo["hooks"]
    }
    for hook_id in ("capa-accounts-render", "capa-accounts-check"):
        for hooks in (offered, own):
            hook = hooks[hook_id]
            assert {k: hook.get(k) for k in WHOLE_REPOSITORY} == WHOLE_REPOSITORY, hook
            assert "files" not in hook and "types" not in hook and "types_or" not in hook
        assert init[hook_id].get("always_run") is True
    for hooks in (offered, own, init):  # warnings of a passing check are shown
        assert hooks["capa-accounts-check"].get("verbose") is True
    # The near miss: the per-file hooks keep their file filters.
    assert (
        offered["capa-accounts-build"]["files"]
        and "always_run" not in offered["capa-accounts-scan-secrets"]
    )


@pytest.mark.skipif(_head() is None, reason="the project is not a git checkout with a commit")
def test_a_rev_that_is_no_tag_fails_with_pre_commits_message(
    example_repo: Path, pre_commit_home: Path, tmp_path: Path
) -> None:
    """The near miss: a pin to a release that was never tagged (what init wrote before it
    pinned the running version) cannot be installed, so the hooks never ran for anyone."""
    config = example_repo / ".pre-commit-config.yaml"
    config.write_text(
        config.read_text()
        .replace("https://github.com/capa-accounts/capa-accounts", str(_release_clone(tmp_path)))
        .replace(f"rev: {version.release_tag()}", "rev: v0.0.0-never-tagged")
    )
    subprocess.run(["git", "init", "-q", str(example_repo)], check=True)
    subprocess.run([*GIT, "-C", str(example_repo), "add", "-A"], check=True)
    result = pre_commit(example_repo, pre_commit_home, "--all-files")
    assert result.returncode != 0
    assert "v0.0.0-never-tagged" in result.stdout + result.stderr


# Credentials built from halves, so that no scanner flags this file.
KEY_ID = "AKIA" + "Q7ZX3RLM2PV4KT6N"
SECRET_KEY = "9drTJvcXLB89Ab12CdZk" + "/3+qWm7Hn2Pq4Rs8TuV1"


@pytest.mark.skipif(_head() is None, reason="the project is not a git checkout with a commit")
def test_a_file_named_like_an_option_does_not_disable_the_hooks(
    example_repo: Path, pre_commit_home: Path
) -> None:
    """pre-commit passes no ``--`` before the files: a staged ``-h`` must not print help and
    exit 0 while real-looking keys are committed beside it (pre-commit, as a git hook). The
    other option-like names are unit tests of the parser (tests/unit/test_hookargs.py)."""
    env = _install_hooks(example_repo, pre_commit_home)
    head = subprocess.run(
        [*GIT, "-C", str(example_repo), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (example_repo / "-h").write_text("notes\n")
    (example_repo / "aws.env").write_text(
        f"AWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={SECRET_KEY}\n"
    )
    refused = _commit(example_repo, env, "change")
    said = refused.stdout + refused.stderr
    assert refused.returncode != 0, said
    assert "aws.env:1:19: [CAPA-S001]" in said, said
    # The scan hook itself failed (not only `check`, which scans every file too).
    assert any(
        line.startswith("no AWS credentials in git") and line.endswith("Failed")
        for line in said.splitlines()
    ), said
    after = subprocess.run(
        [*GIT, "-C", str(example_repo), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert after == head
    # The near miss: the same file beside harmless ones is committed.
    (example_repo / "aws.env").unlink()
    (example_repo / "region.env").write_text("AWS_REGION=eu-west-1\n")
    accepted = _commit(example_repo, env, "change")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
