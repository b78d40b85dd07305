"""A compiled validator for the structural-schema subset that Kubernetes CRDs use.

Each schema is compiled once into nested closures; validating a document is then a walk that
allocates nothing when the document is valid. Violations carry the path of the offending key
or value, so callers can point at its line and column through the document's node marks.

Supported keywords: ``type`` (one or a list), ``nullable``, ``properties``, ``required``,
``additionalProperties`` (bool or schema), ``items``, ``enum``, ``pattern``, ``minLength``,
``maxLength``, ``minimum``, ``maximum``, ``minItems``, ``maxItems``, ``minProperties``,
``maxProperties``, ``anyOf``/``oneOf`` (as alternatives), ``allOf``, ``const`` and the
Kubernetes extensions ``x-kubernetes-int-or-string``, ``x-kubernetes-preserve-unknown-fields``
and ``x-kubernetes-embedded-resource``. Object schemas with ``properties`` and no
``additionalProperties`` reject unknown keys, as the API server prunes or (with server-side
apply's strict field validation) rejects them.

A ``pattern`` is matched as the API server matches it, with Go's regexp (RE2 syntax): by RE2
(google-re2), imported on first use, or by Python's ``re`` when the pattern is in the subset
where both agree and ``re`` takes linear time (``pattern_subset``: most patterns of the
built-in schemas and of CAPA's CRDs).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sized
from functools import cache
from typing import Any

from capa_accounts.core.record import Record
from capa_accounts.core.substitution import templated

Path = tuple[str | int, ...]


class Violation(Record):
    """What a schema refuses in a value: where, why, and the kind of check that refused."""

    FIELDS = ("path", "message", "code", "at_key")
    path: Path
    message: str
    # unknown | type | enum | pattern | required | range
    code: str
    at_key: bool

    def __init__(
        self,
        path: Path,
        message: str,
        code: str,
        at_key: bool = False,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "path", path)
        set_(self, "message", message)
        set_(self, "code", code)
        set_(self, "at_key", at_key)


Check = Callable[[Any, Path, list[Violation]], None]

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def closest(word: str, choices: list[str]) -> str | None:
    """The known key a near-miss key most likely means, if one is close enough."""
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    from capa_accounts.core.suggest import close

    found = close(word, choices, n=1, cutoff=0.75)
    return found[0] if found else None


def suggest(word: str, choices: list[str]) -> str:
    """A "did you mean" hint for a near-miss key, or an empty string."""
    near = closest(word, choices)
    return f" (did you mean {near!r}?)" if near else ""


def compile_schema(schema: dict[str, Any]) -> Check:
    """Compile a schema into a check function ``check(value, path, violations)``."""
    types = schema.get("type")
    type_list = [types] if isinstance(types, str) else list(types or [])
    nullable = bool(schema.get("nullable"))
    if schema.get("x-kubernetes-int-or-string"):
        type_list = ["integer", "string"]
    checks = [*_value_checks(schema, nullable), *_structure_checks(schema)]
    return _typed(checks, type_list, nullable)


def _value_checks(schema: dict[str, Any], nullable: bool) -> list[Check]:
    """The checks of a schema on a value itself: enum, const, pattern, lengths and ranges."""
    checks: list[Check] = []
    if "enum" in schema:
        allowed = list(schema["enum"])

        def check_enum(value: Any, path: Path, out: list[Violation]) -> None:
            if value not in allowed and not (value is None and nullable):
                shown = ", ".join(repr(a) for a in allowed[:12])
                out.append(Violation(path, f"{value!r} is not one of {shown}", "enum"))

        checks.append(check_enum)
    if "const" in schema:
        const = schema["const"]

        def check_const(value: Any, path: Path, out: list[Violation]) -> None:
            if value != const:
                out.append(Violation(path, f"must be {const!r}, not {value!r}", "enum"))

        checks.append(check_const)
    if "pattern" in schema:
        checks.append(_pattern_check(schema["pattern"]))
    for key, op, word, kind in _LENGTHS:
        if key in schema:
            checks.append(_length_check(schema[key], op, word, kind))
    for key, op in (("minimum", "lt"), ("maximum", "gt")):
        if key in schema:
            checks.append(_range_check(schema[key], op))
    return checks


_LENGTHS: tuple[tuple[str, str, str, type[Sized]], ...] = (
    ("minLength", "lt", "shorter than", str),
    ("maxLength", "gt", "longer than", str),
    ("minItems", "lt", "fewer items than", list),
    ("maxItems", "gt", "more items than", list),
    ("minProperties", "lt", "fewer keys than", dict),
    ("maxProperties", "gt", "more keys than", dict),
)


def _structure_checks(schema: dict[str, Any]) -> list[Check]:
    """The checks of a schema on what a value holds: properties, items, alternatives, allOf."""
    checks: list[Check] = []
    if "properties" in schema or "additionalProperties" in schema or "required" in schema:
        checks.append(_object_check(schema))
    if "items" in schema and isinstance(schema["items"], dict):
        item_check = compile_schema(schema["items"])

        def check_items(value: Any, path: Path, out: list[Violation]) -> None:
            if isinstance(value, list):
                for i, item in enumerate(value):
                    item_check(item, (*path, i), out)

        checks.append(check_items)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            checks.append(_alternatives(schema[key]))
    for sub in schema.get("allOf", []):
        checks.append(compile_schema(sub))
    return checks


def _typed(checks: list[Check], type_list: list[str], nullable: bool) -> Check:
    """One check: the schema's type (and null) first, then ``checks`` on a value of that type."""
    # The walk calls this once per node of every document: the type test is one isinstance
    # and the common shapes (no further check, or one) skip the loop.
    python_types, bool_is_wrong = _python_types(type_list)
    null_ok = nullable or not type_list
    only = checks[0] if len(checks) == 1 else None

    def check(value: Any, path: Path, out: list[Violation]) -> None:
        if value is None:
            if not null_ok:
                out.append(Violation(path, f"must be {_type_words(type_list)}, not null", "type"))
            return
        if value.__class__ is str and "${" in value and templated(value):
            return  # substituted before it is applied (core/substitution.py)
        if python_types is not None and (
            not isinstance(value, python_types) or (bool_is_wrong and value.__class__ is bool)
        ):
            out.append(
                Violation(path, f"must be {_type_words(type_list)}, not {_describe(value)}", "type")
            )
            return
        if only is not None:
            only(value, path, out)
        elif checks:
            for c in checks:
                c(value, path, out)

    return check


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "object": (dict,),
    "array": (list,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def _python_types(type_list: list[str]) -> tuple[tuple[type, ...] | None, bool]:
    """The Python types a schema ``type`` admits (None: any), and whether a bool, which Python
    counts as an int, must be refused (``integer`` and ``number`` exclude booleans)."""
    if not type_list or any(t not in _PYTHON_TYPES for t in type_list):
        return None, False
    admitted = tuple(dict.fromkeys(k for t in type_list for k in _PYTHON_TYPES[t]))
    return admitted, "boolean" not in type_list and bool not in admitted


@cache
def _re2() -> tuple[Any, Any]:
    """The RE2 module and its options, imported when a pattern outside ``pattern_subset`` is
    first checked: most runs (the KRM function's, a check of a small change) check none, and
    the import is costly."""
    import re2

    options = re2.Options()
    options.log_errors = False  # the error is reported once, as a violation; not on stderr
    return re2, options


@cache
def _matcher(pattern: str) -> Callable[[str], object] | str:
    """How ``pattern`` is matched against a value: Python's ``re`` (a match of the translation,
    which starts with ``\\A``) when ``pattern_subset`` proves it equivalent to RE2's search, and
    RE2's search otherwise; a string is RE2's reason for refusing the pattern."""
    from capa_accounts.core.schema.pattern_subset import translate

    translated = translate(pattern)
    if translated is not None:
        return re.compile(translated).match
    re2, options = _re2()
    try:
        search: Callable[[str], object] = re2.compile(pattern, options).search
    except re2.error as err:
        return (
            err.args[0].decode("utf-8", "replace")
            if err.args and isinstance(err.args[0], bytes)
            else str(err)
        )
    return search


def _pattern_check(pattern: Any) -> Check:
    """A schema ``pattern`` as Kubernetes applies it: Go's regexp (RE2 syntax, linear time),
    unanchored (kube-openapi pkg/validation/validate/values.go ``Pattern``: MatchString), ``$``
    the end of the whole value, never before a trailing newline (RE2 without the ``m`` flag).
    Matched with Python's ``re`` when the pattern is in the subset where it agrees with RE2
    (``pattern_subset``), with RE2 otherwise."""
    # Compiled on first use: most patterns of a CRD guard fields a repository never sets.
    compiled: list[Callable[[str], object] | str] = []

    def check(value: Any, path: Path, out: list[Violation]) -> None:
        if isinstance(value, str):
            if not compiled:
                compiled.append(_matcher(str(pattern)))
            matches = compiled[0]
            if isinstance(matches, str):
                out.append(
                    Violation(
                        path,
                        f"the schema's pattern {pattern!r} is not a valid "
                        f"RE2 pattern ({matches}): the API server refuses it",
                        "pattern",
                    )
                )
            elif not matches(value):
                out.append(Violation(path, f"{value!r} does not match {pattern!r}", "pattern"))

    return check


def _type_words(type_list: list[str]) -> str:
    return " or ".join(_TYPE_NAMES.get(t, t) for t in type_list)


def _bad_limit(limit: Any) -> bool:
    return isinstance(limit, bool) or not isinstance(limit, int | float)


def _schema_error(message: str) -> Check:
    def check(value: Any, path: Path, out: list[Violation]) -> None:
        out.append(Violation(path, f"{message}: the API server refuses such a schema", "range"))

    return check


def _length_check(limit: int, op: str, word: str, kind: type[Sized]) -> Check:
    if _bad_limit(limit):
        return _schema_error(f"the schema's bound {limit!r} is not a number")

    def check(value: Any, path: Path, out: list[Violation]) -> None:
        if isinstance(value, kind) and not isinstance(value, bool):
            n = len(value)
            if (op == "lt" and n < limit) or (op == "gt" and n > limit):
                out.append(Violation(path, f"is {word} {limit}", "range"))

    return check


def _range_check(limit: float, op: str) -> Check:
    if _bad_limit(limit):
        return _schema_error(
            f"the schema's {'minimum' if op == 'lt' else 'maximum'} {limit!r} is not a number"
        )

    def check(value: Any, path: Path, out: list[Violation]) -> None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if op == "lt" and value < limit:
                out.append(Violation(path, f"{value} is below the minimum {limit}", "range"))
            elif op == "gt" and value > limit:
                out.append(Violation(path, f"{value} is above the maximum {limit}", "range"))

    return check


def _object_check(schema: dict[str, Any]) -> Check:
    props = {k: compile_schema(v) for k, v in (schema.get("properties") or {}).items()}
    names = list(props)
    required = list(schema.get("required") or [])
    additional = schema.get("additionalProperties")
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    extra: Check | None = None
    closed = False
    if isinstance(additional, dict):
        extra = compile_schema(additional)
    elif additional is False or (additional is None and not preserve and props):
        closed = True
    if schema.get("x-kubernetes-embedded-resource"):
        # apiVersion, kind and metadata are always allowed on an embedded object.
        for implicit in ("apiVersion", "kind", "metadata"):
            props.setdefault(implicit, _accept_any)

    def check(value: Any, path: Path, out: list[Violation]) -> None:
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            sub = props.get(key)
            if sub is not None:
                sub(item, (*path, key), out)
            elif extra is not None:
                extra(item, (*path, key), out)
            elif closed:
                out.append(
                    Violation(
                        (*path, key),
                        f"unknown field {key!r}{suggest(str(key), names)}",
                        "unknown",
                        at_key=True,
                    )
                )
        for key in required:
            if key not in value:
                out.append(Violation(path, f"missing required field {key!r}", "required"))

    return check


def _accept_any(value: Any, path: Path, out: list[Violation]) -> None:
    return None


def _alternatives(options: list[dict[str, Any]]) -> Check:
    compiled = [compile_schema(o) for o in options]

    def check(value: Any, path: Path, out: list[Violation]) -> None:
        best: list[Violation] | None = None
        for c in compiled:
            trial: list[Violation] = []
            c(value, path, trial)
            if not trial:
                return
            if best is None or len(trial) < len(best):
                best = trial
        out.extend(best or [])

    return check


def validate(check: Check, value: Any) -> list[Violation]:
    out: list[Violation] = []
    check(value, (), out)
    return out
