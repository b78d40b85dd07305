"""Tests of the credential scan: CAPA-S001 (keys in plain text), CAPA-S002 (unencrypted Secrets).

The fake keys that must fire are assembled at run time from pieces, so that no source file of
the repository holds one and the repository's own scan (the last tests here) stays clean.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import lane_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rule_examples import Example, assert_example, examples

from capa_accounts.hooks import scan_secrets
from capa_accounts.hooks.rules import REGISTRY
from capa_accounts.hooks.rules.secrets import CHECKS, S001, S002, check_s001, check_s002, scan_text

ROOT = Path(__file__).resolve().parents[2]
CAPA_REFERENCE = ROOT.parent / "shared" / "capa-reference"
FIRING_DATA = ROOT / "tests" / "data" / "secrets"

# Fake credentials, built from halves: the joined values exist only in memory.
KEY_ID = "AKIA" + "Q7ZX3RLM2PV4KT6N"
SESSION_KEY_ID = "ASIA" + "Q7ZX3RLM2PV4KT6N"
SECRET_KEY = "9drTJvcXLB89Ab12CdZk" + "/3+qWm7Hn2Pq4Rs8TuV1"
EXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented placeholder
# AWS's documented placeholder, not a password.
EXAMPLE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def profile(key_id: str = KEY_ID, secret_key: str = SECRET_KEY) -> str:
    # The shape of clusterawsadm's AWSCredentialsTemplate (cmd/clusterawsadm/credentials).
    return (
        f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret_key}\n"
        "region = eu-west-1\n"
    )


def secret(body: str, name: str = "aws-credentials", namespace: str = "capa-system") -> str:
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
        f"type: Opaque\n{body}"
    )


def where(findings: list) -> list[tuple[str, str, int, int]]:
    return [(f.rule, f.file, f.line, f.column) for f in findings]


# A value as SOPS writes it: a 32-byte IV and a 16-byte GCM tag (getsops/sops aes/cipher.go).
ENC = (
    "ENC[AES256_GCM,data:Zm9vYmFy,iv:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=,"
    "tag:BwgJCgsMDQ4PEBESExQVFg==,type:str]"
)
SOPS_METADATA = (
    "sops:\n"
    "  age:\n"
    "    - recipient: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n"
    "      enc: |\n"
    "        -----BEGIN AGE ENCRYPTED FILE-----\n"
    "        YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOQ==\n"
    "        -----END AGE ENCRYPTED FILE-----\n"
    '  lastmodified: "2025-01-01T00:00:00Z"\n'
    f"  mac: {ENC}\n"
    "  encrypted_regex: ^(data|stringData)$\n"
    "  version: 3.9.1\n"
)

FIRING = [
    # ENC[...] without SOPS metadata is not encrypted as far as Flux can tell: plain text.
    (
        "enc-values-without-metadata.yaml",
        secret(f"stringData:\n  AccessKeyID: {ENC}\n  SecretAccessKey: {ENC}\n"),
        [
            (S002, "enc-values-without-metadata.yaml", 8, 3),
            (S002, "enc-values-without-metadata.yaml", 9, 3),
        ],
    ),
    (
        "configmap.yaml",
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  key: {KEY_ID}\n",
        [(S001, "configmap.yaml", 6, 8)],
    ),
    (
        "credentials",
        f"[default]\naws_access_key_id = {SESSION_KEY_ID}\n",
        [(S001, "credentials", 2, 21)],
    ),
    (
        "aws/credentials",
        f"[ops]\nregion = eu-west-1\naws_secret_access_key = {SECRET_KEY}\n",
        [(S001, "aws/credentials", 3, 25)],
    ),
    (
        ".env",
        f"AWS_REGION=eu-west-1\nexport AWS_SECRET_ACCESS_KEY={SECRET_KEY}\n",
        [(S001, ".env", 2, 30)],
    ),
    (
        "sts.json",
        json.dumps(
            {"Credentials": {"AccessKeyId": SESSION_KEY_ID, "SecretAccessKey": SECRET_KEY}},
            indent=2,
        ),
        [(S001, "sts.json", 3, 21), (S001, "sts.json", 4, 25)],
    ),
    ("values.yaml", f'aws:\n  secretAccessKey: "{SECRET_KEY}"\n', [(S001, "values.yaml", 2, 21)]),
    (
        "not-yaml.yaml",
        f"key: [unclosed\n\tAWS_ACCESS_KEY_ID: {KEY_ID}\n",
        [(S001, "not-yaml.yaml", 2, 21)],
    ),
    # The operator's configSecret in plain text: the Secret (at its key) and the profile inside.
    (
        "b64-profile.yaml",
        secret(f"stringData:\n  AWS_B64ENCODED_CREDENTIALS: {b64(profile())}\n"),
        [(S002, "b64-profile.yaml", 8, 3), (S001, "b64-profile.yaml", 8, 31)],
    ),
    # In ``data`` the profile is base64 twice.
    (
        "b64-profile-data.yaml",
        secret(f"data:\n  AWS_B64ENCODED_CREDENTIALS: {b64(b64(profile()))}\n"),
        [(S002, "b64-profile-data.yaml", 8, 3), (S001, "b64-profile-data.yaml", 8, 31)],
    ),
    # An AWSClusterStaticIdentity's Secret (pkg/cloud/identity/identity.go keys).
    (
        "static-identity.yaml",
        secret(f"stringData:\n  AccessKeyID: {KEY_ID}\n  SecretAccessKey: {SECRET_KEY}\n"),
        [
            (S002, "static-identity.yaml", 8, 3),
            (S001, "static-identity.yaml", 8, 16),
            (S002, "static-identity.yaml", 9, 3),
            (S001, "static-identity.yaml", 9, 20),
        ],
    ),
    (
        "static-identity-data.yaml",
        secret(
            f"data:\n  AccessKeyID: {b64(KEY_ID)}\n  SecretAccessKey: {b64(SECRET_KEY)}\n"
            f"  SessionToken: {b64('FwoGZXIvYXdzEBYaDH')}\n"
        ),
        [
            (S002, "static-identity-data.yaml", 8, 3),
            (S002, "static-identity-data.yaml", 9, 3),
            (S002, "static-identity-data.yaml", 10, 3),
        ],
    ),
    (
        "multi-document.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: capa-system\n---\n"
        + secret(f"data:\n  AccessKeyID: {b64(KEY_ID)}\n"),
        [(S002, "multi-document.yaml", 13, 3)],
    ),
    (
        "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n"
        f"    metadata: {{name: creds}}\n    data:\n      SecretAccessKey: {b64(SECRET_KEY)}\n",
        [(S002, "list.yaml", 8, 7)],
    ),
    # SOPS with encrypted_regex ^(data)$ leaves stringData in plain text despite ``sops:``.
    (
        "partly-encrypted.yaml",
        secret(
            f"data:\n  AccessKeyID: {ENC}\nstringData:\n  SecretAccessKey: {b64('x' * 7 + 'y')}\n"
        )
        + SOPS_METADATA,
        [(S002, "partly-encrypted.yaml", 10, 3)],
    ),
    # CAPA's capa-manager-bootstrap-credentials keeps the profile under ``credentials``.
    (
        "bootstrap-credentials.yaml",
        secret(f"data:\n  credentials: {b64(profile())}\n"),
        [(S001, "bootstrap-credentials.yaml", 8, 16)],
    ),
]


@pytest.mark.parametrize(("file", "text", "expected"), FIRING, ids=[c[0] for c in FIRING])
def test_fires(file: str, text: str, expected: list[tuple[str, str, int, int]]) -> None:
    findings = scan_text(file, text)
    assert sorted(where(findings), key=lambda w: (w[2], w[3], w[0])) == sorted(
        expected, key=lambda w: (w[2], w[3], w[0])
    )
    assert all(f.severity == "error" for f in findings)


def test_s001_message_masks_the_key() -> None:
    (finding,) = scan_text("credentials", f"aws_access_key_id = {KEY_ID}\n")
    assert KEY_ID not in finding.message and KEY_ID[-4:] in finding.message
    assert finding.text().startswith("credentials:1:21: [CAPA-S001] ")
    (finding,) = scan_text("credentials", f"aws_secret_access_key = {SECRET_KEY}\n")
    assert SECRET_KEY not in finding.message


def test_s002_names_the_secret() -> None:
    findings = check_s002(
        "s.yaml",
        secret(
            f"data:\n  AccessKeyID: {b64(KEY_ID)}\n", name="staging-creds", namespace="capa-system"
        ),
    )
    (finding,) = findings
    assert "capa-system/staging-creds" in finding.message and "AccessKeyID" in finding.message
    assert finding.resource is not None and finding.resource.name == "staging-creds"


NEAR_MISSES = [
    (
        "sops-encrypted-secret",
        secret(f"stringData:\n  AWS_B64ENCODED_CREDENTIALS: {ENC}\n") + SOPS_METADATA,
    ),
    (
        "sops-static-identity",
        secret(f"data:\n  AccessKeyID: {ENC}\n  SecretAccessKey: {ENC}\n  SessionToken: {ENC}\n")
        + SOPS_METADATA,
    ),
    (
        "aws-documentation-keys-ini",
        f"[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\n"
        f"aws_secret_access_key = {EXAMPLE_SECRET_KEY}\n",
    ),
    (
        "aws-documentation-keys-secret",
        secret(
            f"stringData:\n  AccessKeyID: {EXAMPLE_KEY_ID}\n"
            f"  SecretAccessKey: {EXAMPLE_SECRET_KEY}\n"
        ),
    ),
    (
        "aws-documentation-keys-b64-profile",
        secret(
            "stringData:\n  AWS_B64ENCODED_CREDENTIALS: "
            f"{b64(profile(EXAMPLE_KEY_ID, EXAMPLE_SECRET_KEY))}\n"
        ),
    ),
    (
        "40-char-base64-without-name",
        "checksum: 9drTJvcXLB89Ab12CdZk/3+qWm7Hn2Pq4Rs8TuV1\n"
        "image: ghcr.io/x/y@sha256:0b4a0c2d8e5f\n",
    ),
    ("git-sha-without-name", "commit: 3f786850e387550fdab836ed7e6dc881de23001b\n"),
    (
        "hex-digest-next-to-name",
        "aws_secret_access_key = 3f786850e387550fdab836ed7e6dc881de23001b\n",
    ),
    (
        "env-placeholder",
        "env:\n  - name: AWS_SECRET_ACCESS_KEY\n    value: ${AWS_SECRET_ACCESS_KEY}\n"
        "AWS_SECRET_ACCESS_KEY: ${AWS_SECRET_ACCESS_KEY}\n",
    ),
    (
        "word-placeholders",
        "aws_secret_access_key = <secret>\nSecretAccessKey: changeme\nsecretAccessKey: REPLACE_ME\n"
        f"AWS_SECRET_ACCESS_KEY={'X' * 40}\naws_access_key_id = AKIA{'X' * 16}\n",
    ),
    (
        "placeholder-secret",
        secret(
            "stringData:\n  AWS_B64ENCODED_CREDENTIALS: ${AWS_B64ENCODED_CREDENTIALS}\n"
            '  AccessKeyID: <access-key-id>\n  SecretAccessKey: ""\n  SessionToken:\n'
        ),
    ),
    (
        "role-arn-with-account-id",
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSClusterRoleIdentity\n"
        "metadata:\n  name: staging-identity\nspec:\n"
        "  roleARN: arn:aws:iam::222222222222:role/"
        "controllers.cluster-api-provider-aws.sigs.k8s.io\n"
        "  externalID: 123456789012\n",
    ),
    (
        "secret-with-other-keys",
        secret(
            f"data:\n  username: {b64('admin')}\n  password: {b64('s3cr3t-Pa55word')}\n"
            f"  token: {b64('FwoGZXIvYXdzEBYaDH')}\n"
        ),
    ),
    ("key-id-inside-longer-token", f"id: X{KEY_ID}\nother: {KEY_ID}Z\n"),
    (
        "not-a-secret-kind",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
        f"data:\n  AccessKeyID: {b64(KEY_ID)}\n",
    ),
    ("binary-file", "\0\x01ELF\x02\x01\x01" + "".join(map(chr, range(32, 127))) * 3),
    ("empty", ""),
]


@pytest.mark.parametrize(("text",), [(c[1],) for c in NEAR_MISSES], ids=[c[0] for c in NEAR_MISSES])
def test_does_not_fire(text: str) -> None:
    assert scan_text("f.yaml", text) == []


def test_checks_are_registered_with_docs() -> None:
    assert set(CHECKS) == {S001, S002}
    for rule, (severity, check) in CHECKS.items():
        assert severity == "error"
        doc = check.__doc__ or ""
        assert all(f"\n    {section}:" in doc for section in ("Why", "Bad", "Good", "Fix"))
        assert "https://" in doc
        assert REGISTRY[rule].doc.split("\n", 1)[0] == doc.split("\n", 1)[0]


def test_s001_runs_alone_on_any_text() -> None:
    assert where(check_s001("x.tf", f'access_key = "{KEY_ID}"\n')) == [(S001, "x.tf", 1, 15)]


# --- the pre-commit entry point --------------------------------------------------------------


def test_main_reports_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("credentials").write_text(f"[default]\naws_access_key_id = {KEY_ID}\n")
    Path("clean.yaml").write_text("kind: ConfigMap\n")
    assert scan_secrets.main(["clean.yaml", "credentials"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("credentials:2:21: [CAPA-S001] ")


def test_main_clean_files_exit_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("clean.yaml").write_text("kind: ConfigMap\n")
    Path("binary.bin").write_bytes(b"\0\x01\x02" + bytes(range(256)) * 4)
    Path("latin1.env").write_bytes(b"NAME=caf\xe9\nAWS_REGION=eu-west-1\n")
    assert scan_secrets.main(["clean.yaml", "binary.bin", "latin1.env"]) == 0
    assert capsys.readouterr().out == ""


def test_main_scans_huge_files_and_skips_outside_symlinks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "credentials").write_text(f"aws_access_key_id = {KEY_ID}\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    Path("link").symlink_to(outside / "credentials")
    with open("huge.yaml", "w") as handle:
        handle.write(f"aws_access_key_id = {KEY_ID}\n")
        handle.truncate(8 * 1024 * 1024 + 1)
    assert scan_secrets.main(["link", "huge.yaml", "missing.yaml"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("huge.yaml:1:21: [CAPA-S001] ")  # scanned in chunks
    assert "link: skipped: symlink points outside" in captured.err
    assert "missing.yaml: skipped" in captured.err


# --- never a traceback -----------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "apiVersion: v1\n",
        "kind: Secret\n",
        "kind: List\nitems:\n",
        "data:\n",
        "stringData:\n",
        "  AccessKeyID: ",
        "  SecretAccessKey: ",
        "  AWS_B64ENCODED_CREDENTIALS: ",
        "sops:\n",
        "---\n",
        KEY_ID,
        SECRET_KEY,
        b64(profile()),
        "W2",
        "ENC[",
        "]",
        "&a [*a, *a]\n",
        "\t",
        ": ",
        "aws_secret_access_key = ",
        "- ",
        "{",
        "}",
        '"',
        "'",
        "|\n  ",
        ">-\n",
        "\n",
        "\0",
        "\ufeff",
    ]
)


@settings(
    max_examples=lane_examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(FRAGMENTS | st.text(max_size=12), max_size=40).map("".join))
def test_scan_never_raises_on_credential_like_text(text: str) -> None:
    for finding in scan_text("f.yaml", text):
        assert finding.rule in (S001, S002) and finding.line >= 1 and finding.column >= 1


@settings(max_examples=lane_examples(300), deadline=None)
@given(st.text())
def test_scan_never_raises_on_arbitrary_text(text: str) -> None:
    assert isinstance(scan_text("f", text), list)


# --- false positives on real files -----------------------------------------------------------


def _project_files() -> list[Path]:
    git = shutil.which("git")
    if git and (ROOT / ".git").exists():
        listed = subprocess.run(
            [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=False,
        )
        if listed.returncode == 0 and listed.stdout:
            return [ROOT / p for p in listed.stdout.decode().split("\0") if p]
    skip = {".venv", ".git", "node_modules", ".hypothesis", "__pycache__"}
    return [
        p
        for p in ROOT.rglob("*")
        if p.is_file() and not skip.intersection(p.relative_to(ROOT).parts)
    ]


def _scan_all(root: Path, files: list[Path]) -> list[str]:
    findings = []
    for path in files:
        if not path.is_file() or path.is_symlink():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        findings += [f.text() for f in scan_text(path.relative_to(root).as_posix(), text)]
    return findings


@pytest.mark.skipif(not CAPA_REFERENCE.is_dir(), reason="../shared/capa-reference is absent")
def test_no_findings_in_capa_reference() -> None:
    files = sorted(p for p in CAPA_REFERENCE.rglob("*") if p.is_file())
    assert files
    # The static identity CRD quotes AWS's example keys; they are placeholders, not secrets.
    assert _scan_all(CAPA_REFERENCE, files) == []


def test_no_findings_in_the_project_tree() -> None:
    files = [p for p in _project_files() if not p.is_relative_to(FIRING_DATA)]
    assert any(p.name == "test_rules_secrets.py" for p in files)
    assert _scan_all(ROOT, files) == []


# --- keys hidden by an encoding that whatever reads the value undoes -----------------------


def _yaml_hex_escaped(value: str) -> str:
    return "".join(f"\\x{ord(c):02x}" for c in value)


def _json_u_escaped(value: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in value)


def _gzip_b64(text: str) -> str:
    import gzip

    return base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()


ENCODED = {
    "yaml-hex-escape": f'aws_access_key_id: "{_yaml_hex_escaped(KEY_ID[:4])}{KEY_ID[4:]}"\n',
    "yaml-escaped-line-break": f'key: "{KEY_ID[:10]}\\\n  {KEY_ID[10:]}"\n',
    "yaml-escaped-line-break-secret": (
        f'aws_secret_access_key: "{SECRET_KEY[:20]}\\\n    {SECRET_KEY[20:]}"\n'
    ),
    "json-u-escape-in-yaml-string": (
        'config: \'{"aws_access_key_id": "' + _json_u_escaped(KEY_ID[:4]) + KEY_ID[4:] + "\"}'\n"
    ),
    "json-slash-escape-in-yaml-string": (
        'config: \'{"aws_secret_access_key": "' + SECRET_KEY.replace("/", "\\/") + "\"}'\n"
    ),
    "gzip-base64": f"data:\n  creds.gz: {_gzip_b64(profile())}\n",
    "hex": f"blob: {profile().encode().hex()}\n",
}


@pytest.mark.parametrize("text", list(ENCODED.values()), ids=list(ENCODED))
def test_s001_reads_values_as_yaml_and_json_decode_them(text: str) -> None:
    assert KEY_ID not in text and SECRET_KEY not in text  # the raw text hides the key
    found = check_s001("leak.yaml", text)
    assert found and all(f.rule == S001 for f in found), text
    assert "written with" in found[0].message


def test_s001_reads_utf32_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    text = f"[default]\naws_access_key_id = {KEY_ID}\n"
    Path("bom.env").write_bytes(text.encode("utf-32"))
    Path("le.env").write_bytes(text.encode("utf-32-le"))
    Path("be.env").write_bytes(text.encode("utf-32-be"))
    assert scan_secrets.main(["bom.env", "le.env", "be.env"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert sorted(line.split(":")[0] for line in out) == ["be.env", "bom.env", "le.env"]


NEAR_MISSES = {
    "example-key-hex-escaped": (
        f'aws_access_key_id: "{_yaml_hex_escaped(EXAMPLE_KEY_ID[:4])}{EXAMPLE_KEY_ID[4:]}"\n'
    ),
    "example-secret-json-escaped": (
        'config: \'{"aws_secret_access_key": "' + EXAMPLE_SECRET_KEY.replace("/", "\\/") + "\"}'\n"
    ),
    "example-profile-gzip": (f"data: {_gzip_b64(profile(EXAMPLE_KEY_ID, EXAMPLE_SECRET_KEY))}\n"),
    "escapes-without-a-key": 'msg: "tab\\there, \\x41\\x42 and \\u00e9"\nre: "^\\\\d+$"\n',
    "hex-sha": "revision: main@sha1:" + "0123456789abcdef" * 2 + "01234567\n",
    "gzip-of-nothing": f"data: {_gzip_b64('kind: ConfigMap')}\n",
    "not-gzip": "data: H4sIAAAAnotbase64!!\n",
}


@pytest.mark.parametrize("text", list(NEAR_MISSES.values()), ids=list(NEAR_MISSES))
def test_decoded_near_misses_stay_quiet(text: str) -> None:
    assert check_s001("quiet.yaml", text) == []
    assert scan_text("quiet.yaml", text) == []


# `re` matches a case-insensitive name letter by letter, so the long s (U+017F) spells "s" and
# the Kelvin sign (U+212A) "k" there; the literal search that runs first reads the casefolded
# text, where they are "s" and "k" too, and lets such a name through to the expression.
@pytest.mark.parametrize(
    "name", ["aws_\u017fecret_access_key", "aws_secret_access_\u212aey", "AWS_SECRET_ACCESS_KEY"]
)
def test_a_secret_key_name_in_any_spelling_re_accepts_is_found(name: str) -> None:
    (finding,) = scan_text("creds.ini", f"[default]\n{name} = {SECRET_KEY}\n")
    assert (finding.rule, finding.line) == (S001, 2)
    # The near miss: the same name beside AWS's documented example key.
    assert scan_text("creds.ini", f"[default]\n{name} = {EXAMPLE_SECRET_KEY}\n") == []


# A value split over lines is found whether the continuation starts the file or follows a line.
@pytest.mark.parametrize("prefix", ["", "kind: Config\n"])
def test_a_key_id_split_over_lines_is_found_where_the_text_starts(prefix: str) -> None:
    text = f"{prefix}keyId: {KEY_ID[:10]}\n  {KEY_ID[10:]}\n"
    assert [f.rule for f in scan_text("a.yaml", text)] == [S001]
    assert scan_text("a.yaml", f"{prefix}keyId: {KEY_ID[:10]}\n") == []


# --- a small bad and good example of each rule (tests/data/rules/secrets/) ------------------------


@pytest.mark.parametrize("example", examples("secrets"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)
