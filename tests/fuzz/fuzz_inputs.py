"""A long-running fuzzer of the input layer: hostile files for `check`, `render` and `fn`.

Run it for minutes, not seconds (pytest does not collect it; tests/e2e/test_fuzz.py runs the same
mutations briefly under hypothesis):

    python tests/fuzz/fuzz_inputs.py --minutes 10 [--seed N] [--out DIR]

Each input is one file of the example repository (or the `fn` ResourceList) with a few
mutations: bytes flipped, deleted or inserted (YAML's sharp edges among them: anchors, aliases,
merge keys, tags, tabs, NUL, BOM, CR), lines duplicated, dropped, swapped or re-indented. The
commands run in-process through click's CliRunner. A crash is an exception other than
SystemExit(0|1|2), a traceback on stderr, `fn` printing something that is not a ResourceList,
or a run longer than the time bound; each distinct crash is saved under --out with its input.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Op = tuple[Any, ...]

TOKENS: tuple[bytes, ...] = (
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"---\n",
    b"...\n",
    b"\t",
    b": ",
    b"- ",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b"? ",
    b"!!binary ",
    b"!!int ",
    b"!!float ",
    b"!!timestamp ",
    b"!!map ",
    b"!!seq ",
    b"!!python/object:os.system ",
    b"!custom ",
    b'"\\0"',
    b"\xff",
    b"\xef\xbb\xbf",
    b"\r\n",
    b"\r",
    b"\0",
    b"~",
    b"null",
    b"true",
    b"on",
    b"0x1F",
    b"0o17",
    b".inf",
    b".nan",
    b"1e999",
    b"-0",
    b"2001-12-14",
    b"'",
    b'"',
    b"#",
    b"|\n",
    b">-\n",
    b"%YAML 1.1\n",
    b"%TAG ! tag:x,1:\n",
    b"\\u0000",
    b"../../..",
    b"/etc/passwd",
    b"- ../../../etc\n",
    b"123456789012",
    b"12345",
    b"arn:aws:iam::*:role/*",
    b"\xf0\x9f\x98\x80",
    b"\xe2\x80\xa8",
    b"\xed\xa0\x80",
    b"=",
    b"*",
    b"kind: AWSClusterStaticIdentity\n",
    b"allowedNamespaces: {}\n",
    b"list: []\n",
    b"- []\n",
    b"identityRef: {kind: AWSClusterControllerIdentity, name: default}\n",
    b"items: 5\n",
    b"functionConfig: []\n",
    b"resources: [5]\n",
    b"patches: []\n",
    b"namespace: x\n",
    b"metadata: 5\n",
    b"metadata: {name: [x]}\n",
    b"spec: ~\n",
    b"spec: [1]\n",
    b"1: 2\n",
    b"? [a]\n: b\n",
    b"x: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n",
    b"a: &a [1, 2, 3, 4, 5, 6]\n",
    # values of every other shape, and kinds that send a document to other rules
    b"[]",
    b"{}",
    b"[1, {a: b}]",
    b"{a: [b]}",
    b"-1",
    b"0",
    b"''",
    b"x" * 70,
    b"1.34",
    b"AWSClusterRoleIdentity",
    b"AWSClusterControllerIdentity",
    b"AWSClusterStaticIdentity",
    b"AWSManagedControlPlane",
    b"Cluster",
    b"InfrastructureProvider",
    b"Kustomization",
    b"Secret",
    b"List",
    b"AWSIAMConfiguration",
    b"ValidatingAdmissionPolicy",
    b"ConfigMap",
    b"Namespace",
    b"default",
    b"staging",
    b"operator",
    b"bootstrapUser",
    # an untrusted repository: every field a kustomization names files or sources in, paths
    # that leave it, remote sources, helm, fake SOPS, split keys, output forgery, RE2 shapes
    b"generators: [gen.yaml]\n",
    b"transformers:\n- |\n  kind: PatchTransformer\n  path: /etc/x\n",
    b"validators: [../../x]\n",
    b"patches:\n- path: ../../../etc/passwd\n",
    b"replacements:\n- path: /etc/hostname\n",
    b"openapi: {path: ../x}\n",
    b"crds: [/x]\n",
    b"components: [../../c]\n",
    b"helmCharts:\n- {name: x, repo: http://127.0.0.1:9}\n",
    b"resources: [https://127.0.0.1:9/x.yaml]\n",
    b"resources: [github.com/a/b?ref=v1]\n",
    b"resources: [git@github.com:a/b.git]\n",
    b"resources: [oci://x/y]\n",
    b"configMapGenerator:\n- {name: c, envs: [/proc/self/environ]}\n",
    b"secretGenerator:\n- {name: s, files: [k=../../x]}\n",
    b"namePrefix: x-\n",
    b"kind: HelmChartInflationGenerator\n",
    b"files: [/etc/passwd]\n",
    b"AccessKeyID: ENC[AKIA" + b"Q7ZX3RLM2PV4KT6N]\n",
    b"sops: {mac: x}\n",
    b"aws_secret_access_key: |\n  9drTJvcXLB89Ab12CdZk\n  /3+qWm7Hn2Pq4Rs8TuV1\n",
    b"QUtJQVE3WlgzUkxNMlBWNEtUNk4=",
    b"\xff\xfe",
    b'"\\e]0;x\\a\\n::error::y"',
    b"kind: [AWSClusterRoleIdentity]\n",
    b"kind: {a: b}\n",
    b"pattern: '\\p{Ll}'\n",
    b"minimum: abc\n",
    b"region: >\n  eu-west-1\n",
    b"---\njust a scalar\n",
    b"metadata: {labels: {}}\n",
    b"apiVersion: kustomize.toolkit.fluxcd.io/v1\n",
    b"path: ./build/x\n",
)
KINDS = (
    "flip",
    "delete",
    "insert",
    "dup_line",
    "drop_line",
    "indent",
    "swap_lines",
    "replace_value",
    "replace_all",
)


def apply_op(data: bytes, op: Op) -> bytes:
    """One mutation of ``data``; positions are taken modulo the length, so any op applies."""
    kind = op[0]
    if kind == "replace_all":
        return bytes(op[1])
    if kind in ("flip", "delete", "insert"):
        pos = op[1] % (len(data) + 1)
        if kind == "flip":
            if not data:
                return bytes([op[2] % 256])
            pos = min(pos, len(data) - 1)
            return data[:pos] + bytes([data[pos] ^ (1 << (op[2] % 8))]) + data[pos + 1 :]
        if kind == "delete":
            return data[:pos] + data[pos + op[2] % 64 :]
        return data[:pos] + bytes(op[2]) + data[pos:]
    lines = data.split(b"\n")
    i = op[1] % len(lines)
    if kind == "dup_line":
        lines.insert(i, lines[i])
    elif kind == "drop_line":
        del lines[i]
    elif kind == "indent":
        stripped = lines[i].lstrip(b" ")
        width = max(0, len(lines[i]) - len(stripped) + op[2])
        lines[i] = b" " * width + stripped
    elif kind == "swap_lines":
        j = op[2] % len(lines)
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "replace_value":
        head, sep, _ = lines[i].partition(b": ")
        lines[i] = head + (sep or b": ") + bytes(op[2])
    return b"\n".join(lines)


def apply_ops(data: bytes, ops: Sequence[Op]) -> bytes:
    for op in ops:
        data = apply_op(data, op)
    return data


def random_op(rng: random.Random) -> Op:
    kind = rng.choice(KINDS)
    pos = rng.randrange(1 << 16)
    if kind == "replace_all":
        return (
            kind,
            rng.randbytes(rng.randrange(200))
            if rng.random() < 0.5
            else b"".join(rng.choice(TOKENS) for _ in range(rng.randrange(1, 20))),
        )
    if kind in ("insert", "replace_value"):
        token = rng.choice(TOKENS) if rng.random() < 0.8 else rng.randbytes(rng.randrange(1, 8))
        return (kind, pos, token)
    if kind == "indent":
        return (kind, pos, rng.randint(-4, 4))
    return (kind, pos, rng.randrange(1 << 16))


# --- the commands under test --------------------------------------------------------------------

ALLOWED_EXITS = {0, 1, 2}


def fn_input() -> bytes:
    """A valid ResourceList for `fn`: the example's base items and an Account config."""
    import yaml

    from capa_accounts.kustomize_plugin.render import load_base

    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp) / "repo")
        items = load_base(repo)
    for item in items:
        item["metadata"].pop("annotations", None)
    config = {
        "apiVersion": "capa-accounts.dev/v1alpha1",
        "kind": "Account",
        "metadata": {"name": "qa"},
        "spec": {
            "accountId": "444444444444",
            "managementAccountId": "111111111111",
            "region": "us-east-1",
            "kubernetesVersion": "1.34",
        },
    }
    text = yaml.safe_dump(
        {
            "apiVersion": "config.kubernetes.io/v1",
            "kind": "ResourceList",
            "items": items,
            "functionConfig": config,
        },
        sort_keys=False,
    )
    return ("# the KRM function's input\n" + text).encode()


