from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.world import World, served


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    yield from served(World(tmp_path, capsys), monkeypatch, World.seed)
