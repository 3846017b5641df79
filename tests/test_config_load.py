"""Loading licenzy.yaml: the same answer however often and however large.

What makes a large catalog load in time proportional to its size: a repeated load of an
unchanged file reuses the result, the garbage collector is paused while the file becomes
objects (and left as it was found), and only prefixed words are checked for credentials.
"""

from __future__ import annotations

import gc
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licenzy_sync.config.load import load_config
from licenzy_sync.errors import ConfigInvalid
from licenzy_sync.keys import (
    SHAPED_BODY,
    classify,
    holds_a_prefix,
    looks_like_secret,
    secret_shaped_words,
)

WORD = re.compile(r"[A-Za-z0-9_]+")
EXAMPLE = Path(__file__).resolve().parents[1] / "licenzy.yaml.example"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "licenzy.yaml"
    shutil.copyfile(EXAMPLE, path)
    return path


@pytest.fixture
def collector_on() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.enable()
    yield
    if not enabled:
        gc.disable()


def test_an_unchanged_file_is_loaded_once(config: Path) -> None:
    first = load_config(config)
    assert load_config(config) is first


def test_a_changed_file_is_loaded_again(config: Path) -> None:
    first = load_config(config)
    config.write_text(config.read_text().replace("# ", "#  ", 1))
    second = load_config(config)
    assert second is not first
    assert second.config == first.config


def test_the_same_bytes_elsewhere_are_loaded_for_that_path(config: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    shutil.copyfile(config, other)
    first = load_config(config)
    second = load_config(other)
    assert second.path == other
    assert second.source.file == str(other)
    assert load_config(config) is not first  # only the last load is kept


def test_a_file_that_became_invalid_is_refused_again(config: Path) -> None:
    load_config(config)
    config.write_text(config.read_text() + "\nunknown_setting: 1\n")
    with pytest.raises(ConfigInvalid):
        load_config(config)
    with pytest.raises(ConfigInvalid):
        load_config(config)


@pytest.mark.usefixtures("collector_on")
def test_the_collector_is_on_again_after_a_load_and_after_a_refusal(config: Path) -> None:
    load_config(config)
    assert gc.isenabled()
    config.write_text("products: [")
    with pytest.raises(ConfigInvalid):
        load_config(config)
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_a_collector_that_was_off_stays_off(config: Path) -> None:
    gc.disable()
    load_config(config)
    assert not gc.isenabled()


def _word_by_word(text: str) -> list[tuple[int, int]]:
    """The definition: every word of the text, checked one by one."""
    found = []
    for word in WORD.finditer(text):
        value = word.group()
        if not looks_like_secret(value):
            continue
        known = classify(value)
        prefix = known.prefix if known else value[: value.index("_") + 1]
        if len(value) - len(prefix) >= SHAPED_BODY:
            found.append(word.span())
    return found


_pieces = st.sampled_from(
    ["sk_", "sk_test_", "rk_live_", "pk_", "pk_test_", "lz_", "lz_live_", "lzp_", "whsec_",
     "s", "k", "_", "a", "Z", "0", "9", " ", "-", ".", ":", "é", "\n", "0123456789"]
)


@given(st.lists(_pieces, max_size=30).map("".join))
def test_prefixed_words_are_exactly_the_words_shaped_like_secrets(text: str) -> None:
    assert [word.span() for word in secret_shaped_words(text)] == _word_by_word(text)
    assert holds_a_prefix(text) or not any(map(looks_like_secret, WORD.findall(text)))


@pytest.mark.parametrize(
    "written",
    [
        "sk_live_PLANTEDwritten01",
        '"\\x73k_live_PLANTEDescaped2"',
        '"\\u0073k_test_PLANTEDescaped3"',
        '"w\\x68sec_PLANTEDescaped04"',
    ],
)
def test_a_secret_value_is_refused_however_it_is_written(config: Path, written: str) -> None:
    """An escape makes a secret's prefix out of characters the text does not hold: such a
    value is found all the same."""
    config.write_text(config.read_text().replace("team: growth", f"team: {written}", 1))
    with pytest.raises(ConfigInvalid) as refused:
        load_config(config)
    reported = [finding for finding in refused.value.findings if finding.rule_id == "LZ020"]
    assert [finding.field for finding in reported] == ["products.DAY_PASS.metadata.team"]
    assert reported[0].position is not None
    assert reported[0].position.line == 54


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("products: {A: {name: Lamp, team: ops, price: {test: price_1Lamp}}}\n", False),
        ('products: {A: {name: "\\x73k_live_PLANTEDescaped2"}}\n', False),  # walked: "\\"
        ("products: {A: {name: desk_lamp}}\n", True),  # inside a word: searched all the same
        ("products: {A: {name: 'sk_'}}\n", True),
        ("# lz_live_ in a comment\n", True),
    ],
)
def test_a_text_is_searched_for_secrets_only_when_it_holds_a_prefix(
    text: str, holds: bool
) -> None:
    """Observed: every value of a catalog of 10,000 products was tested for a credential
    prefix and every word of its text searched (about 50 ms before the first request), while
    the file held no prefix at all. `secret_shaped_words` finds nothing where this is false."""
    assert holds_a_prefix(text) is holds
    if not holds:
        assert list(secret_shaped_words(text)) == []