def make_repo(path: Path) -> Path:
    """The example repository with the hostile files and attack shapes; beside it, outside,
    a file holding ``LEAK_MARKER`` (and one in its ``.git/config``): a run that prints the
    marker read outside the repository, which ``crash_of`` counts as a crash."""
    from capa_accounts.kustomize_plugin import example

    example.init(path)
    for rel, data in {**HOSTILE_FILES, **ATTACK_FILES}.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    for rel, target in ATTACK_SYMLINKS.items():
        (path / rel).symlink_to(target)
    (path.parent / "outside.txt").write_text(f"k={LEAK_MARKER}\n")
    (path / ".git").mkdir(exist_ok=True)
    (path / ".git" / "config").write_text(
        f'[remote "origin"]\n\turl = https://x-access-token:{LEAK_MARKER}@example.com/r\n'
    )
    return path


# Files an untrusted repository adds: a kustomization a real kustomize builds (namePrefix),
# the builtin generator config it names, and a file of values for the credential scan.
HOSTILE_FILES = {
    "apps/kustomization.yaml": b"namePrefix: x-\nresources: [cm.yaml]\ngenerators: [gen.yaml]\n"
    b"patches:\n- path: patch.yaml\n",
    "apps/cm.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n",
    "apps/gen.yaml": b"apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: g}\n"
    b"files: [cm.yaml]\n",
    "apps/patch.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: w}\n",
    "leak/values.yaml": b"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n"
    b"  region: ZXUtd2VzdC0x\n",
}


