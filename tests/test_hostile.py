"""Hostile and broken input: one line naming the file and line, exit 2, nothing written.

Covers the input layer (duplicate keys, alias bombs, deep nesting, bad bytes, tabs, empty
documents, huge files) for every command, the repository boundary (symlinks and resource
entries that leave the repository, names that try to), bounded time and memory, and the KRM
function under bad input.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from conftest import PROJECT, edit, line_of

from kustomize_plugin import yamlio
from kustomize_plugin.cli import main
from kustomize_plugin.filewrite import TMP_SUFFIX
from kustomize_plugin.render import load_base

runner = CliRunner()
GiB = 1 << 30
BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10))
DEEP = "a: " + "[" * 20_000 + "]" * 20_000 + "\n"
OUTSIDE_TEXT = "root:x:0:0:outside-marker:/root:/bin/bash\n"


def invoke(*args: str, stdin: bytes | None = None) -> Result:
    result = runner.invoke(main, list(args), input=stdin, catch_exceptions=True)
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), (exc, result.output)
    assert "Traceback" not in result.output
    return result


def assert_one_line_error(result: Result, where: str, message: str, code: int = 2) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(where), lines[0]
    assert message in lines[0], lines[0]


def snapshot(repo: Path) -> dict[str, bytes | str]:
    return {p.relative_to(repo).as_posix(): (os.readlink(p) if p.is_symlink() else p.read_bytes())
            for p in sorted(repo.rglob("*")) if p.is_symlink() or p.is_file()}


def outside_file(tmp_path: Path, text: str = OUTSIDE_TEXT, name: str = "passwd") -> Path:
    path = tmp_path / "outside" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the input layer, for every command ---------------------------------------------------------

COMMANDS = [("check",), ("render",), ("render", "--check"),
            ("add-account", "qa", "--account-id", "444444444444", "--region", "eu-west-1")]


def _replace(old: str, new: str) -> Any:
    return lambda text: text.replace(old, new, 1)


BAD_ACCOUNTS: list[tuple[str, Any, str | None, str]] = [
    ("duplicate-key", _replace("  credentials: roleIdentity",
                               "  credentials: roleIdentity\n  credentials: operator"),
     "credentials: operator", "duplicate key 'credentials'"),
    ("tab-indentation", _replace("    - name: live", "\t- name: live"), "- name: live",
     "a tab character: YAML indents with spaces"),
    ("not-utf8", lambda t: t.encode().replace(b"platform", b"pl\xe9tform"), "pl",
     "not UTF-8 text (byte 0xe9)"),
    ("nul-byte", _replace("name: platform", "name: plat\0form"), "name: plat",
     "contains a NUL byte"),
    ("control-character", _replace("name: platform", "name: plat\x07form"), "name: plat",
     "is not allowed"),
    ("empty", lambda t: "", None, "holds no YAML document"),
    ("comment-only", lambda t: "# nothing here yet\n", None, "holds no YAML document"),
    ("bare-separator", lambda t: "---\n", None, "holds no YAML document"),
    ("alias-bomb", lambda t: BOMB, None, "aliases expand too much (an alias bomb)"),
    ("deep-nesting", lambda t: DEEP, None, "nested too deeply"),
    ("over-8-mib", lambda t: t + "#" * (9 << 20) + "\n", None, "over the 8 MiB limit"),
    ("null-key", _replace("  credentials:", "  ~: x\n  credentials:"), "~: x",
     "a mapping key must be a string, not null"),
    ("list-key", _replace("  credentials:", "  ? [a]\n  : x\n  credentials:"), "? [a]",
     "a mapping key must be a string, not a list or mapping"),
    ("bad-int", _replace('principal: controllersRole', 'principal: !!int many'),
     "principal:", "'many' is not a valid int"),
    ("recursive-alias", lambda t: "a: &a [*a]\n", None,
     "an alias refers to the collection that contains it"),
]


@pytest.mark.parametrize(("case", "change", "needle", "message"), BAD_ACCOUNTS,
                         ids=[c[0] for c in BAD_ACCOUNTS])
def test_bad_accounts_yaml_is_one_line_with_file_and_line_for_every_command(
        example_repo: Path, case: str, change: Any, needle: str | None, message: str) -> None:
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
        example_repo: Path) -> None:
    identity = example_repo / "base/identity.yaml"
    identity.write_text("---\n# leading comment\n---\n" + identity.read_text() + "---\n---\n")
    assert invoke("render", "--check", "--repo", str(example_repo)).exit_code == 0
    assert invoke("check", "--repo", str(example_repo)).exit_code == 0


@pytest.mark.parametrize("content", ["", "# resources: []\n", "---\n"],
                         ids=["empty", "comment-only", "bare-separator"])
def test_a_kustomization_without_a_document_is_an_error(example_repo: Path,
                                                        content: str) -> None:
    (example_repo / "base/kustomization.yaml").write_text(content)
    assert_one_line_error(invoke("render", "--check", "--repo", str(example_repo)),
                          "capa-accounts: base/kustomization.yaml:1:", "holds no YAML document")
    (example_repo / "overlays/staging/kustomization.yaml").write_text(content)
    assert_one_line_error(invoke("check", "--repo", str(example_repo)),
                          "capa-accounts: overlays/staging/kustomization.yaml:1:",
                          "holds no YAML document")


def test_duplicate_key_in_an_overlay_names_file_line_and_column(example_repo: Path) -> None:
    identity = example_repo / "overlays/staging/identity.yaml"
    edit(identity, "  allowedNamespaces:\n", "  allowedNamespaces:\n    list: [x]\n"
         "  allowedNamespaces:\n")
    line = line_of(identity, "list: [x]") + 1
    assert_one_line_error(invoke("check", "--repo", str(example_repo)),
                          f"capa-accounts: overlays/staging/identity.yaml:{line}:3:",
                          "duplicate key 'allowedNamespaces'")


def test_keys_are_compared_as_kubernetes_reads_them(example_repo: Path) -> None:
    """`1` and `"1"` are the same JSON key for the API server, so they are duplicates."""
    (example_repo / "extra.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: staging}\n"
        'data:\n  1: a\n  "1": b\n')
    assert_one_line_error(invoke("check", "--repo", str(example_repo)),
                          "capa-accounts: extra.yaml:6:3:", "duplicate key '1'")


# --- bounded time and memory ---------------------------------------------------------------------

HUGE: dict[str, Any] = {
    "40-mib-file": lambda: b"a: b\n" * (8 << 20),
    "20000-deep": lambda: DEEP.encode(),
    "alias-bomb": lambda: BOMB.encode(),
    "8-mib-of-nodes": lambda: b"[" + b"1," * ((8 << 20) // 2 - 2) + b"1]\n",
}
MESSAGES = {"40-mib-file": "over the 8 MiB limit", "20000-deep": "nested too deeply",
            "alias-bomb": "alias bomb", "8-mib-of-nodes": "more than 500,000 YAML nodes"}


# Runs a command and reports, on its last stderr line, the command's exit code, wall time and
# peak resident memory (RUSAGE_CHILDREN of this fresh process is the command alone).
MEASURE = """
import resource, subprocess, sys, time
start = time.monotonic()
code = subprocess.run(sys.argv[1:], check=False).returncode
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(f"{code} {time.monotonic() - start:.3f} {peak}", file=sys.stderr)
"""


@pytest.mark.parametrize("where", ["accounts.yaml", "overlays/staging/identity.yaml", "fn"])
@pytest.mark.parametrize("kind", list(HUGE))
def test_hostile_input_fails_fast_in_bounded_memory(example_repo: Path, kind: str,
                                                    where: str) -> None:
    data = HUGE[kind]()
    exe = shutil.which("capa-accounts") or str(Path(sys.executable).parent / "capa-accounts")
    if where == "fn":
        argv, stdin, expected, prefix = [exe, "fn"], data, 1, "capa-accounts fn: <stdin>"
    else:
        (example_repo / where).write_bytes(data)
        argv, stdin, expected = [exe, "check", "--repo", str(example_repo)], None, 2
        prefix = f"capa-accounts: {where}"
    result = subprocess.run([sys.executable, "-c", MEASURE, *argv], input=stdin or b"",
                            capture_output=True, timeout=120, check=False)
    *lines, measured = result.stderr.decode().strip().splitlines()
    code, elapsed, peak = int(measured.split()[0]), float(measured.split()[1]), \
        int(measured.split()[2])
    print(f"{kind} via {where}: exit {code}, {elapsed:.2f} s, {peak / (1 << 20):.0f} MiB")
    assert code == expected, lines
    assert result.stdout == b""
    assert len(lines) == 1 and lines[0].startswith(prefix) and MESSAGES[kind] in lines[0], lines
    assert peak < 2 * GiB
    assert elapsed < 20  # generous: each of these fails in about a second


# --- the repository boundary ---------------------------------------------------------------------

STAGING_ID = ('accountId: "222222222222"', 'accountId: "222222222299"')


def test_render_refuses_an_overlay_file_symlinked_outside(example_repo: Path,
                                                          tmp_path: Path) -> None:
    """overlays/staging/identity.yaml → a file outside: neither read nor overwritten."""
    outside = outside_file(tmp_path)
    identity = example_repo / "overlays/staging/identity.yaml"
    identity.unlink()
    identity.symlink_to(outside)
    edit(example_repo / "accounts.yaml", *STAGING_ID)  # render would rewrite identity.yaml
    before = snapshot(example_repo)
    for command in (("render",), ("render", "--check")):
        assert_one_line_error(invoke(*command, "--repo", str(example_repo)),
                              "capa-accounts: overlays/staging/identity.yaml:",
                              "leads outside the repository through a symlink")
    result = invoke("check", "--repo", str(example_repo))
    assert result.exit_code == 1
    assert ("overlays/staging/kustomization.yaml:6:3: [CAPA-R002] resource 'identity.yaml' leads "
            "outside the repository through a symlink") in result.output
    assert "outside-marker" not in result.output
    assert outside.read_text() == OUTSIDE_TEXT and snapshot(example_repo) == before


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] + "-".join(c[1:2]) for c in COMMANDS])
def test_accounts_yaml_symlinked_outside_is_never_read(example_repo: Path, tmp_path: Path,
                                                       command: tuple[str, ...]) -> None:
    """Even a valid AccountSet is refused when it lives outside the repository."""
    accounts = example_repo / "accounts.yaml"
    outside = outside_file(tmp_path, accounts.read_text(), "accounts.yaml")
    accounts.unlink()
    accounts.symlink_to(outside)
    before = snapshot(example_repo)
    assert_one_line_error(invoke(*command, "--repo", str(example_repo)),
                          "capa-accounts: accounts.yaml:",
                          "leads outside the repository through a symlink")
    assert snapshot(example_repo) == before


def test_a_base_file_symlinked_outside_stops_render_at_its_entry(example_repo: Path,
                                                                 tmp_path: Path) -> None:
    identity = example_repo / "base/identity.yaml"
    outside = outside_file(tmp_path, identity.read_text(), "identity.yaml")
    identity.unlink()
    identity.symlink_to(outside)
    line = line_of(example_repo / "base/kustomization.yaml", "identity.yaml")
    assert_one_line_error(invoke("render", "--repo", str(example_repo)),
                          f"capa-accounts: base/kustomization.yaml:{line}:",
                          "resource 'identity.yaml' leads outside the repository")


def test_render_refuses_an_overlay_directory_symlinked_outside(example_repo: Path,
                                                               tmp_path: Path) -> None:
    staging = example_repo / "overlays/staging"
    outside = tmp_path / "outside-staging"
    shutil.move(staging, outside)
    staging.symlink_to(outside, target_is_directory=True)
    edit(example_repo / "accounts.yaml", *STAGING_ID)
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    assert_one_line_error(invoke("render", "--repo", str(example_repo)),
                          "capa-accounts: overlays/staging/",
                          "leads outside the repository through a symlink")
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before


def test_a_planted_temporary_file_symlink_is_not_followed(example_repo: Path,
                                                          tmp_path: Path) -> None:
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
    leftovers = [example_repo / f"overlays/staging/.namespace.yaml{TMP_SUFFIX}",
                 example_repo / f"bootstrap/.live.yaml{TMP_SUFFIX}",
                 example_repo / f"..sourceignore{TMP_SUFFIX}"]
    for leftover in leftovers:
        leftover.write_text("# generated by capa-accounts, half")
    result = invoke("render", "--repo", str(example_repo))
    assert result.output == "up to date\n"
    assert [p for p in leftovers if p.exists()] == []


@pytest.mark.parametrize("entry", ["../../../outside/static.yaml", "/etc/hostname",
                                   "../../../outside"], ids=["file", "absolute", "directory"])
def test_a_resource_entry_climbing_out_is_a_finding_not_a_read(example_repo: Path,
                                                               tmp_path: Path,
                                                               entry: str) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/static.yaml").write_text(
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSClusterStaticIdentity\n"
        "metadata: {name: keys}\nspec: {secretRef: keys}\n")
    (tmp_path / "outside/kustomization.yaml").write_text("resources: [static.yaml]\n")
    apps = example_repo / "apps"
    apps.mkdir()
    (apps / "kustomization.yaml").write_text(f"resources:\n- {entry}\n")
    result = invoke("check", "--repo", str(example_repo), "--format", "json")
    assert result.exit_code == 1
    findings = yaml.safe_load(result.stdout)["findings"]
    assert [(f["rule"], f["file"], f["line"]) for f in findings] == [
        ("CAPA-R002", "apps/kustomization.yaml", 2)]
    assert f"resource {entry!r} leads outside the repository" in findings[0]["message"]


def test_a_kustomization_built_by_kustomize_reads_nothing_outside(example_repo: Path,
                                                                   tmp_path: Path) -> None:
    """`namePrefix` sends the build to a real kustomize, which would read the outside file:
    the entries are findings, and nothing of the file reaches the output."""
    outside = outside_file(tmp_path, "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\n"
                           "kind: AWSClusterStaticIdentity\nmetadata: {name: outside-marker}\n"
                           "spec: {secretRef: keys}\n", "static.yaml")
    apps = example_repo / "apps"
    apps.mkdir()
    (apps / "kustomization.yaml").write_text(
        f"namePrefix: x-\nresources:\n- {os.path.relpath(outside, apps)}\n"
        f"configMapGenerator:\n- name: c\n  files:\n  - key={outside}\n")
    result = invoke("check", "--repo", str(example_repo), "--format", "json")
    assert result.exit_code == 1 and "outside-marker" not in result.output
    findings = yaml.safe_load(result.stdout)["findings"]
    assert [(f["rule"], f["file"], f["line"]) for f in findings] == [
        ("CAPA-R002", "apps/kustomization.yaml", 3), ("CAPA-R002", "apps/kustomization.yaml", 7)]


def test_a_symlink_loop_is_one_line(example_repo: Path) -> None:
    identity = example_repo / "overlays/staging/identity.yaml"
    identity.unlink()
    identity.symlink_to(identity)
    assert_one_line_error(invoke("render", "--repo", str(example_repo)),
                          "capa-accounts: overlays/staging/identity.yaml:", "symlink loop")


@pytest.mark.parametrize("name", ["../escape", "/escape", "a/b", "..", "UPPER"])
def test_account_names_cannot_leave_the_repository(example_repo: Path, name: str) -> None:
    before = snapshot(example_repo)
    result = invoke("add-account", name, "--account-id", "444444444444", "--region",
                    "eu-west-1", "--repo", str(example_repo))
    assert result.exit_code == 2 and "DNS-1123" in result.stderr, result.output
    edit(example_repo / "accounts.yaml", "- name: live", f"- name: {name!r}")
    for command in (("render",), ("check",)):
        assert_one_line_error(invoke(*command, "--repo", str(example_repo)),
                              "capa-accounts: accounts.yaml:", "")
    assert not (example_repo.parent / "escape").exists()
    before["accounts.yaml"] = (example_repo / "accounts.yaml").read_bytes()
    assert snapshot(example_repo) == before


def test_a_fifo_named_like_accounts_yaml_is_refused_not_read(example_repo: Path) -> None:
    accounts = example_repo / "accounts.yaml"
    accounts.unlink()
    os.mkfifo(accounts)
    for command in (("render",), ("render", "--check")):
        assert_one_line_error(invoke(*command, "--repo", str(example_repo)),
                              "capa-accounts: accounts.yaml:", "is not a regular file")


@pytest.mark.parametrize("where", [
    "accounts.yaml",
    "overlays/staging/extra.yaml"])
def test_a_fifo_anywhere_does_not_hang_check_or_render(example_repo: Path, where: str) -> None:
    (example_repo / where).unlink(missing_ok=True)
    os.mkfifo(example_repo / where)
    exe = shutil.which("capa-accounts") or str(Path(sys.executable).parent / "capa-accounts")
    for command in (["check"], ["render", "--check"]):
        try:
            result = subprocess.run([exe, *command, "--repo", str(example_repo)],
                                    capture_output=True, text=True, timeout=5, check=False)
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


# --- the KRM function under bad input -------------------------------------------------------------

ACCOUNT: dict[str, Any] = {
    "apiVersion": "capa-accounts.dev/v1alpha1", "kind": "Account", "metadata": {"name": "qa"},
    "spec": {"accountId": "444444444444", "managementAccountId": "111111111111",
             "region": "us-east-1", "kubernetesVersion": "1.31"}}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}


def resource_list(**fields: Any) -> bytes:
    data = {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
            "items": [NAMESPACE], "functionConfig": ACCOUNT, **fields}
    return yaml.safe_dump({k: v for k, v in data.items() if v is not None},
                          sort_keys=False).encode()


BAD_FN: list[tuple[str, bytes, str, bool]] = [
    ("garbage-bytes", bytes(range(256)) * 4, "not UTF-8 text", False),
    ("empty", b"", "holds no YAML document", False),
    ("comment-only", b"# nothing\n", "holds no YAML document", False),
    ("invalid-yaml", b"items: [a\n", "invalid YAML", False),
    ("a-list", b"- a\n- b\n", "input is not a ResourceList", False),
    ("not-a-resource-list", yaml.safe_dump(ACCOUNT).encode(), "input is not a ResourceList",
     False),
    ("wrong-api-version", resource_list(apiVersion="v1"), "unsupported ResourceList apiVersion",
     False),
    ("missing-items", resource_list(items=None), "ResourceList has no items", False),
    ("items-not-a-list", resource_list(items={"a": 1}), "items must be a list", False),
    ("item-not-a-mapping", resource_list(items=["x"]), "item 0: a resource must be a mapping",
     False),
    ("kind-not-a-string", resource_list(items=[{**NAMESPACE, "kind": [1]}]),
     "item 0: kind must be a non-empty string", False),
    ("no-function-config", resource_list(functionConfig=None), "functionConfig is missing",
     True),
    ("function-config-a-list", resource_list(functionConfig=[1]), "must be a mapping", True),
    ("bad-account-id", resource_list(functionConfig={**ACCOUNT, "spec": {
        **ACCOUNT["spec"], "accountId": "4444"}}), "4444", True),
    ("two-documents", resource_list() + b"---\n" + resource_list(),
     "expected one ResourceList document", False),
    ("duplicate-key", resource_list() + b"kind: ResourceList\n", "duplicate key 'kind'", False),
    ("alias-bomb", BOMB.encode(), "alias bomb", False),
    ("tab", resource_list().replace(b"\n- apiVersion", b"\n\t- apiVersion"), "a tab character",
     False),
]


@pytest.mark.parametrize(("case", "stdin", "message", "explained"), BAD_FN,
                         ids=[c[0] for c in BAD_FN])
def test_fn_bad_input_is_one_line_and_never_partial_output(case: str, stdin: bytes,
                                                           message: str,
                                                           explained: bool) -> None:
    """Exit 1, one line on stderr; stdout empty, or a whole ResourceList whose results say
    why (the items untouched)."""
    result = invoke("fn", stdin=stdin)
    assert_one_line_error(result, "capa-accounts fn: ", message, code=1)
    if not explained:
        assert result.stdout == ""
        return
    out = yaml.safe_load(result.stdout)
    assert out["kind"] == "ResourceList" and out["items"] == [NAMESPACE]
    assert out["results"][0]["severity"] == "error" and out["results"][0]["message"]


@pytest.mark.parametrize("case", ["garbage-bytes", "bad-account-id"])
def test_fn_console_script_under_bad_input(case: str) -> None:
    stdin, message = {c[0]: (c[1], c[2]) for c in BAD_FN}[case]
    exe = shutil.which("capa-accounts-fn") or str(Path(sys.executable).parent /
                                                  "capa-accounts-fn")
    result = subprocess.run([exe], input=stdin, capture_output=True, timeout=60, check=False)
    stderr = result.stderr.decode()
    assert result.returncode == 1 and len(stderr.strip().splitlines()) == 1, stderr
    assert message in stderr and "Traceback" not in stderr
    assert result.stdout == b"" or yaml.safe_load(result.stdout)["results"]


def test_fn_keeps_comments_and_the_yaml_1_1_meaning_of_scalars() -> None:
    """With comments, the round trip (YAML 1.2 in ruamel) must not turn `-09` into -9, a date
    into a date object, or lose that `on` is a boolean to Kubernetes."""
    items = load_base(PROJECT)
    for item in items:
        item["metadata"].pop("annotations")
    config_map = "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: x  # keep me\n" \
        "    annotations:\n      a: -09\n      b: 2001-12-14\n      c: 0o17\n  data:\n    d: on\n"
    text = resource_list(items=items).decode().replace("items:\n", "items:\n" + config_map, 1)
    result = invoke("fn", stdin=text.encode())
    assert result.exit_code == 0, result.output
    assert "# keep me" in result.stdout
    config = yaml.safe_load(result.stdout)["items"][0]
    assert config["metadata"]["annotations"] == {"a": "-09", "b": "2001-12-14", "c": "0o17"}
    assert config["data"] == {"d": True}


def test_fn_on_a_large_commented_input_drops_comments_rather_than_time() -> None:
    """ruamel's round trip is slow: over 2 MiB the function keeps the meaning, not the
    comments, and says so on stderr."""
    items = load_base(PROJECT)
    for item in items:
        item["metadata"].pop("annotations")
    filler = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"},
               "data": {"k": "v" * 400}} for i in range(5000)]
    stdin = ("# a comment\n" + yamlio.dump({
        "apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
        "items": items + filler, "functionConfig": ACCOUNT})).encode()
    assert len(stdin) > 2 << 20
    result = invoke("fn", stdin=stdin)
    assert result.exit_code == 0
    assert result.stderr.strip() == ("capa-accounts fn: warning: comments not kept (input over "
                                     "2 MiB, or read differently by the round-trip loader)")
    assert len(yaml.load(result.stdout, Loader=yaml.CSafeLoader)["items"]) == len(items) + 5000


CRD = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
       "metadata: {name: widgets.example.com}\n")
BAD_CRDS = [
    ("duplicate-key", CRD + "metadata: {name: x}\n", ":4:1:", "duplicate key 'metadata'"),
    ("alias-bomb", BOMB, ":1:", "alias bomb"),
    ("not-utf8", CRD + "spec: {group: \xe9}\n", ":4:", "not UTF-8 text"),
    ("malformed", CRD + "spec: {group: example.com, names: 5}\n", ":", "malformed "
     "CustomResourceDefinition"),
]


@pytest.mark.parametrize(("case", "text", "where", "message"), BAD_CRDS,
                         ids=[c[0] for c in BAD_CRDS])
def test_a_bad_crd_given_to_check_is_one_line(example_repo: Path, tmp_path: Path, case: str,
                                              text: str, where: str, message: str) -> None:
    crd = tmp_path / "crd.yaml"
    crd.write_bytes(text.encode("latin-1") if case == "not-utf8" else text.encode())
    assert_one_line_error(invoke("check", "--repo", str(example_repo), "--crd", str(crd)),
                          f"capa-accounts: {crd}{where}", message)
