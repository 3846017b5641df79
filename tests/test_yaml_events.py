"""A plain document built from libyaml's events is what the composer and the builder make of
it, values and positions alike; anything else is left to them."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from licenzy_sync import yamlsource
from licenzy_sync.yamlsource import load_yaml

pytestmark = pytest.mark.skipif(not yaml.__with_libyaml__, reason="needs libyaml")

FILE = "licenzy.yaml"


def _composed(text: str) -> tuple[Any, dict[Any, int], dict[Any, int]]:
    """The composer's path: libyaml's node tree, walked by the builder."""
    builder = yamlsource._Builder(FILE)
    data = builder.build(yaml.compose(text, Loader=yaml.CSafeLoader), ())
    return data, builder.source.values, builder.source.keys


def _from_events(text: str) -> tuple[Any, dict[Any, int], dict[Any, int]]:
    builder = yamlsource._Builder(FILE)
    data = yamlsource._from_events(builder, text)
    return data, builder.source.values, builder.source.keys


PLAIN = [
    "a: 1\nb: true\nc: ~\nd: 2.5\ne: 2001-12-14\nf: !!str 3\ng: 0x1F\nh: ''\ni:\n",
    "- [a, {b: c}]\n- - x\n  - y\n- {}\n- []\n",
    "1: a\n2.5: b\nnull: c\n'q': d\n",
    "a:\n- 1\n- 2\nb: {c: [d, e], f: 'g'}\nd: !!binary aGVsbG8=\n",
    "x: 'a\n  b'\ny: |\n  a\n  b\nz: >-\n  folded\n  text\n",
    "plain\n",
    "---\nversion: 1\n...\n",
    "products:\n  P1: {kind: subscription, name: 'Pro', price: {test: price_1, live: price_2}}\n",
]


@pytest.mark.parametrize("text", PLAIN)
def test_plain_documents_build_as_the_composer_builds_them(text: str) -> None:
    assert _from_events(text) == _composed(text)


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.sampled_from(["<<x", "~"])
)
_documents = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                               max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(_documents, st.booleans())
@example({"<<": None}, False)  # a quoted "<<" key: the events path leaves it to the composer
@example({"<<": {"\x00": None}}, False)  # left to the composer, which refuses the NUL
def test_any_dumped_document_builds_as_the_composer_builds_it(data: Any, flow: bool) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True)
    try:
        composed = _composed(text)
    except yamlsource.YamlError as refused:  # a character the builder refuses
        with pytest.raises((yamlsource.YamlError, yamlsource._Unusual)):
            _from_events(text)
        with pytest.raises(yamlsource.YamlError) as loaded:
            load_yaml(text, FILE)
        assert loaded.value.finding == refused.finding
        return
    try:
        built = _from_events(text)
    except yamlsource._Unusual:  # a "<<" key in any style: left to the composer's path
        assert load_yaml(text, FILE)[0] == composed[0]
        return
    assert built == composed


UNUSUAL = [
    "a: &x {b: 1}\nc: *x\n",
    "<<: {a: 1}\nb: 2\n",
    "!!merge <<: {a: 1}\n",
    "a: 1\na: 2\n",
    "? [a]\n: b\n",
    "---\na: 1\n---\nb: 2\n",
    "",
    "# only a comment\n",
    "a: [b, c\n",
    "a: !!int x\n",
    "c: !custom x\n",
    "[" * 70 + "]" * 70,
]


@pytest.mark.parametrize("text", UNUSUAL)
def test_unusual_documents_are_left_to_the_composer(text: str) -> None:
    with pytest.raises((yamlsource._Unusual, yaml.YAMLError, yamlsource.YamlError)):
        _from_events(text)


def test_a_merge_and_an_alias_still_load() -> None:
    data, source = load_yaml("base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n", FILE)
    assert data == {"base": {"x": 1}, "use": {"x": 1, "y": 2}}
    assert source.of_key(("use", "y")) is not None


def test_a_plain_documents_positions_are_made_only_when_first_asked_for() -> None:
    text = "products:\n  P1: {kind: subscription, price: {test: price_1}}\n  P2: [a, {b: c}]\n"
    data, source = load_yaml(text, FILE)
    assert "values" not in vars(source) and "keys" not in vars(source)
    assert source.of_key(("products", "P2", 1, "b")).line == 3
    assert (data, source.values, source.keys) == _composed(text)


@pytest.mark.parametrize(
    "text",
    [
        'a: "x\\uFFFE"\n',  # ASCII, but an escape makes a noncharacter
        'a: ["\\0"]\n',  # ASCII, an escaped NUL
        "a: {b: x\ufdd0}\n",  # a noncharacter written as it is
        '"x\\uFFFE": 1\n',  # in a key
    ],
)
def test_a_string_with_an_unwanted_character_is_refused_whichever_way_it_came(text: str) -> None:
    with pytest.raises(yamlsource.YamlError) as refused:
        _from_events(text)
    with pytest.raises(yamlsource.YamlError) as composed:
        _composed(text)
    assert refused.value.finding.message == composed.value.finding.message
    assert "invalid character" in refused.value.finding.message


def test_only_a_text_that_may_make_an_unwanted_character_has_its_strings_searched() -> None:
    assert yamlsource._holds_none_unwanted("a: 'b'\nc: [d, \"e\"]\n")
    for text in ('a: "\\u00e9"\n', "a: \u00e9\n", "a: b\x00\n"):
        assert not yamlsource._holds_none_unwanted(text)
