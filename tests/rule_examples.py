"""A small bad and a small good example of every rule, as data: one file per rule and verdict,
``tests/data/rules/<family>/{bad,good}/<RULE>.yaml``, each a few edits of the rendered example
repository. The bad example makes its rule fire; the good one, a near miss of the bad, keeps
it quiet. Each family's test file (tests/rules/test_rules_<family>.py) runs its examples, and
tests/rules/test_rule_examples.py proves every rule of every family has both.

An example file::

    # what it shows (one line)
    setup: example        # example (default), committed (a git commit, then check --base
                          # HEAD), operator (credentials: operator, rendered), or empty (no
                          # file at all: a hand-written repository)
    edits:
      - {file: overlays/staging/identity.yaml, old: "name: x", new: "name: y"}
      - {file: loose.yaml, text: "..."}      # write a file
      - {file: more.yaml, append: "..."}     # add to the end of a file
      - {file: dump.sql, size: 1024}         # a sparse file of that many bytes
      - {file: overlays/live, delete: true}  # remove a file or directory
    render: false         # true: render after the edits (accounts.yaml changed)

Fake credentials are never written whole in the repository (its own scan would find them):
``${FAKE_KEY_ID}``, ``${FAKE_SECRET_KEY}`` and ``${FAKE_B64_PROFILE}`` (a base64 credentials
profile, as clusterawsadm encodes it) are joined from halves in memory.
"""

from __future__ import annotations

import base64
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from conftest import edit, run_check
from gitrepo import commit, git, rerender

from capa_accounts.core.finding import Finding
from capa_accounts.hooks.rules import all_rules
from capa_accounts.hooks.rules import secrets as secret_rules

DATA = Path(__file__).resolve().parent / "data" / "rules"
VERDICTS = ("bad", "good")
_KEY_ID = "AKIA" + "Q7ZX3RLM2PV4KT6N"  # fake, built from halves
_SECRET_KEY = "9drTJvcXLB89Ab12CdZk" + "/3+qWm7Hn2Pq4Rs8TuV1"
FAKES = {
    "${FAKE_KEY_ID}": _KEY_ID,
    "${FAKE_SECRET_KEY}": _SECRET_KEY,
    "${FAKE_B64_PROFILE}": base64.b64encode(
        (
            f"[default]\naws_access_key_id = {_KEY_ID}\naws_secret_access_key = {_SECRET_KEY}\n"
        ).encode()
    ).decode(),
}


def _fill(text: str) -> str:
    for token, value in FAKES.items():
        text = text.replace(token, value)
    return text


@dataclass(frozen=True)
class Example:
    family: str
    verdict: str  # bad: the rule fires; good: it stays quiet
    rule: str
    path: Path

    def __str__(self) -> str:
        return f"{self.rule}-{self.verdict}"

    def spec(self) -> dict[str, Any]:
        loaded = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        assert isinstance(loaded, dict), self.path
        return loaded


def family_rules() -> dict[str, set[str]]:
    """Every rule ID by its family (the module of hooks/rules/ that registers it); the
    credential scan's IDs are constants of its module, as the scan runs outside the registry."""
    out: dict[str, set[str]] = {}
    for rule_id, rule in all_rules().items():
        out.setdefault(rule.check.__module__.rpartition(".")[2], set()).add(rule_id)
    out.setdefault("secrets", set()).update(
        {secret_rules.S001, secret_rules.S002, secret_rules.S003}
    )
    return out


def examples(family: str) -> list[Example]:
    return [
        Example(family, verdict, path.stem, path)
        for verdict in VERDICTS
        for path in sorted((DATA / family / verdict).glob("*.yaml"))
    ]


def _apply(repo: Path, change: dict[str, Any]) -> None:
    target = repo / change["file"]
    if change.get("delete"):
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    elif "text" in change:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_fill(change["text"]), encoding="utf-8")
    elif "append" in change:
        with target.open("a", encoding="utf-8") as out:
            out.write(_fill(change["append"]))
    elif "size" in change:
        with target.open("wb") as out:
            out.truncate(change["size"])
    else:
        edit(target, change["old"], change["new"], change.get("count", 1))


def prepare(example: Example, repo: Path) -> str | None:
    """The repository as the example starts from (``repo``: the rendered example, fresh);
    the ``--base`` its check compares with, if any."""
    setup = example.spec().get("setup", "example")
    if setup == "empty":
        for child in repo.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    elif setup == "operator":
        edit(repo / "accounts.yaml", "credentials: roleIdentity", "credentials: operator")
        rerender(repo)
    elif setup == "committed":
        git(repo, "init", "-q")
        commit(repo, "base")
    return "HEAD" if setup == "committed" else None


def change(example: Example, repo: Path) -> None:
    """The example's change: its edits, then a render when it asks for one."""
    spec = example.spec()
    for one in spec.get("edits", []):
        _apply(repo, one)
    if spec.get("render"):
        rerender(repo)


def findings_of(example: Example, repo: Path) -> list[Finding]:
    """``check``'s findings of the example's rule on ``repo`` (the rendered example, fresh)."""
    base = prepare(example, repo)
    change(example, repo)
    return [f for f in run_check(repo, base_ref=base).findings if f.rule == example.rule]


def assert_example(example: Example, repo: Path) -> None:
    found = findings_of(example, repo)
    if example.verdict == "bad":
        assert found, f"{example.path}: {example.rule} does not fire"
    else:
        assert not found, f"{example.path}: {example.rule} fires: {[f.text() for f in found]}"
