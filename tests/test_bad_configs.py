"""The bad-input corpus: every broken config is refused with exit 3, a position and the field.

Each file under bad_configs/ starts with ``# expect: RULE FIELD`` (``-`` when no field applies),
may set variables with ``# env: NAME=value``, and marks the offending line with ``# <-``.
A credential-shaped value in a comment is itself refused (LZ020), so an ``# env:`` value is
written with a ``-`` after its prefix's last underscore (``sk_live_-PLANTED...``), which is
dropped when the variable is set.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli_runner import run_cli

CORPUS = Path(__file__).parent / "bad_configs"
FILES = sorted(CORPUS.glob("*.yaml"))
PLANTED = re.compile(r"(sk|rk|pk|lz|whsec)_[A-Za-z0-9_]*PLANTED[A-Za-z0-9]*")


def _expectations(path: Path) -> tuple[str, str, int | None, dict[str, str]]:
    text = path.read_text()
    found = re.search(r"^# expect: (\S+) (\S+)$", text, re.M)
    assert found is not None, f"{path.name} has no '# expect:' line"
    rule, field = found.groups()
    env = {
        name: value.replace("_-", "_", 1)
        for name, value in re.findall(r"^# env: (\w+)=(\S+)$", text, re.M)
    }
    marked = [n for n, line in enumerate(text.splitlines(), 1) if line.endswith("# <-")]
    return rule, field, marked[0] if marked else None, env


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 40


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bad_config_is_refused_cleanly(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rule, field, line, env = _expectations(path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run_cli(capsys, "validate", "-c", str(path))
    assert result.code == 3, result.text
    assert "Traceback" not in result.text
    expected_place = f"{path}:{line}:" if line else f"{path}:"
    assert expected_place in result.out, result.text
    assert f" {rule} " in result.out, result.text
    if field != "-":
        assert f" {field}: " in result.out, result.text
    planted = [found.group(0) for found in PLANTED.finditer(path.read_text())]
    for secret in [*planted, *env.values()]:
        assert secret not in result.text