# The shapes that once led a kustomization past the path proof (docs/reliability.md, the
# untrusted pull request table), each copying an outside file through `replacements` into a
# roleARN a finding prints: the mutations explore around them.
LEAK_MARKER = "fuzz-outside-marker-5d1a"
_LEAK = (
    b"resources: [identity.yaml]\nreplacements:\n"
    b"- source: {kind: ConfigMap, name: g, fieldPath: data.k}\n"
    b"  targets:\n  - select: {kind: AWSClusterRoleIdentity}\n    fieldPaths: [spec.roleARN]\n"
)
_IDENTITY = (
    b"apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSClusterRoleIdentity\n"
    b"metadata: {name: r}\nspec: {roleARN: x}\n"
)
_GENERATOR = b"apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: g}\n"
_ATTACKS = {
    "inline": b'generators: ["{apiVersion: builtin, kind: ConfigMapGenerator, '
    b'metadata: {name: g}, files: [k=../../outside.txt]}"]\n',
    "gendir": b"generators: [gens]\n",
    "capitals": b"configMapGenerator:\n- name: g\n  Files: [k=../../outside.txt]\n",
    "envs": b"configMapGenerator:\n- name: g\n  envs: [k=sub/outside.txt]\n",
    "gitconfig": b"configMapGenerator:\n- name: g\n  files: [k=../.git/config]\n",
    "dotdot": b"configMapGenerator:\n- name: g\n  files: [k=deep/../../../outside.txt]\n",
}
ATTACK_FILES = {
    **{f"attack-{name}/kustomization.yaml": _LEAK + text for name, text in _ATTACKS.items()},
    **{f"attack-{name}/identity.yaml": _IDENTITY for name in _ATTACKS},
    "attack-gendir/gens/kustomization.yaml": b"resources: [gen.yaml]\n",
    "attack-gendir/gens/gen.yaml": _GENERATOR + b"files: [k=../../outside.txt]\n",
    "deep/d2/d3/keep.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep}\n",
}
ATTACK_SYMLINKS = {"attack-envs/k=sub": "../..", "attack-dotdot/deep": "../deep/d2/d3"}


