"""The plan tests' world: a served sandbox, the CLI and a config, checked for leaks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.world import World, served


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    yield from served(World(tmp_path, capsys), monkeypatch)
