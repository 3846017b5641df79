"""The plan tests' world: a served sandbox, the CLI and a config, checked for leaks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plan.world import World


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    made = World(tmp_path, capsys)
    made.environment(monkeypatch)
    yield made
    made.assert_no_secret_leaked()
    made.close()
