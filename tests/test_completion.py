"""Shell completion as the README tells users to set it up:
``eval "$(_LICENZY_SYNC_COMPLETE=bash_source licenzy-sync)"``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import run_cli


def complete(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, line: str
) -> list[str]:
    """What click answers bash for the cursor at the end of ``line``."""
    words = line.split(" ")
    monkeypatch.setenv("_LICENZY_SYNC_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", line)
    monkeypatch.setenv("COMP_CWORD", str(len(words) - 1))
    result = run_cli(capsys)
    assert result.code == 0, result.text
    return [entry.split(",", 1)[1] for entry in result.out.splitlines()]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_every_shell_gets_a_script(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, shell: str
) -> None:
    monkeypatch.setenv("_LICENZY_SYNC_COMPLETE", f"{shell}_source")
    result = run_cli(capsys)
    assert result.code == 0, result.text
    assert "_LICENZY_SYNC_COMPLETE" in result.out
    assert "licenzy-sync" in result.out


def test_command_names_complete_lazy_ones_included(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    names = complete(capsys, monkeypatch, "licenzy-sync ")
    assert {"github", "plan", "sandbox", "schema", "validate"} <= set(names)
    assert complete(capsys, monkeypatch, "licenzy-sync gi") == ["github"]
    assert complete(capsys, monkeypatch, "licenzy-sync validate --st") == ["--strict"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("licenzy-sync plan --fo", ["--format"]),
        ("licenzy-sync github d", ["drift-issue"]),
    ],
)
def test_inside_lazy_commands(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    line: str,
    expected: list[str],
) -> None:
    assert complete(capsys, monkeypatch, line) == expected


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_bash_script_completes_in_bash(tmp_path: Path) -> None:
    """The generated script, sourced by a real bash, fills COMPREPLY through the real CLI."""
    command = tmp_path / "licenzy-sync"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m licenzy_sync "$@"\n')
    command.chmod(0o755)
    script = f"""
source <(_LICENZY_SYNC_COMPLETE=bash_source "{command}")
complete -p licenzy-sync
COMP_WORDS=(licenzy-sync gi); COMP_CWORD=1; _licenzy_sync_completion "{command}"
echo "reply: ${{COMPREPLY[*]}}"
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("_LICENZY_SYNC")}
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "complete -o nosort -F _licenzy_sync_completion licenzy-sync",
        "reply: github",
    ]
