"""The KRM function on stdin/stdout (KRM Functions Specification, functions-spec.md).

Input: a ``ResourceList`` (``config.kubernetes.io/v1``, ``v1beta1`` accepted) whose
``functionConfig`` is an ``Account`` or a ``ConfigMap``. Output on stdout: only the
``ResourceList`` (items transformed, ``results`` on failure); diagnostics on stderr; exit 1
when any result is an error. The input is validated with the C loader first (duplicate keys,
bounds); when it carries comments it is re-read with ruamel.yaml's round-trip loader so the
comments survive, as the spec asks. Either way the transformation is ``transform.transform``.
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from typing import IO, Any

from kustomize_plugin import yamlio
from kustomize_plugin.errors import CapaAccountsError, InputError
from kustomize_plugin.model import parse_function_config
from kustomize_plugin.transform import Result, transform

RESOURCE_LIST_VERSIONS = ("config.kubernetes.io/v1", "config.kubernetes.io/v1beta1")
STDIN = "<stdin>"


def _parse(text: str) -> tuple[yamlio.Document, dict[str, Any]]:
    docs = yamlio.documents_from_text(text, STDIN, require=True)
    if len(docs) != 1:
        raise InputError("expected one ResourceList document", STDIN,
                         docs[1].node.start_mark.line + 1)
    data = docs[0].data
    if not isinstance(data, dict) or data.get("kind") != "ResourceList":
        raise InputError("input is not a ResourceList", STDIN, 1)
    if data.get("apiVersion") not in RESOURCE_LIST_VERSIONS:
        raise InputError(f"unsupported ResourceList apiVersion {data.get('apiVersion')!r}", STDIN, 1)
    items = data.get("items")
    if not isinstance(items, list):
        line, _ = yamlio.position(docs[0].node, ("items",))
        raise InputError("ResourceList items must be a list", STDIN, line)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            line, _ = yamlio.position(docs[0].node, ("items", i))
            raise InputError("every item must be a mapping (a Kubernetes object)", STDIN, line)
    return docs[0], data


def _function_config(doc: yamlio.Document, data: dict[str, Any]) -> yamlio.Document:
    if not isinstance(data.get("functionConfig"), dict):
        raise InputError("functionConfig is missing: give an Account or a ConfigMap", STDIN, 1)
    _key, node = yamlio.node_at(doc.node, ("functionConfig",))
    return yamlio.Document(STDIN, 0, node, data["functionConfig"])


def run(text: str) -> tuple[str, int, str]:
    """The function as a pure step: input text → (stdout text, exit code, stderr line)."""
    try:
        doc, data = _parse(text)
    except CapaAccountsError as err:
        return "", 1, str(err)
    try:
        account = parse_function_config(_function_config(doc, data))
    except CapaAccountsError as err:
        data["results"] = [Result(str(err)).to_krm()]
        return yamlio.dump(data), 1, str(err)
    if "#" in text:
        return _run_round_trip(text, account)
    outcome = transform(data["items"], account)
    data["items"] = outcome.items
    _set_results(data, outcome.results)
    return yamlio.dump(data), (1 if outcome.failed else 0), _first_error(outcome.results)


def _run_round_trip(text: str, account: Any) -> tuple[str, int, str]:
    from io import StringIO

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 10_000
    data = yaml.load(text)
    outcome = transform(data["items"], account)
    data["items"] = outcome.items
    _set_results(data, outcome.results)
    out = StringIO()
    yaml.dump(data, out)
    return out.getvalue(), (1 if outcome.failed else 0), _first_error(outcome.results)


def _set_results(data: MutableMapping[str, Any], results: list[Result]) -> None:
    if results:
        data["results"] = [r.to_krm() for r in results]
    elif "results" in data:
        del data["results"]


def _first_error(results: list[Result]) -> str:
    errors = [r.message for r in results if r.severity == "error"]
    return f"{errors[0]}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "") if errors else ""


def main(stdin: IO[bytes] | None = None, stdout: IO[str] | None = None) -> int:
    """Console script ``capa-accounts-fn``: no arguments, ResourceList on stdin."""
    stdout = stdout or sys.stdout
    try:
        raw = (stdin or sys.stdin.buffer).read(yamlio.MAX_FILE_BYTES + 1)
        text = yamlio.decode(raw, STDIN)
        out, code, message = run(text)
    except CapaAccountsError as err:
        out, code, message = "", 1, str(err)
    except RecursionError:
        out, code, message = "", 1, f"{STDIN}: input nested too deeply"
    if out:
        stdout.write(out)
        stdout.flush()
    if message:
        print(f"capa-accounts fn: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
