"""Schema patterns in ``pattern_subset`` are matched with Python's ``re`` exactly as RE2 matches
them: on every pattern of the built-in schemas and of CAPA's CRDs that the subset admits, on
random patterns of its grammar, and at the edges (newlines, non-ASCII, the empty value). The
grammar admits nothing outside its allow-list, and the KRM function no longer imports RE2."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
import yaml
from conftest import CAPA_REFERENCE, lane_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fn import base_items, resource_list

import capa_accounts.core.schema as schema_package
from capa_accounts.core.schema import pattern_subset
from capa_accounts.core.schema.pattern_subset import translate
from capa_accounts.core.schema.validator import compile_schema, validate


@cache
def _re2(pattern: str) -> Any:
    """RE2 as the validator configures it."""
    import re2

    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)


def _patterns_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "pattern" and isinstance(item, str):
                yield item
            else:
                yield from _patterns_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _patterns_in(item)


def _own_patterns() -> Counter[str]:
    """Every ``pattern`` in a module of capa_accounts/core/schema/."""
    found: Counter[str] = Counter()
    for module in pkgutil.iter_modules(schema_package.__path__):
        loaded = importlib.import_module(f"{schema_package.__name__}.{module.name}")
        for value in vars(loaded).values():
            if isinstance(value, dict | list):
                found.update(set(_patterns_in(value)))
    return found


def _crd_patterns() -> Counter[str]:
    """Every ``pattern`` of the openAPIV3Schema of every CRD in the reference checkout, counted
    once per place it appears."""
    found: Counter[str] = Counter()
    for path in sorted(CAPA_REFERENCE.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
                continue
            for version in document["spec"]["versions"]:
                found.update(_patterns_in(version.get("schema", {}).get("openAPIV3Schema", {})))
    return found


OWN = _own_patterns()
CRD = _crd_patterns() if CAPA_REFERENCE.is_dir() else Counter()
needs_reference = pytest.mark.skipif(
    not CAPA_REFERENCE.is_dir(), reason="../shared/capa-reference is absent"
)
ADMITTED = sorted(p for p in {*OWN, *CRD} if translate(p) is not None)

# Characters around the ones a pattern names: newlines and other line ends, controls, the
# ends of ASCII, non-ASCII letters and symbols, a surrogate-free astral character.
BOUNDARY = "\n\r\t\x00\x7f \u00e9\u0130\u017f\u212a\u2028\U0001f600"


def _alphabet(pattern: str) -> str:
    """The pattern's own characters, their neighbours (the edges of its ranges) and
    ``BOUNDARY``."""
    near = {chr(c) for ch in pattern for c in (ord(ch) - 1, ord(ch), ord(ch) + 1) if c > 0}
    return "".join(sorted(near | set(BOUNDARY)))


def _mutated(text: str, data: st.DataObject, alphabet: str) -> str:
    """``text`` with one character inserted, replaced or deleted."""
    at = data.draw(st.integers(0, len(text)))
    char = data.draw(st.sampled_from(alphabet))
    how = data.draw(st.sampled_from(["insert", "replace", "delete"]))
    if how == "insert":
        return text[:at] + char + text[at:]
    if how == "replace":
        return text[:at] + char + text[at + 1 :]
    return text[:at] + text[at + 1 :]


def _agree(pattern: str, value: str) -> None:
    translated = translate(pattern)
    assert translated is not None
    python = re.compile(translated).match(value) is not None
    engine = _re2(pattern).search(value) is not None
    assert python is engine, (pattern, translated, value)
    violations = validate(compile_schema({"type": "string", "pattern": pattern}), value)
    assert bool(violations) is not engine, (pattern, value, violations)


def _edge_values(pattern: str) -> list[str]:
    found = [""]
    for sample in (pattern, pattern.strip("^$")):
        found += [sample, sample + "\n", "\n" + sample]
    return found


@pytest.mark.parametrize("pattern", ADMITTED)
@settings(
    max_examples=lane_examples(200),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_re_and_re2_agree_on_every_admitted_schema_pattern(pattern: str, data: Any) -> None:
    translated = translate(pattern)
    assert translated is not None
    alphabet = _alphabet(pattern)
    matching = data.draw(st.from_regex(pattern) | st.from_regex(translated))
    for value in (
        data.draw(st.text(alphabet=alphabet, max_size=40)),
        matching,
        matching + "\n",  # RE2's $ is the end of the value, never before a final newline
        _mutated(matching, data, alphabet),
        *_edge_values(pattern),
    ):
        _agree(pattern, value)


@pytest.mark.e2e  # timed: out of the fast lane
@pytest.mark.parametrize("pattern", ADMITTED)
def test_admitted_patterns_are_linear_in_python(pattern: str) -> None:
    """Long values that make a backtracking matcher retry (a run of one character or of two,
    then one that fails the pattern) take milliseconds: a pattern Python matched in quadratic
    time (``^v?(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.?(\\.0|[1-9][0-9]*)?$``, out of the subset)
    takes seconds on ``1.`` and 20,000 ``1``."""
    translated = translate(pattern)
    assert translated is not None
    match = re.compile(translated).match
    runs = [c for c in _alphabet(pattern) if c.isascii() and c.isprintable()]
    runs += [a + b for a in "a0A" for b in ".-/:_"] + ["1s", "1m", "a.a-"]
    started = time.perf_counter()
    for run in runs:
        for head in ("", "1.", "a", "a/"):
            match(head + run * (20_000 // len(run)) + "!")
    assert time.perf_counter() - started < 2.0


@needs_reference
def test_most_crd_patterns_are_admitted() -> None:
    """The subset is not vacuous: it admits most patterns of CAPA's CRDs (counted where they
    appear) and of the built-in schemas."""
    crd_admitted = sum(n for p, n in CRD.items() if translate(p) is not None)
    own_admitted = sum(n for p, n in OWN.items() if translate(p) is not None)
    report = (
        f"CRDs: {crd_admitted} of {CRD.total()} patterns admitted "
        f"({sum(1 for p in CRD if translate(p) is not None)} of {len(CRD)} distinct); "
        f"built-in schemas: {own_admitted} of {OWN.total()}; "
        f"left to RE2: {sorted(p for p in {*CRD, *OWN} if translate(p) is None)}"
    )
    print(report)
    assert CRD.total() > 50, report  # the reader finds the CRDs' patterns
    assert crd_admitted >= 0.9 * CRD.total(), report
    assert own_admitted >= 0.75 * OWN.total(), report


@pytest.mark.parametrize(
    "pattern",
    [
        r"^\d+$",  # Perl classes: Unicode digits in re, ASCII in RE2
        r"^\w$",
        r"^\s$",
        r"^a\b",
        r"^\p{Ll}$",
        r"^\x41$",
        r"^\f$",  # control escapes other than tab, newline and carriage return
        r"^\v$",
        "^(?i)a$",  # flags
        "(?i)a",
        "^(?s).$",
        "^a{,3}$",  # re: up to 3; RE2: the literal text
        "^a{01}$",  # RE2: the literal text
        "^a{1001}$",  # RE2 refuses it
        "^a{3,2}$",
        "^a{0}$",
        "^a{",  # a lone brace
        "^a}$",
        "^[[:alpha:]]$",  # POSIX class
        "^[a[b]$",  # nested [
        "^[a--]$",
        "^[a-z&&b]$",
        "^[a~~b]$",
        "^[z-a]$",
        "^[]a]$",
        "^[]$",
        "^[^]$",
        "^(?=a)",  # lookarounds
        "^(?!a)",
        "^(?<=a)b",
        r"^(a)\1$",  # backreference
        "^(?P<name>a)$",  # named group
        "^(?#c)a$",
        "^é$",  # non-ASCII
        "^a\u2028$",
        "^a**$",  # a quantifier after a quantifier
        "^a*?$",  # lazy
        "^a+?$",
        "^a{2}{3}$",
        "^*a",
        "^$*",
        "^()$",  # an empty group
        "^(?:)$",
        "^(a|)$",  # an alternative that matches nothing
        "^(|a)$",
        "^a||b$",
        "^(a?)*$",  # a repeated part that can match nothing
        "^(a*)+$",
        "^(a+)+$",  # ambiguous: exponential in a backtracking matcher
        "^(a|a)*$",
        "^(a|ab)(c|bc)$",
        "^a*a*$",  # ambiguous: polynomial
        r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.?(\.0|[1-9][0-9]*)?$",
        "abc",  # unanchored: Python would try every start
        "a$",
        "^a|b",  # an alternative without ^
        "(^a)",
        "^[a-z]{1,200}$",  # more positions than the ambiguity check writes out
        "^" + "[a-z]" * 300 + "$",  # longer than the parser reads
        "^(a",
        "^a)",
        "^a\\",
        "^a\\q",
        "^\t$",
        "^a#b$",
    ],
)
def test_constructs_outside_the_allow_list_are_left_to_re2(pattern: str) -> None:
    assert translate(pattern) is None


def test_groups_nested_deeper_than_the_parser_goes_are_left_to_re2() -> None:
    pattern = "^" + "(" * 5000 + "a" + ")" * 5000 + "$"
    assert translate(pattern) is None  # no RecursionError
    check = compile_schema({"type": "string", "pattern": pattern})
    assert not validate(check, "a")
    assert [v.code for v in validate(check, "b")] == ["pattern"]


@pytest.mark.parametrize(
    ("pattern", "translated"),
    [
        ("^[0-9]{12}$", r"\A[0-9]{12}\Z"),
        ("^(a|b)+$", r"\A(?:a|b)+\Z"),
        ("^a", r"\Aa"),
        ("^$", r"\A\Z"),
        ("^.*$", r"\A.*\Z"),
        ("^[^a-z]?x{2,}y{1,3}z{4}$", r"\A[^a-z]?x{2,}y{1,3}z{4}\Z"),
        (r"^[-a\]\\.+*?]+$", r"\A[\-a\]\\\.\+\*\?]+\Z"),
        (r"^\.\-\/\\\*\+\?\(\)\[\]\{\}\|\^\$$", r"\A\.\-\/\\\*\+\?\(\)\[\]\{\}\|\^\$\Z"),
        ("^(?:ab|cd)e$", r"\A(?:ab|cd)e\Z"),
        ("^a b:c@d,e=f~g_h-/$", r"\Aa\ b\:c\@d\,e\=f\~g\_h\-\/\Z"),
        (r"^[^\r\n]*$", r"\A[^\r\n]*\Z"),  # control escapes: the same characters in both
        (r"^a\tb\n$", r"\Aa\tb\n\Z"),
        (r"^[\t-\r]+$", r"\A[\t-\r]+\Z"),
    ],
)
def test_constructs_of_the_allow_list_are_translated(pattern: str, translated: str) -> None:
    assert translate(pattern) == translated


_ATOMS = st.sampled_from(
    ["a", "b", "-", ".", " ", "~", r"\.", r"\\", r"\$", r"\^", r"\|", r"\(", r"\]", r"\{"]
    + ["[ab]", "[^a]", "[a-c-]", "[.]", "[-.]", "[^-b]", r"[\]\-]", r"[\^-b]", "[*+?]"]
)
_QUANTIFIER = st.sampled_from(["", "", "*", "+", "?", "{2}", "{1,}", "{0,2}", "{1,3}"])


def _pattern_text(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    piece = st.tuples(_ATOMS | inner.map(lambda s: f"({s})"), _QUANTIFIER).map("".join)
    sequence = st.lists(piece, min_size=1, max_size=3).map("".join)
    return st.lists(sequence, min_size=1, max_size=3).map("|".join)


_PATTERNS = st.recursive(_ATOMS, _pattern_text, max_leaves=6)


@settings(
    max_examples=lane_examples(2000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    body=_PATTERNS,
    form=st.sampled_from(["^{}", "^{}$", "^(?:{})$", "{}", "{}$"]),
    values=st.lists(
        st.text(alphabet="ab-. \\c\n\u00e9~$^|(]{_*", max_size=8), min_size=1, max_size=8
    ),
)
def test_re_and_re2_agree_on_random_patterns_of_the_grammar(
    body: str, form: str, values: list[str]
) -> None:
    """The translation means what RE2 means for every construct of the grammar, whether or not
    the pattern passes the checks that keep Python's matcher linear (short values here)."""
    pattern = form.format(body)
    python = re.compile(pattern_subset._render(pattern_subset._Parser(pattern).parse()))
    for value in values:
        assert (python.search(value) is not None) is (_re2(pattern).search(value) is not None), (
            pattern,
            value,
        )
    if translate(pattern) is not None:
        for value in values:
            _agree(pattern, value)


def test_the_krm_function_imports_no_re2() -> None:
    """The function checks its config and accounts.yaml's own fields, whose patterns are in
    the subset: RE2's import (about 2 ms) is not part of its start."""
    code = (
        "import sys\n"
        "from capa_accounts.kustomize_plugin import fn\n"
        "code = fn.main()\n"
        "print(code, sorted({'re2'} & set(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=resource_list(base_items()),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "kind: AWSClusterRoleIdentity" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "0 []", done.stderr


@pytest.mark.parametrize("pattern", [r"^[^\r\n]*$", r"^a\tb\n$", r"^[\t-\r]+$", r"^x[\n]?$"])
def test_control_escapes_agree_with_re2(pattern: str) -> None:
    for value in ("", "a", "a\tb\n", "a\tb", "\t\n\r", "a\rb", "a\nb", "x", "x\n", "x\n\n"):
        _agree(pattern, value)
        _agree(pattern, value + "\u2028")
