from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plan.world import World, seeded_world


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    yield from seeded_world(tmp_path, capsys, monkeypatch)