def yaml_files(repo: Path) -> list[str]:
    return sorted(
        p.relative_to(repo).as_posix()
        for p in repo.rglob("*")
        if p.is_file() and p.suffix in (".yaml", ".yml")
    )


def crash_of(result: Any, command: str) -> str | None:
    """Why a CliRunner result is a crash, or None when it is an allowed outcome."""
    exc = result.exception
    if exc is not None and not (isinstance(exc, SystemExit) and exc.code in ALLOWED_EXITS):
        return "".join(traceback.format_exception(exc)).strip()
    if result.exit_code not in ALLOWED_EXITS:
        return f"exit code {result.exit_code}"
    if "Traceback" in result.output or "Traceback" in result.stderr:
        return "traceback printed:\n" + result.stderr
    if command == "fn" and result.stdout:
        from capa_accounts.core import yamlio
        from capa_accounts.core.errors import InputError

        try:
            docs = yamlio.documents_from_text(result.stdout, "<fn stdout>", require=True)
        except InputError as err:
            return f"fn printed invalid YAML: {err}"
        out = docs[0].data if len(docs) == 1 else None
        if not (isinstance(out, dict) and out.get("kind") == "ResourceList"):
            return "fn printed something that is not a ResourceList"
        if result.exit_code != 0 and not out.get("results"):
            return "fn failed without results in its ResourceList"
    if LEAK_MARKER in result.output or LEAK_MARKER in result.stderr:
        return "LeakedOutside: the output holds a file from outside the repository"
    if result.exit_code == 2 and not _one_failure(result.stderr):
        return "exit 2 without exactly one failure line on stderr:\n" + result.stderr
    return None


# `check` names each unreadable file on a line of its own and still judges the rest: besides
# that one line (one file is mutated), only warnings and the summary line may follow.
_SUMMARY = re.compile(
    r"\d+ errors?, \d+ warnings?( in \d+ files?)?( \(\d+ suppressed\))?(; kustomize built in .*)?"
)


def _one_failure(stderr: str) -> bool:
    """Exit 2 names the one mutated file: one line per error in it (accounts.yaml's errors
    are all reported at once), each naming that file, then only warnings and the summary."""
    lines = stderr.strip().splitlines()
    failures = [line for line in lines if line.startswith("capa-accounts")]
    rest = [line for line in lines if not line.startswith("capa-accounts")]
    named = {line.removeprefix("capa-accounts: ").split(":", 1)[0] for line in failures}
    return len(named) == 1 and all(
        line.startswith("warning: ") or _SUMMARY.fullmatch(line) for line in rest
    )


class Hang(Exception):  # noqa: N818 - the fuzzer's signal for a run over its time bound
    pass


