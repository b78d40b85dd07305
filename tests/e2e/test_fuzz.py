"""Never a traceback: `check`, `render` and `fn` on arbitrary bytes and mutated documents.

Hypothesis drives the mutations of tests/fuzz/fuzz_inputs.py (the long-running fuzzer) over the
example repository's files and the function's ResourceList: every run must end in exit 0, 1
or 2 with no uncaught exception, exit 2 with exactly one line on stderr, and `fn` printing
nothing or a whole ResourceList. Examples are bounded to keep the whole file near 20 s.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from fuzz.fuzz_inputs import ATTACK_FILES, TOKENS, apply_ops, crash_of, fn_input, make_repo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capa_accounts.cli import main
from capa_accounts.kustomize_plugin import example

runner = CliRunner()


def bounded(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


POSITION = st.integers(0, 1 << 16)
PAYLOAD = st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=8))
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("flip"), POSITION, st.integers(0, 7)),
        st.tuples(st.just("delete"), POSITION, st.integers(1, 64)),
        st.tuples(st.just("insert"), POSITION, PAYLOAD),
        st.tuples(st.just("dup_line"), POSITION),
        st.tuples(st.just("drop_line"), POSITION),
        st.tuples(st.just("indent"), POSITION, st.integers(-4, 4)),
        st.tuples(st.just("swap_lines"), POSITION, POSITION),
        st.tuples(st.just("replace_value"), POSITION, PAYLOAD),
    ),
    min_size=1,
    max_size=4,
)
FILES = [
    "accounts.yaml",
    "base/kustomization.yaml",
    "base/identity.yaml",
    "base/cluster.yaml",
    "overlays/staging/identity.yaml",
    "overlays/staging/kustomization.yaml",
    "overlays/management/controller-identity.yaml",
    "bootstrap/management.yaml",
    "clusters/management/capa-staging.yaml",
]


class Repo:
    """One example repository for all examples, put back after each."""

    def __init__(self, path: Path) -> None:
        example.init(path)
        self.path = path
        self.pristine = self.files()

    def files(self) -> dict[str, bytes]:
        return {
            p.relative_to(self.path).as_posix(): p.read_bytes()
            for p in self.path.rglob("*")
            if p.is_file()
        }

    def restore(self) -> None:
        current = self.files()
        for rel in current.keys() - self.pristine.keys():
            (self.path / rel).unlink()
        for rel, data in self.pristine.items():
            if current.get(rel) != data:
                (self.path / rel).parent.mkdir(parents=True, exist_ok=True)
                (self.path / rel).write_bytes(data)

    def run(self, commands: list[str], rel: str, data: bytes) -> None:
        (self.path / rel).write_bytes(data)
        try:
            for command in commands:
                result = runner.invoke(
                    main, [*command.split(), "--repo", str(self.path)], catch_exceptions=True
                )
                reason = crash_of(result, command)
                assert reason is None, f"{command} on {rel}: {reason}"
        finally:
            self.restore()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repo]:
    path = tmp_path_factory.mktemp("fuzz") / "repo"
    yield Repo(path)
    shutil.rmtree(path, ignore_errors=True)


@bounded(150)
@given(rel=st.sampled_from(FILES), ops=OPS)
def test_mutated_files_never_crash_check_or_render_check(
    repo: Repo, rel: str, ops: list[Any]
) -> None:
    repo.run(["check", "render --check"], rel, apply_ops(repo.pristine[rel], ops))


@bounded(60)
@given(
    rel=st.sampled_from(
        [
            "accounts.yaml",
            "base/identity.yaml",
            "base/kustomization.yaml",
            "overlays/staging/identity.yaml",
        ]
    ),
    ops=OPS,
)
def test_mutated_inputs_never_crash_render(repo: Repo, rel: str, ops: list[Any]) -> None:
    repo.run(["render"], rel, apply_ops(repo.pristine[rel], ops))


@bounded(80)
@given(
    rel=st.sampled_from(
        ["accounts.yaml", "overlays/staging/identity.yaml", "base/kustomization.yaml"]
    ),
    data=st.binary(max_size=3000),
)
def test_arbitrary_bytes_never_crash_check_or_render_check(
    repo: Repo, rel: str, data: bytes
) -> None:
    repo.run(["check", "render --check"], rel, data)


FN_INPUT = fn_input()


def _fn(stdin: bytes) -> None:
    result = runner.invoke(main, ["fn"], input=stdin, catch_exceptions=True)
    reason = crash_of(result, "fn")
    assert reason is None, reason


@bounded(150)
@given(ops=OPS)
def test_mutated_resource_lists_never_crash_fn(ops: list[Any]) -> None:
    _fn(apply_ops(FN_INPUT, ops))


@bounded(100)
@given(
    data=st.one_of(
        st.binary(max_size=3000), st.lists(st.sampled_from(TOKENS), max_size=30).map(b"".join)
    )
)
def test_arbitrary_bytes_never_crash_fn(data: bytes) -> None:
    _fn(data)


# --- crashes the fuzzer found, kept as fixed examples ---------------------------------------------

FOUND: list[Any] = [
    pytest.param(
        "base/cluster.yaml",
        "name: cluster-control-plane\nspec:\n",
        "name: cluster-control-plane\nspec: .inf\nx:\n",
        id="spec-a-number",
    ),
    pytest.param(
        "base/cluster.yaml",
        '      bootstrap:\n        dataSecretName: ""\n',
        "      bootstrap: x\n",
        id="bootstrap-a-string",
    ),
    pytest.param("base/namespace.yaml", "kind: Namespace", "kind: [1, {a: b}]", id="kind-a-list"),
]


@pytest.mark.parametrize(("rel", "old", "new"), FOUND)
def test_malformed_base_items_never_crash_render_or_fn(
    repo: Repo, rel: str, old: str, new: str
) -> None:
    text = repo.pristine[rel].decode()
    assert old in text
    text = text.replace(old, new, 1)
    repo.run(["render --check", "render"], rel, text.encode())
    resource_list = yaml.safe_load(FN_INPUT)
    resource_list["items"] = [d for d in yaml.safe_load_all(text) if d is not None]
    _fn(yaml.safe_dump(resource_list).encode())


class AttackRepo(Repo):
    """The fuzzer's repository: the attack shapes, a file outside it and a .git/config."""

    def __init__(self, path: Path) -> None:
        make_repo(path)
        self.path = path
        self.pristine = self.files()

    def files(self) -> dict[str, bytes]:
        return {
            p.relative_to(self.path).as_posix(): p.read_bytes()
            for p in self.path.rglob("*")
            if p.is_file() and not p.is_symlink() and ".git" not in p.parts
        }


@pytest.fixture(scope="module")
def attack_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AttackRepo]:
    path = tmp_path_factory.mktemp("attack") / "repo"
    yield AttackRepo(path)
    shutil.rmtree(path.parent, ignore_errors=True)


@bounded(40)
@given(
    rel=st.sampled_from(sorted(r for r in ATTACK_FILES if r.endswith("kustomization.yaml"))),
    ops=OPS,
)
def test_mutated_attacks_never_read_outside_the_repository(
    attack_repo: AttackRepo, rel: str, ops: list[Any]
) -> None:
    """crash_of counts a run whose output holds the outside file's marker as a crash."""
    attack_repo.run(["check"], rel, apply_ops(attack_repo.pristine[rel], ops))
