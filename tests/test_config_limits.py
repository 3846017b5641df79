"""Odd input ends in one clear message and a documented exit code, never a traceback or a hang.

Each test reproduces one observation of the hardening audit: a lone surrogate, deep nesting,
special files, huge files, many plain keys, bytes that are not UTF-8, a closed output pipe.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from licenzy_sync.reading import CONFIG_MAX_BYTES
from licenzy_sync.yamlsource import MAX_DEPTH
from tests.cli_runner import Result, run_cli

EXAMPLE = Path(__file__).parents[1] / "licenzy.yaml.example"
BASE = EXAMPLE.read_text()


def _validate(capsys: pytest.CaptureFixture[str], path: Path, *more: str) -> Result:
    result = run_cli(capsys, "validate", "-c", str(path), *more)
    assert "Traceback" not in result.text
    assert "internal error" not in result.text
    return result


def _write(tmp_path: Path, text: str, name: str = "licenzy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_lone_surrogate_escape_is_refused_at_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = BASE.replace("test: price_1Credits1kTest", 'test: "\\uD800"')
    path = _write(tmp_path, text)
    line = _line_of(text, "uD800")
    for command in (("validate",), ("plan", "--sandbox")):
        result = run_cli(capsys, *command, "-c", str(path))
        assert result.code == 3, result.text
        assert "Traceback" not in result.text and "internal error" not in result.text
        assert f"{path}:{line}:" in result.out
        assert "U+D800 (a lone surrogate)" in result.out


@pytest.mark.parametrize(
    ("escape", "kind"),
    [
        ("\\0", "U+0000 (NUL)"),
        ("\\uDFFF", "U+DFFF (a lone surrogate)"),
        ("\\uFFFE", "U+FFFE (a Unicode noncharacter)"),
        ("\\uFDD0", "U+FDD0 (a Unicode noncharacter)"),
        ("\\U0010FFFF", "U+10FFFF (a Unicode noncharacter)"),
    ],
)
def test_characters_that_are_not_text_are_refused_in_values_and_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], escape: str, kind: str
) -> None:
    for text in (
        BASE.replace("name: Day pass", f'name: "Day{escape}pass"'),
        BASE.replace("      team: growth", f'      "te{escape}am": growth'),
    ):
        path = _write(tmp_path, text)
        result = _validate(capsys, path)
        assert result.code == 3, result.text
        assert f"{path}:{_line_of(text, escape)}:" in result.out
        assert kind in result.out


def test_controls_and_bidi_marks_in_names_stay_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name in Licenzy may hold them (import copies it); renderers show them escaped."""
    name = 'name: "Day\\tpass\\nfor\\x07one\\x1b[2J\\u202e\\u2028\\x85"'
    path = _write(tmp_path, BASE.replace("name: Day pass", name))
    assert _validate(capsys, path).code == 0


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
def test_deep_flow_nesting_is_refused_before_it_recurses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], depth: int
) -> None:
    path = _write(tmp_path, f"{BASE}extra: {'[' * depth}{']' * depth}\n")
    result = _validate(capsys, path)
    assert result.code == 3, result.text
    assert f"nests deeper than {MAX_DEPTH} levels" in result.out
    assert f"{path}:{len(BASE.splitlines()) + 1}:" in result.out


def test_deep_block_nesting_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nested = "".join(f"{'  ' * level}k{level}:\n" for level in range(200)) + "  " * 200 + "x\n"
    path = _write(tmp_path, f"{BASE}{nested}")
    result = _validate(capsys, path)
    assert result.code == 3, result.text
    assert f"nests deeper than {MAX_DEPTH} levels" in result.out


