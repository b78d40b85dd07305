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

import copy
import sys
from collections.abc import MutableMapping
from io import StringIO
from typing import IO, Any

import yaml

from capa_accounts.core import yamlio
from capa_accounts.core.errors import CapaAccountsError, InputError
from capa_accounts.core.finding import INPUT_ERROR, Finding, Location
from capa_accounts.core.kustomization import resource_problem
from capa_accounts.kustomize_plugin.function_config import parse_function_config
from capa_accounts.kustomize_plugin.transform import transform

RESOURCE_LIST_VERSIONS = ("config.kubernetes.io/v1", "config.kubernetes.io/v1beta1")
STDIN = "<stdin>"
# ruamel's round trip is pure Python, about 15 times slower than the C loader: above this it
# would take more than a few seconds, so a larger input loses its comments (with a warning).
ROUND_TRIP_MAX_BYTES = 2 * 1024 * 1024
_resolver = yaml.resolver.Resolver()


def _parse(text: str) -> tuple[yamlio.Document, dict[str, Any]]:
    docs = yamlio.documents_from_text(text, STDIN, require=True)
    if len(docs) != 1:
        raise InputError(
            "expected one ResourceList document", STDIN, docs[1].node.start_mark.line + 1
        )
    data = docs[0].data
    if not isinstance(data, dict) or data.get("kind") != "ResourceList":
        raise InputError("input is not a ResourceList (kind: ResourceList)", STDIN, 1)
    if data.get("apiVersion") not in RESOURCE_LIST_VERSIONS:
        line, _ = yamlio.position(docs[0].node, ("apiVersion",))
        raise InputError(
            f"unsupported ResourceList apiVersion {data.get('apiVersion')!r} "
            f"(expected {' or '.join(RESOURCE_LIST_VERSIONS)})",
            STDIN,
            line,
        )
    if "items" not in data:
        raise InputError("ResourceList has no items (the KRM spec requires the field)", STDIN, 1)
    items = data["items"]
    if not isinstance(items, list):
        line, _ = yamlio.position(docs[0].node, ("items",))
        raise InputError("ResourceList items must be a list", STDIN, line)
    for i, item in enumerate(items):
        problem = resource_problem(item)
        if problem is not None:
            line, _ = yamlio.position(docs[0].node, ("items", i, *problem[0]))
            raise InputError(f"item {i}: {problem[1]}", STDIN, line)
    return docs[0], data


def _function_config(doc: yamlio.Document, data: dict[str, Any]) -> yamlio.Document:
    config = data.get("functionConfig")
    if config is None:
        raise InputError("functionConfig is missing: give an Account or a ConfigMap", STDIN, 1)
    _key, node = yamlio.node_at(doc.node, ("functionConfig",))
    if not isinstance(config, dict):
        raise InputError(
            "functionConfig must be a mapping: an Account or a ConfigMap",
            STDIN,
            node.start_mark.line + 1,
        )
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
        data["results"] = [to_krm(Finding(INPUT_ERROR, "error", STDIN, 1, 1, str(err)))]
        return yamlio.dump(data), 1, str(err)
    commented = None
    if "#" in text and len(text) <= ROUND_TRIP_MAX_BYTES:
        commented = _round_trip_load(text, data)
    if commented is not None:
        data = commented
    # The account's patches are in the functionConfig, on stdin: no accounts.yaml to point at.
    outcome = transform(data["items"], account, lambda at: Location(STDIN))
    data["items"] = outcome.items
    _set_results(data, outcome.results)
    code, message = (1 if outcome.failed else 0), _first_error(outcome.results)
    if not message and "#" in text and commented is None:
        message = (
            "warning: comments not kept (input over 2 MiB, or read differently by the "
            "round-trip loader)"
        )
    if commented is None:
        return yamlio.dump(data), code, message
    return _round_trip_dump(data), code, message


def _round_trip_load(text: str, plain: dict[str, Any]) -> Any:
    """The input as ruamel.yaml round-trip data (comments kept), meaning exactly ``plain``.

    ruamel reads YAML 1.2, where ``-09`` is a number and a date is a date; the input layer
    and Kubernetes (sigs.k8s.io/yaml over go-yaml v2) read YAML 1.1, where both are strings.
    Every scalar ruamel reads differently is replaced by the input layer's value; when even the
    shape differs (a key such as ``on``), or ruamel cannot read the text, the comments are
    dropped rather than the meaning changed: None.
    """
    from ruamel.yaml.error import YAMLError as RuamelError

    try:
        data = _round_trip_yaml().load(text)
    except (RuamelError, ValueError, TypeError):
        return None
    data = _unshared(data, set())
    return data if _reconcile(data, plain) else None


