"""`validate --format github`: every finding as a GitHub Actions annotation on its file and
line, checked over the whole bad-config corpus."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from licenzy_sync.findings import Finding, Position, Severity
from licenzy_sync.render.annotations import annotation
from tests.cli_runner import run_cli
from tests.test_bad_configs import FILES, _expectations

ROOT = Path(__file__).resolve().parents[2]
COMMAND = re.compile(r"::(error|warning) file=([^,:]+)(?:,line=(\d+),col=(\d+))?,title=([^:]+)::")


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_finding_is_an_annotation_on_its_line(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rule, _, line, env = _expectations(path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    result = run_cli(capsys, "validate", "--format", "github", str(path))

    assert result.code == 3, result.text
    commands = [COMMAND.match(text) for text in result.out.splitlines()[:-1]]
    assert commands and all(commands), result.out  # nothing but commands before the verdict
    places = {(m[2], m[3] if line else None, m[5]) for m in commands if m}
    assert (str(path), str(line) if line else None, rule) in places, result.out
    assert result.out.splitlines()[-1].startswith(f"{path}: invalid")


def test_a_valid_file_has_no_annotation(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "validate", "--format", "github", str(ROOT / "licenzy.yaml.example"))
    assert result.code == 0, result.text
    assert "::" not in result.out


def test_commas_colons_and_newlines_cannot_end_the_command() -> None:
    finding = Finding(
        "LZ101",
        Severity.WARNING,
        "50% off\nsecond line",
        field="products.A",
        position=Position("dir,a:b/licenzy.yaml", 7, 3),
        hint="see: docs",
    )
    assert annotation(finding, "unused") == (
        "::warning file=dir%2Ca%3Ab/licenzy.yaml,line=7,col=3,title=LZ101::"
        "products.A: 50%25 off%0Asecond line%0Asee: docs"
    )
    unplaced = Finding("LZ023", Severity.ERROR, "not set")
    assert annotation(unplaced, "licenzy.yaml") == "::error file=licenzy.yaml,title=LZ023::not set"