def test_nesting_built_through_aliases_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each anchor is shallow, but each nests the previous one: the built data is deep."""
    chain = ["a0: &a0 [x]"]
    chain += [f"a{n}: &a{n} [[[[[[[[[[*a{n - 1}]]]]]]]]]]" for n in range(1, 40)]
    path = _write(tmp_path, BASE + "\n".join(chain) + "\n")
    result = _validate(capsys, path)
    assert result.code == 3, result.text
    assert f"nests deeper than {MAX_DEPTH} levels (through aliases)" in result.out


def test_many_plain_keys_load_and_are_not_called_aliases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """200,000 metadata keys (2.8 MB) are a valid file, not an alias bomb."""
    keys = "".join(f"      k{i}: v\n" for i in range(200_000))
    path = _write(tmp_path, BASE + keys)
    assert path.stat().st_size < CONFIG_MAX_BYTES
    result = _validate(capsys, path)
    assert result.code == 0, result.text[:2000]


def test_alias_bomb_message_names_aliases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"b{n}: &b{n} [{', '.join([f'*b{n - 1}'] * 10)}]" for n in range(1, 8)]
    path = _write(tmp_path, BASE + "\n".join(bomb) + "\n")
    result = _validate(capsys, path)
    assert result.code == 3, result.text
    assert "aliases expand the document by more than" in result.out


def test_file_above_the_size_cap_is_refused_without_reading_it_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, BASE + "#" * (CONFIG_MAX_BYTES + 1) + "\n")
    result = _validate(capsys, path)
    assert result.code == 1, result.text
    assert f"{path}: the configuration is larger than 4 MiB" in result.err


def test_dev_zero_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    result = _validate(capsys, Path("/dev/zero"))
    assert result.code == 1, result.text
    assert "/dev/zero: cannot read the configuration: it is a character device" in result.err


def test_unix_socket_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "licenzy.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        result = _validate(capsys, path)
    assert result.code == 1, result.text
    assert "it is a socket; give the path of a regular file" in result.err


def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    """In a subprocess, so that a regression fails on the timeout instead of hanging."""
    fifo = tmp_path / "licenzy.yaml"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-m", "licenzy_sync", "validate", "-c", str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "it is a FIFO (named pipe); give the path of a regular file" in done.stderr


def test_apply_refuses_a_plan_file_that_never_ends(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "apply", "/dev/zero", "--sandbox")
    assert result.code == 1, result.text
    assert "/dev/zero: cannot read the plan: it is a character device" in result.err


def test_byte_that_is_not_utf8_is_reported_with_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "licenzy.yaml"
    raw = BASE.encode().replace(b"name: Day pass", b"name: D\xc3\xa9y \xff pass")
    path.write_bytes(raw)
    result = _validate(capsys, path)
    assert result.code == 3, result.text
    line = _line_of(BASE, "name: Day pass")
    assert f"{path}:{line}:15: error yaml the file is not UTF-8: byte 0xff" in result.out


def test_utf8_bom_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "licenzy.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert _validate(capsys, path).code == 0


def test_closed_output_pipe_ends_quietly(tmp_path: Path) -> None:
    """`licenzy-sync validate | head -1`: output far beyond a pipe's buffer, reader gone."""
    path = _write(tmp_path, BASE + "".join(f"stray{i}: x\n" for i in range(3000)))
    process = subprocess.Popen(
        [sys.executable, "-m", "licenzy_sync", "validate", "-c", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1
    assert errors == ""


def test_quoted_values_cannot_forge_output_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newline in a value quoted by a finding is shown escaped, not as a line of its own."""
    forged = f"{tmp_path}/licenzy.yaml: valid (3 products; modes: test, live)"
    text = BASE.replace("test: price_1Credits1kTest", f'test: "x\\n{forged}"')
    path = _write(tmp_path, text)
    result = _validate(capsys, path)
    assert result.code == 3, result.text
    assert forged not in result.out.splitlines()
    assert "x\\u000a" in result.out


def test_bad_explicit_tags_are_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for tagged in ("!!float x", "!!int x", "!!binary ###"):
        text = BASE.replace("units: 1000", f"units: {tagged}")
        path = _write(tmp_path, text)
        result = _validate(capsys, path)
        assert result.code == 3, result.text
        assert f"{path}:{_line_of(text, tagged)}:" in result.out


def test_secret_shaped_key_is_reported_not_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "sk_live_PLANTEDaskey0009"
    path = _write(tmp_path, f"{BASE}{key}: stray\n")
    result = _validate(capsys, path)
    assert result.code == 3, result.text
    assert key not in result.text
    assert "LZ020" in result.out and "unknown field '[secret]'" in result.out


@pytest.mark.parametrize(
    "planted",
    [
        "      # old key: sk_live_PLANTEDcomment07, rotated\n",
        "      whsec_PLANTEDaskey0815: old\n",
        "# token was lzp_PLANTEDcomment0008 before rotation\n",
    ],
)
def test_secret_shaped_text_is_refused_in_comments_and_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], planted: str
) -> None:
    """Observed: `# old key: sk_live_...` in a comment was accepted; the file is committed."""
    text = BASE.replace("      team: growth\n", f"      team: growth\n{planted}")
    path = _write(tmp_path, text)
    result = _validate(capsys, path)
    assert result.code == 3, result.text
    secret = next(word for word in planted.replace(":", " ").split() if "PLANTED" in word)
    assert secret.rstrip(",") not in result.text
    column = planted.index(secret) + 1
    assert f"{path}:{_line_of(text, secret)}:{column}: error LZ020 " in result.out


def test_placeholders_in_comments_stay_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, BASE + "# keys look like sk_test_..., rk_live_xxx or whsec_...\n")
    assert _validate(capsys, path).code == 0