def _unshared(node: Any, seen: set[int]) -> Any:
    """``node`` with its aliases expanded, as the input layer expands them for the plain path.

    ruamel's round-trip loader returns one object for an anchor and every alias of it
    (ruamel.yaml constructor.py, BaseConstructor.construct_object: a node constructed once is
    returned from ``constructed_objects``), and a merge key ``<<`` shares the merged mapping's
    values, so a change to one item (a
    namespace for a namespaced kind) would appear on another (a cluster-scoped ClusterRole).
    Every mapping or list met a second time, and every mapping with a merge key, becomes a
    copy of its own (comments kept, merged keys written out); no anchor is written again.
    """
    from ruamel.yaml.comments import Comment, CommentedMap, CommentedSeq, Format, LineCol

    if not isinstance(node, CommentedMap | CommentedSeq):
        return node
    if id(node) in seen or getattr(node, "merge", None):
        copied: Any = CommentedMap() if isinstance(node, CommentedMap) else CommentedSeq()
        for attrib in (Comment.attrib, Format.attrib, LineCol.attrib):
            if hasattr(node, attrib):
                setattr(copied, attrib, copy.deepcopy(getattr(node, attrib)))
        if isinstance(node, CommentedMap):
            for key, value in node.items():  # a merge key's mapping's too
                copied[key] = value
        else:
            copied.extend(node)
        node = copied
    seen.add(id(node))
    if node.anchor.value is not None:
        node.yaml_set_anchor(None)  # type: ignore[arg-type]
    keys = list(node.keys()) if isinstance(node, CommentedMap) else range(len(node))
    for key in keys:
        value = node[key]
        expanded = _unshared(value, seen)
        if expanded is not value:
            node[key] = expanded
    return node


def _round_trip_yaml() -> Any:
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 10_000
    return rt


def _round_trip_dump(data: Any) -> str:
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    _quote_ambiguous(data, SingleQuotedScalarString)
    out = StringIO()
    _round_trip_yaml().dump(data, out)
    return out.getvalue()


def _reconcile(node: Any, plain: Any) -> bool:
    """Give ``node`` (round-trip data) the scalars of ``plain``; False if the shapes differ."""
    if isinstance(plain, dict):
        if not isinstance(node, dict):
            return False
        keys = {yamlio.json_key(k): k for k in node}
        if keys.keys() != plain.keys():
            return False
        return all(_settle(node, keys[k], value) for k, value in plain.items())
    if isinstance(plain, list):
        return (
            isinstance(node, list)
            and len(node) == len(plain)
            and all(_settle(node, i, value) for i, value in enumerate(plain))
        )
    return False


def _settle(container: Any, key: Any, plain: Any) -> bool:
    value = container[key]
    if isinstance(plain, dict | list):
        return _reconcile(value, plain)
    if isinstance(value, dict | list):
        return False
    if type(plain) is not _scalar_type(value) or value != plain:
        container[key] = plain
    return True


def _scalar_type(value: Any) -> type:
    """The plain type a round-trip scalar stands for (ruamel subclasses int, float and str)."""
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind
    return type(value)


def _quote_ambiguous(node: Any, quoted: type[str]) -> None:
    """Quote plain strings that YAML 1.1 would read as another type (``on``, ``1.30``).

    ruamel writes YAML 1.2 and leaves them bare, but Kubernetes reads YAML 1.1.
    """
    pairs = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in list(pairs):
        if (
            type(value) is str
            and _resolver.resolve(yaml.ScalarNode, value, (True, False)) != "tag:yaml.org,2002:str"
        ):
            node[key] = quoted(value)
        else:
            _quote_ambiguous(value, quoted)


def to_krm(finding: Finding) -> dict[str, Any]:
    """A finding as a KRM function result (kubernetes-sigs/kustomize,
    cmd/config/docs/api-conventions/functions-spec.md, "results": message, severity,
    resourceRef)."""
    out: dict[str, Any] = {"message": finding.message, "severity": finding.severity}
    ref = finding.resource
    if ref is not None:
        out["resourceRef"] = {
            "apiVersion": ref.api_version or None,
            "kind": ref.kind or None,
            "name": ref.name or None,
        }
        if ref.namespace:
            out["resourceRef"]["namespace"] = ref.namespace
    return out


def _set_results(data: MutableMapping[str, Any], results: list[Finding]) -> None:
    if results:
        data["results"] = [to_krm(r) for r in results]
    elif "results" in data:
        del data["results"]


def _first_error(results: list[Finding]) -> str:
    errors = [r.message for r in results if r.severity == "error"]
    if not errors:
        return ""
    return errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")


USAGE = """\
Usage: capa-accounts-fn [--help | --version]

  The capa-accounts KRM function: reads a ResourceList (functionConfig kind Account, or a
  ConfigMap with the same keys) on stdin and writes the transformed ResourceList on stdout.
  kustomize runs it as an exec plugin (exec: {path: capa-accounts-fn}); by hand:

    capa-accounts-fn < resource-list.yaml

Options:
  --version   Print the version and exit.
  -h, --help  Print this message and exit.
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("capa-accounts")
    except PackageNotFoundError:
        return "unknown"


def main(
    stdin: IO[bytes] | None = None, stdout: IO[str] | None = None, argv: list[str] | None = None
) -> int:
    """Console script ``capa-accounts-fn``: a ResourceList on stdin; ``--help`` and
    ``--version`` print instead of waiting for one (kustomize passes no arguments)."""
    stdout = stdout or sys.stdout
    args = sys.argv[1:] if argv is None and stdin is None else (argv or [])
    # Other arguments are ignored, as before: kustomize 5.7+ passes a function's `exec.args`.
    if args and args[0] in ("-h", "--help"):
        stdout.write(USAGE)
        return 0
    if args and args[0] == "--version":
        stdout.write(f"capa-accounts-fn, version {_version()}\n")
        return 0
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