@contextmanager
def time_bound(seconds: int) -> Iterator[None]:
    def expire(_signum: int, _frame: Any) -> None:
        raise Hang(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_command(command: str, repo: Path, stdin: bytes | None = None) -> Any:
    from click.testing import CliRunner

    from capa_accounts.cli import main

    args = {
        "check": ["check", "--repo", str(repo)],
        "render --check": ["render", "--check", "--repo", str(repo)],
        "render": ["render", "--repo", str(repo)],
        "fn": ["fn"],
    }[command]
    return CliRunner().invoke(main, args, input=stdin, catch_exceptions=True)


# --- the long-running harness ---------------------------------------------------------------------


def signature(reason: str) -> str:
    """Crashes with the same exception type and innermost frame are one crash."""
    lines = [ln.strip() for ln in reason.splitlines() if ln.strip()]
    frames = [ln for ln in lines if ln.startswith("File ")]
    what = lines[-1].split(":")[0] if frames else lines[0][:40]
    return hashlib.sha256(((frames[-1] if frames else "") + what).encode()).hexdigest()[:12]


def fuzz(minutes: float, seed: int, out: Path, bound: int) -> int:
    rng = random.Random(seed)  # noqa: S311 - reproducible fuzzing, not cryptography
    work = Path(tempfile.mkdtemp(prefix="capa-fuzz-"))
    pristine = make_repo(work / "pristine")
    repo = work / "repo"
    shutil.copytree(pristine, repo, symlinks=True)
    originals = {rel: (pristine / rel).read_bytes() for rel in yaml_files(pristine)}
    originals["<fn stdin>"] = fn_input()
    targets = sorted(originals)
    deadline = time.monotonic() + minutes * 60
    tried, crashes, last_report = 0, {}, time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    while time.monotonic() < deadline:
        target = rng.choice(targets)
        ops = [random_op(rng) for _ in range(rng.randint(1, 4))]
        data = apply_ops(originals[target], ops)
        commands = (
            ["fn"]
            if target == "<fn stdin>"
            else ["check", "render --check"] + (["render"] if rng.random() < 0.2 else [])
        )
        if target != "<fn stdin>":
            (repo / target).write_bytes(data)
        for command in commands:
            tried += 1
            try:
                with time_bound(bound):
                    result = run_command(command, repo, data if command == "fn" else None)
                reason = crash_of(result, command)
            except Hang as err:
                reason = f"Hang: {err}"
            if reason is None:
                continue
            key = signature(reason)
            if key not in crashes:
                crashes[key] = reason
                case = out / key
                case.mkdir(exist_ok=True)
                (case / "input").write_bytes(data)
                (case / "report.json").write_text(
                    json.dumps(
                        {
                            "target": target,
                            "command": command,
                            "ops": [repr(o) for o in ops],
                            "reason": reason,
                        },
                        indent=2,
                    )
                    + "\n"
                )
                print(f"CRASH {key} {command} on {target}: {reason.splitlines()[-1]}", flush=True)
        if "render" in commands or target != "<fn stdin>":
            if "render" in commands:
                shutil.rmtree(repo)
                shutil.copytree(pristine, repo, symlinks=True)
            else:
                (repo / target).write_bytes(originals[target])
        if time.monotonic() - last_report > 30:
            last_report = time.monotonic()
            print(f"{tried} inputs tried, {len(crashes)} distinct crashes", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    print(
        f"done: {tried} inputs tried, {len(crashes)} distinct crashes saved under {out}", flush=True
    )
    return 1 if crashes else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    default_out = Path(tempfile.gettempdir()) / "capa-accounts-fuzz-crashes"
    parser.add_argument(
        "--out",
        type=Path,
        default=default_out,
        help=f"directory for crashing inputs (default: {default_out})",
    )
    parser.add_argument("--bound", type=int, default=20, help="seconds one run may take")
    parser.add_argument(
        "--memory-gb",
        type=float,
        default=2.0,
        help="address-space limit, so a memory blow-up shows as a crash",
    )
    args = parser.parse_args(argv)
    limit = int(args.memory_gb * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    print(f"fuzzing for {args.minutes} min, seed {args.seed}", flush=True)
    return fuzz(args.minutes, args.seed, args.out, args.bound)


if __name__ == "__main__":
    sys.exit(main())
