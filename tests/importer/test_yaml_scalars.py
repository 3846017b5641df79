"""Every string import writes must read back as exactly itself, on one line."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st

from licenzy_sync.importer import scalar


@given(st.text())
def test_any_text_round_trips_on_one_line(value: str) -> None:
    written = scalar(value)
    assert "\n" not in written and written.isprintable()
    assert yaml.safe_load(f"key: {written}\nnext: 1\n") == {"key": value, "next": 1}


@given(st.text())
def test_any_text_round_trips_as_a_key(value: str) -> None:
    assert yaml.safe_load(f"{scalar(value)}: 1\n") == {value: 1}


def test_plain_where_yaml_allows_it() -> None:
    assert scalar("Pro (monthly)") == "Pro (monthly)"
    assert scalar("NO") == "'NO'"
    assert scalar(True) == "true"
    assert scalar(12) == "12"
    assert scalar("a\nb") == '"a\\nb"'
