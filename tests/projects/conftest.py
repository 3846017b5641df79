from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.projects.world import MultiWorld
from tests.world import served


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[MultiWorld]:
    yield from served(MultiWorld(tmp_path, capsys, monkeypatch), monkeypatch)
