"""`init`: the first file of a new setup, for someone who has only the installed package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from licenzy_sync.config.schema import json_schema_text
from licenzy_sync.scaffold import MODELINE, SCHEMA_FILE
from tests.cli_runner import run_cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def empty_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_writes_a_starter_that_validates_and_the_schema_its_modeline_names(
    empty_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Observed: there was no `init`, and the example's modeline named a file only this
    repository has."""
    result = run_cli(capsys, "init")
    assert result.code == 0, result.text
    text = (empty_dir / "licenzy.yaml").read_text()
    assert text.splitlines()[0] == MODELINE
    named = MODELINE.split("$schema=./", 1)[1]
    assert (empty_dir / named).read_text() == json_schema_text()
    assert "licenzy-sync sandbox seed && licenzy-sync plan --sandbox" in result.err
    assert run_cli(capsys, "validate").code == 0


def test_the_repository_example_is_what_init_writes(
    empty_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = run_cli(capsys, "init", "-o", "-")
    assert printed.out == (ROOT / "licenzy.yaml.example").read_text()
    assert "`licenzy-sync schema > licenzy.schema.json` writes it" in printed.err
    assert not (empty_dir / SCHEMA_FILE).exists()


def test_init_never_overwrites(empty_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = empty_dir / "licenzy.yaml"
    mine.write_text("version: 1  # mine\n")
    result = run_cli(capsys, "init")
    assert result.code == 1
    assert result.err.startswith("error: licenzy.yaml already exists and init never overwrites")
    assert "Traceback" not in result.text
    assert mine.read_text() == "version: 1  # mine\n"
    assert not (empty_dir / SCHEMA_FILE).exists()


def test_init_elsewhere_names_the_file_in_the_next_steps(
    empty_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (empty_dir / "billing").mkdir()
    (empty_dir / "billing" / SCHEMA_FILE).write_text('{"title": "someone else\'s"}')
    result = run_cli(capsys, "init", "-o", "billing/acme.yaml")
    assert result.code == 0, result.text
    assert "licenzy-sync sandbox seed -c billing/acme.yaml" in result.err
    assert "is not licenzy-sync's schema; left as it is" in result.err
    assert json.loads((empty_dir / "billing" / SCHEMA_FILE).read_text()) == {
        "title": "someone else's"
    }


def test_init_help(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "init", "--help")
    assert result.code == 0
    assert "never overwritten" in result.out
    assert "init      Write a commented starter" in run_cli(capsys, "--help").out
