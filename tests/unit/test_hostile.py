"""Hostile and broken input: one line naming the file and line, exit 2, nothing written.

The input layer (duplicate keys, alias bombs, deep nesting, bad bytes, tabs, empty documents,
huge files) for every command, in bounded time and memory, and bad CRDs given to check. The
repository boundary is test_boundary.py; the KRM function's bad input, test_fn_hostile.py.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import edit, line_of
from hostile import (
    BOMB,
    COMMANDS,
    DEEP,
    GiB,
    assert_one_line_error,
    invoke,
    snapshot,
)

# --- the input layer, for every command ---------------------------------------------------------


def _replace(old: str, new: str) -> Any:
    return lambda text: text.replace(old, new, 1)


BAD_ACCOUNTS: list[tuple[str, Any, str | None, str]] = [
    (
        "duplicate-key",
        _replace(
            "  credentials: roleIdentity", "  credentials: roleIdentity\n  credentials: operator"
        ),
        "credentials: operator",
        "duplicate key 'credentials'",
    ),
    (
        "tab-indentation",
        _replace("    - name: live", "\t- name: live"),
        "- name: live",
        "a tab character: YAML indents with spaces",
    ),
    (
        "not-utf8",
        lambda t: t.encode().replace(b"platform", b"pl\xe9tform"),
        "pl",
        "not UTF-8 text (byte 0xe9)",
    ),
    (
        "nul-byte",
        _replace("name: platform", "name: plat\0form"),
        "name: plat",
        "contains a NUL byte",
    ),
    (
        "control-character",
        _replace("name: platform", "name: plat\x07form"),
        "name: plat",
        "is not allowed",
    ),
    ("empty", lambda t: "", None, "holds no YAML document"),
    ("comment-only", lambda t: "# nothing here yet\n", None, "holds no YAML document"),
    ("bare-separator", lambda t: "---\n", None, "holds no YAML document"),
    ("alias-bomb", lambda t: BOMB, None, "aliases expand too much (an alias bomb)"),
    ("deep-nesting", lambda t: DEEP, None, "nested too deeply"),
    ("over-8-mib", lambda t: t + "#" * (9 << 20) + "\n", None, "over the 8 MiB limit"),
    (
        "null-key",
        _replace("  credentials:", "  ~: x\n  credentials:"),
        "~: x",
        "a mapping key must be a string, not null",
    ),
    (
        "list-key",
        _replace("  credentials:", "  ? [a]\n  : x\n  credentials:"),
        "? [a]",
        "a mapping key must be a string, not a list or mapping",
    ),
    (
        "bad-int",
        _replace("principal: controllersRole", "principal: !!int many"),
        "principal:",
        "'many' is not a valid int",
    ),
    (
        "recursive-alias",
        lambda t: "a: &a [*a]\n",
        None,
        "an alias refers to the collection that contains it",
    ),
]


@pytest.mark.parametrize(
    ("case", "change", "needle", "message"), BAD_ACCOUNTS, ids=[c[0] for c in BAD_ACCOUNTS]
)
def test_bad_accounts_yaml_is_one_line_with_file_and_line_for_every_command(
    example_repo: Path, case: str, change: Any, needle: str | None, message: str
) -> None:
    accounts = example_repo / "accounts.yaml"
    new = change(accounts.read_text(encoding="utf-8"))
    accounts.write_bytes(new if isinstance(new, bytes) else new.encode("utf-8"))
    where = "capa-accounts: accounts.yaml"
    if needle is not None:
        text = accounts.read_bytes().decode("utf-8", errors="replace")
        where += f":{[n for n, t in enumerate(text.splitlines(), 1) if needle in t][0]}:"
    before = snapshot(example_repo)
    for command in COMMANDS:
        assert_one_line_error(invoke(*command, "--repo", str(example_repo)), where, message)
    assert snapshot(example_repo) == before


def test_bom_and_crlf_line_ends_are_valid_input(example_repo: Path) -> None:
    for rel in ("accounts.yaml", "base/identity.yaml", "base/kustomization.yaml"):
        path = example_repo / rel
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    assert invoke("check", "--repo", str(example_repo)).exit_code == 0
    assert invoke("render", "--check", "--repo", str(example_repo)).exit_code == 0
    assert invoke("render", "--repo", str(example_repo)).output == "up to date\n"


def test_bare_separators_between_manifests_are_tolerated_as_kustomize_does(
    example_repo: Path,
) -> None:
    identity = example_repo / "base/identity.yaml"
    identity.write_text("---\n# leading comment\n---\n" + identity.read_text() + "---\n---\n")
    assert invoke("render", "--check", "--repo", str(example_repo)).exit_code == 0
    assert invoke("check", "--repo", str(example_repo)).exit_code == 0


@pytest.mark.parametrize(
    "content", ["", "# resources: []\n", "---\n"], ids=["empty", "comment-only", "bare-separator"]
)
def test_a_kustomization_without_a_document_is_an_error(example_repo: Path, content: str) -> None:
    base = example_repo / "base/kustomization.yaml"
    kept = base.read_text()
    base.write_text(content)
    assert_one_line_error(
        invoke("render", "--check", "--repo", str(example_repo)),
        "capa-accounts: base/kustomization.yaml:1:",
        "holds no YAML document",
    )
    base.write_text(kept)  # check names every unreadable file: one at a time here
    (example_repo / "overlays/staging/kustomization.yaml").write_text(content)
    assert_one_line_error(
        invoke("check", "--repo", str(example_repo)),
        "capa-accounts: overlays/staging/kustomization.yaml:1:",
        "holds no YAML document",
    )


def test_duplicate_key_in_an_overlay_names_file_line_and_column(example_repo: Path) -> None:
    identity = example_repo / "overlays/staging/identity.yaml"
    edit(
        identity,
        "  allowedNamespaces:\n",
        "  allowedNamespaces:\n    list: [x]\n  allowedNamespaces:\n",
    )
    line = line_of(identity, "list: [x]") + 1
    assert_one_line_error(
        invoke("check", "--repo", str(example_repo)),
        f"capa-accounts: overlays/staging/identity.yaml:{line}:3:",
        "duplicate key 'allowedNamespaces'",
    )


def test_keys_are_compared_as_kubernetes_reads_them(example_repo: Path) -> None:
    """`1` and `"1"` are the same JSON key for the API server, so they are duplicates."""
    (example_repo / "extra.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: staging}\n"
        'data:\n  1: a\n  "1": b\n'
    )
    assert_one_line_error(
        invoke("check", "--repo", str(example_repo)),
        "capa-accounts: extra.yaml:6:3:",
        "duplicate key '1'",
    )


# --- bounded time and memory ---------------------------------------------------------------------

HUGE: dict[str, Any] = {
    "40-mib-file": lambda: b"a: b\n" * (8 << 20),
    "20000-deep": lambda: DEEP.encode(),
    "alias-bomb": lambda: BOMB.encode(),
    "8-mib-of-nodes": lambda: b"[" + b"1," * ((8 << 20) // 2 - 2) + b"1]\n",
}
MESSAGES = {
    "40-mib-file": "over the 8 MiB limit",
    "20000-deep": "nested too deeply",
    "alias-bomb": "alias bomb",
    "8-mib-of-nodes": "more than 500,000 YAML nodes",
}


# Runs a command and reports, on its last stderr line, the command's exit code, wall time and
# peak resident memory (RUSAGE_CHILDREN of this fresh process is the command alone).
MEASURE = """
import resource, subprocess, sys, time
start = time.monotonic()
code = subprocess.run(sys.argv[1:], check=False).returncode
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(f"{code} {time.monotonic() - start:.3f} {peak}", file=sys.stderr)
"""


@pytest.mark.e2e  # slow: out of the fast lane
@pytest.mark.parametrize("where", ["accounts.yaml", "overlays/staging/identity.yaml", "fn"])
@pytest.mark.parametrize("kind", list(HUGE))
def test_hostile_input_fails_fast_in_bounded_memory(
    example_repo: Path, kind: str, where: str
) -> None:
    data = HUGE[kind]()
    exe = shutil.which("capa-accounts") or str(Path(sys.executable).parent / "capa-accounts")
    if where == "fn":
        argv, stdin, expected, prefix = [exe, "fn"], data, 1, "capa-accounts fn: <stdin>"
    else:
        (example_repo / where).write_bytes(data)
        argv, stdin, expected = [exe, "check", "--repo", str(example_repo)], None, 2
        prefix = f"capa-accounts: {where}"
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv],
        input=stdin or b"",
        capture_output=True,
        timeout=120,
        check=False,
    )
    *lines, measured = result.stderr.decode().strip().splitlines()
    code, elapsed, peak = (
        int(measured.split()[0]),
        float(measured.split()[1]),
        int(measured.split()[2]),
    )
    print(f"{kind} via {where}: exit {code}, {elapsed:.2f} s, {peak / (1 << 20):.0f} MiB")
    assert code == expected, lines
    assert result.stdout == b""
    assert len(lines) == 1 and lines[0].startswith(prefix) and MESSAGES[kind] in lines[0], lines
    assert peak < 2 * GiB
    assert elapsed < 20  # generous: each of these fails in about a second


CRD = (
    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
    "metadata: {name: widgets.example.com}\n"
)
BAD_CRDS = [
    ("duplicate-key", CRD + "metadata: {name: x}\n", ":4:1:", "duplicate key 'metadata'"),
    ("alias-bomb", BOMB, ":1:", "alias bomb"),
    ("not-utf8", CRD + "spec: {group: \xe9}\n", ":4:", "not UTF-8 text"),
    (
        "malformed",
        CRD + "spec: {group: example.com, names: 5}\n",
        ":",
        "malformed CustomResourceDefinition",
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "where", "message"), BAD_CRDS, ids=[c[0] for c in BAD_CRDS]
)
def test_a_bad_crd_given_to_check_is_one_line(
    example_repo: Path, tmp_path: Path, case: str, text: str, where: str, message: str
) -> None:
    crd = tmp_path / "crd.yaml"
    crd.write_bytes(text.encode("latin-1") if case == "not-utf8" else text.encode())
    assert_one_line_error(
        invoke("check", "--repo", str(example_repo), "--crd", str(crd)),
        f"capa-accounts: {crd}{where}",
        message,
    )
