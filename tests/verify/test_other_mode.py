"""A Licenzy answer in the other mode: the test block's runtime key is, for Licenzy, a live
key (mislabelled by its prefix). Each checkout is named LZ303 and its live session expired."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from licenzy_sync.sandbox.licenzy_runtime import index_key
from tests.verify.world import VerifyWorld
from tests.world import PROJECT, served

MISLABELLED = "lz_test_PLANTEDmislabelled0010"


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[VerifyWorld]:
    made = VerifyWorld(tmp_path, capsys)
    made.planted["LZ_TEST_API_KEY"] = MISLABELLED
    yield from served(made, monkeypatch, VerifyWorld.converge, VerifyWorld.issue_runtime_keys)


def test_an_answer_in_the_other_mode_is_named_and_its_session_expired(
    world: VerifyWorld,
) -> None:
    with world.sandbox.store.transaction() as tx:
        live_key = next(key for _, key in tx.iter("api_key", f"{PROJECT}/live"))
        index_key(tx, MISLABELLED, PROJECT, "live", live_key["id"])
    result, report = world.verify_json("--allow-live", "--product", "PRO")
    assert result.code == 3, result.text
    found = [f for f in report["findings"] if f["rule_id"] == "LZ303"]
    assert [f["address"] for f in found] == ["licenzy.test.product[PRO]"]
    assert found[0]["position"]["line"] == 9  # modes.test.licenzy.api_key
    assert "answered in live mode" in found[0]["message"]
    world.assert_no_session_open()
