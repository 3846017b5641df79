from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.projects.world import MultiWorld


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[MultiWorld]:
    made = MultiWorld(tmp_path, capsys, monkeypatch)
    yield made
    made.assert_no_secret_leaked()
    made.close()
