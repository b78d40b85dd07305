"""The input layer's fast paths give exactly PyYAML's results: dumping, composing, decoding.

render writes with a block emitter of its own for plain data and `check` composes with a
resolver that remembers tags; a byte or a tag of difference would make every rendered
repository drift (CAPA-R001) or change what a rule sees.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from conftest import lane_examples
from hypothesis import given, settings
from hypothesis import strategies as st

from capa_accounts.core import yamlio

# Strings that look like other YAML types, or need quoting, beside plain ones.
TRICKY = [
    "",
    "1.35",
    "222222222222",
    "true",
    "yes",
    "No",
    "on",
    "null",
    "~",
    "0x1F",
    "1e3",
    ".5",
    ".inf",
    "2001-12-14",
    "a:",
    "a: b",
    "a #b",
    "#x",
    "- x",
    "x y",
    "it's",
    "é",
    "arn:aws:iam::111111111111:role/x",
    "x" * 127,
    "x" * 128,
    "line\nbreak",
    "=",
    "<<",
]
SCALARS = st.one_of(
    st.sampled_from(TRICKY), st.text(max_size=12), st.integers(), st.booleans(), st.none()
)
KEYS = st.one_of(st.sampled_from(TRICKY), st.text(min_size=0, max_size=12))
DATA = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=20,
)
DOCUMENTS = st.lists(st.dictionaries(KEYS, DATA, min_size=1, max_size=5), min_size=1, max_size=3)


def pyyaml(docs: list[Any]) -> str:
    return yaml.dump_all(
        docs,
        Dumper=yaml.CSafeDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=10_000,
        explicit_start=len(docs) > 1,
    )


@settings(max_examples=lane_examples(400), deadline=None)
@given(docs=DOCUMENTS)
def test_dump_writes_what_pyyaml_writes(docs: list[Any]) -> None:
    assert yamlio.dump_documents(docs) == pyyaml(docs)


def test_dump_keeps_anchors_for_shared_objects() -> None:
    shared = {"a": 1}
    assert yamlio.dump({"p": shared, "q": shared}) == pyyaml([{"p": shared, "q": shared}])


# Also what the block emitter must refuse: keys that read back as their text, floats.
ANY_KEYS = st.one_of(KEYS, st.integers(), st.booleans(), st.none())
ANY_DATA = st.recursive(
    st.one_of(SCALARS, st.floats(allow_nan=False)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(ANY_KEYS, inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=lane_examples(400), deadline=None)
@given(
    docs=st.lists(
        st.dictionaries(ANY_KEYS, ANY_DATA, min_size=1, max_size=4), min_size=1, max_size=3
    )
)
def test_plain_dump_reads_back_as_its_documents_or_is_refused(docs: list[Any]) -> None:
    """check takes render's documents for a file whose text is dump_plain's (no parsing)."""
    text = yamlio.dump_plain(docs)
    if text is not None:
        assert text == pyyaml(docs)
        assert [d.data for d in yamlio.documents_from_text(text, "x.yaml")] == docs


@pytest.mark.parametrize(
    "doc",
    [{1: "a"}, {"a": {True: 1}}, {"a": 1.5}, {"a": [{}, {None: 1}]}],
    ids=["int-key", "bool-key", "float", "null-key"],
)
def test_plain_dump_refuses_what_would_not_read_back_equal(doc: dict[Any, Any]) -> None:
    assert yamlio.dump_plain([doc]) is None
    shared = {"a": 1}
    assert yamlio.dump_plain([{"p": shared, "q": shared}]) is None  # an anchor and an alias


def shape(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return (node.tag, node.value, node.style, node.start_mark.line, node.start_mark.column)
    if isinstance(node, yaml.SequenceNode):
        return (node.tag, [shape(n) for n in node.value])
    return (node.tag, [(shape(k), shape(v)) for k, v in node.value])


@settings(max_examples=lane_examples(200), deadline=None)
@given(docs=DOCUMENTS)
def test_compose_and_decode_read_back_what_pyyaml_reads(docs: list[Any]) -> None:
    text = pyyaml(docs)
    ours = yamlio.compose(text, "x.yaml")
    assert [shape(n) for n in ours] == [
        shape(n) for n in yaml.compose_all(text, Loader=yaml.CSafeLoader)
    ]
    assert [d.data for d in yamlio.documents_from_text(text, "x.yaml")] == [
        yamlio.to_plain(n, "x.yaml") for n in ours
    ]
