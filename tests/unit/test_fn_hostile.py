"""The KRM function under bad input: one line on stderr, exit 1, never partial output."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROJECT
from hostile import (
    BOMB,
    assert_one_line_error,
    invoke,
)

from capa_accounts.core import yamlio
from capa_accounts.kustomize_plugin.render import load_base

ACCOUNT: dict[str, Any] = {
    "apiVersion": "capa-accounts.dev/v1alpha1",
    "kind": "Account",
    "metadata": {"name": "qa"},
    "spec": {
        "accountId": "444444444444",
        "managementAccountId": "111111111111",
        "region": "us-east-1",
        "kubernetesVersion": "1.35",
    },
}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}


def resource_list(**fields: Any) -> bytes:
    data = {
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": [NAMESPACE],
        "functionConfig": ACCOUNT,
        **fields,
    }
    return yaml.safe_dump(
        {k: v for k, v in data.items() if v is not None}, sort_keys=False
    ).encode()


BAD_FN: list[tuple[str, bytes, str, bool]] = [
    ("garbage-bytes", bytes(range(256)) * 4, "not UTF-8 text", False),
    ("empty", b"", "holds no YAML document", False),
    ("comment-only", b"# nothing\n", "holds no YAML document", False),
    ("invalid-yaml", b"items: [a\n", "invalid YAML", False),
    ("a-list", b"- a\n- b\n", "input is not a ResourceList", False),
    ("not-a-resource-list", yaml.safe_dump(ACCOUNT).encode(), "input is not a ResourceList", False),
    (
        "wrong-api-version",
        resource_list(apiVersion="v1"),
        "unsupported ResourceList apiVersion",
        False,
    ),
    ("missing-items", resource_list(items=None), "ResourceList has no items", False),
    ("items-not-a-list", resource_list(items={"a": 1}), "items must be a list", False),
    (
        "item-not-a-mapping",
        resource_list(items=["x"]),
        "item 0: a resource must be a mapping",
        False,
    ),
    (
        "kind-not-a-string",
        resource_list(items=[{**NAMESPACE, "kind": [1]}]),
        "item 0: kind must be a non-empty string",
        False,
    ),
    ("no-function-config", resource_list(functionConfig=None), "functionConfig is missing", True),
    ("function-config-a-list", resource_list(functionConfig=[1]), "must be a mapping", True),
    (
        "bad-account-id",
        resource_list(functionConfig={**ACCOUNT, "spec": {**ACCOUNT["spec"], "accountId": "4444"}}),
        "4444",
        True,
    ),
    (
        "two-documents",
        resource_list() + b"---\n" + resource_list(),
        "expected one ResourceList document",
        False,
    ),
    ("duplicate-key", resource_list() + b"kind: ResourceList\n", "duplicate key 'kind'", False),
    ("alias-bomb", BOMB.encode(), "alias bomb", False),
    (
        "tab",
        resource_list().replace(b"\n- apiVersion", b"\n\t- apiVersion"),
        "a tab character",
        False,
    ),
]


@pytest.mark.parametrize(
    ("case", "stdin", "message", "explained"), BAD_FN, ids=[c[0] for c in BAD_FN]
)
def test_fn_bad_input_is_one_line_and_never_partial_output(
    case: str, stdin: bytes, message: str, explained: bool
) -> None:
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


@pytest.mark.e2e  # the console script as a subprocess
@pytest.mark.parametrize("case", ["garbage-bytes", "bad-account-id"])
def test_fn_console_script_under_bad_input(case: str) -> None:
    stdin, message = {c[0]: (c[1], c[2]) for c in BAD_FN}[case]
    exe = shutil.which("capa-accounts-fn") or str(Path(sys.executable).parent / "capa-accounts-fn")
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
    config_map = (
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: x  # keep me\n"
        "    annotations:\n      a: -09\n      b: 2001-12-14\n      c: 0o17\n  data:\n    d: on\n"
    )
    text = resource_list(items=items).decode().replace("items:\n", "items:\n" + config_map, 1)
    result = invoke("fn", stdin=text.encode())
    assert result.exit_code == 0, result.output
    assert "# keep me" in result.stdout
    config = yaml.safe_load(result.stdout)["items"][0]
    assert config["metadata"]["annotations"] == {"a": "-09", "b": "2001-12-14", "c": "0o17"}
    assert config["data"] == {"d": True}


@pytest.mark.e2e  # slow: out of the fast lane
def test_fn_on_a_large_commented_input_drops_comments_rather_than_time() -> None:
    """ruamel's round trip is slow: over 2 MiB the function keeps the meaning, not the
    comments, and says so on stderr."""
    items = load_base(PROJECT)
    for item in items:
        item["metadata"].pop("annotations")
    filler = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"c{i}"},
            "data": {"k": "v" * 400},
        }
        for i in range(5000)
    ]
    stdin = (
        "# a comment\n"
        + yamlio.dump(
            {
                "apiVersion": "config.kubernetes.io/v1",
                "kind": "ResourceList",
                "items": items + filler,
                "functionConfig": ACCOUNT,
            }
        )
    ).encode()
    assert len(stdin) > 2 << 20
    result = invoke("fn", stdin=stdin)
    assert result.exit_code == 0
    assert result.stderr.strip() == (
        "capa-accounts fn: warning: comments not kept (input over "
        "2 MiB, or read differently by the round-trip loader)"
    )
    assert len(yaml.load(result.stdout, Loader=yaml.CSafeLoader)["items"]) == len(items) + 5000
