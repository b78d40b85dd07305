"""The KRM function on stdin/stdout (KRM Functions Specification, functions-spec.md).

Input: a ``ResourceList`` (``config.kubernetes.io/v1``, ``v1beta1`` accepted) whose
``functionConfig`` is an ``Account`` or a ``ConfigMap``. Output on stdout: only the
``ResourceList`` (items transformed, ``results`` on failure); diagnostics on stderr; exit 1
when any result is an error. The input is validated with the input layer first (duplicate
keys, bounds); when it carries comments it is re-read with ruamel.yaml's round-trip loader so
the comments survive, as the spec asks. Either way the transformation is ``transform.transform``.

Bad input never yields partial output: stdout is either empty (input that is not a readable
ResourceList: one line on stderr) or a complete ResourceList whose ``results`` explain the
error (a bad ``functionConfig``, a base the function refuses). Output is built in memory and
written once.
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from io import StringIO
from typing import IO, Any

import yaml

from kustomize_plugin import yamlio
from kustomize_plugin.errors import CapaAccountsError, InputError
from kustomize_plugin.model import Account, parse_function_config
from kustomize_plugin.transform import Result, transform

RESOURCE_LIST_VERSIONS = ("config.kubernetes.io/v1", "config.kubernetes.io/v1beta1")
STDIN = "<stdin>"
_resolver = yaml.resolver.Resolver()


def _parse(text: str) -> tuple[yamlio.Document, dict[str, Any]]:
    docs = yamlio.documents_from_text(text, STDIN, require=True)
    if len(docs) != 1:
        raise InputError("expected one ResourceList document", STDIN,
                         docs[1].node.start_mark.line + 1)
    data = docs[0].data
    if not isinstance(data, dict) or data.get("kind") != "ResourceList":
        raise InputError("input is not a ResourceList (kind: ResourceList)", STDIN, 1)
    if data.get("apiVersion") not in RESOURCE_LIST_VERSIONS:
        line, _ = yamlio.position(docs[0].node, ("apiVersion",))
        raise InputError(f"unsupported ResourceList apiVersion {data.get('apiVersion')!r} "
                         f"(expected {' or '.join(RESOURCE_LIST_VERSIONS)})", STDIN, line)
    items = data.get("items", [])
    if not isinstance(items, list):
        line, _ = yamlio.position(docs[0].node, ("items",))
        raise InputError("ResourceList items must be a list", STDIN, line)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            line, _ = yamlio.position(docs[0].node, ("items", i))
            raise InputError("every item must be a mapping (a Kubernetes object)", STDIN, line)
    data["items"] = items
    return docs[0], data


def _function_config(doc: yamlio.Document, data: dict[str, Any]) -> yamlio.Document:
    config = data.get("functionConfig")
    if config is None:
        raise InputError("functionConfig is missing: give an Account or a ConfigMap", STDIN, 1)
    _key, node = yamlio.node_at(doc.node, ("functionConfig",))
    if not isinstance(config, dict):
        raise InputError("functionConfig must be a mapping: an Account or a ConfigMap", STDIN,
                         node.start_mark.line + 1)
    return yamlio.Document(STDIN, 0, node, config)


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
        try:
            return _run_round_trip(text, account)
        except CapaAccountsError as err:
            return "", 1, str(err)
    outcome = transform(data["items"], account)
    data["items"] = outcome.items
    _set_results(data, outcome.results)
    return yamlio.dump(data), (1 if outcome.failed else 0), _first_error(outcome.results)


def _run_round_trip(text: str, account: Account) -> tuple[str, int, str]:
    """The comment-keeping path: ruamel.yaml round trip around the same transformation.

    ruamel reads YAML 1.2 by default, where ``-09`` or ``0o17`` are numbers; the input layer
    and Kubernetes (sigs.k8s.io/yaml over go-yaml v2) read YAML 1.1, where they are strings,
    and ``on`` is a boolean. The round trip therefore reads as YAML 1.1 and writes without a
    ``%YAML`` directive for kustomize's YAML 1.2 reader (kyaml over go-yaml v3), quoting every
    string either version would read as something else.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError as RuamelError
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 10_000
    rt.version = (1, 1)
    try:
        data = rt.load(text)
    except RuamelError as err:  # the input layer accepted it: a ruamel limitation
        raise InputError(f"cannot keep the comments of this input: {yamlio.one_line(err)}",
                         STDIN) from err
    if not (isinstance(data, dict) and isinstance(data.get("items", []), list)):
        raise InputError("input reads differently with comments kept", STDIN)
    data.setdefault("items", [])
    outcome = transform(data["items"], account)
    data["items"] = outcome.items
    _set_results(data, outcome.results)
    _quote_ambiguous(data, SingleQuotedScalarString)
    rt.version = None
    out = StringIO()
    rt.dump(data, out)
    return out.getvalue(), (1 if outcome.failed else 0), _first_error(outcome.results)


def _quote_ambiguous(node: Any, quoted: type[str]) -> None:
    """Quote plain strings that YAML 1.1 would read as another type (``on``, ``1.30``)."""
    pairs = node.items() if isinstance(node, dict) else \
        enumerate(node) if isinstance(node, list) else ()
    for key, value in list(pairs):
        if type(value) is str and _resolver.resolve(
                yaml.ScalarNode, value, (True, False)) != "tag:yaml.org,2002:str":
            node[key] = quoted(value)
        else:
            _quote_ambiguous(value, quoted)


def _set_results(data: MutableMapping[str, Any], results: list[Result]) -> None:
    if results:
        data["results"] = [r.to_krm() for r in results]
    elif "results" in data:
        del data["results"]


def _first_error(results: list[Result]) -> str:
    errors = [r.message for r in results if r.severity == "error"]
    if not errors:
        return ""
    return errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")


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
        print(f"capa-accounts fn: {yamlio.one_line(message)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
