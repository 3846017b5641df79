"""Thousands of mangled configs: never a traceback, only documented exit codes, always a place.

A seeded generator mutates valid configs the way editors, merges, copy-paste and attackers do
(wrong types, unknown fields, odd Unicode, deep nesting, truncation, huge scalars, duplicate
keys, anchors, tabs, BOMs, NULs, CRLF, bytes that are not UTF-8, ...) and runs `validate` on
each through the real entry point, in-process. The seed is fixed, so a failure names a case
that reproduces; change SEED locally to explore further.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_runner import Result, run_cli
from tests.test_validate import BASE

SEED = 20261130
CASES = 2_000
BATCHES = 10
EXAMPLE = (Path(__file__).parents[1] / "licenzy.yaml.example").read_text()
MINIMAL = f"""{BASE}\
    webhook:
      manage: false
      secret: ${{STRIPE_TEST_WEBHOOK_SECRET}}
      events: [checkout.session.completed]
products:
  PRO:
    kind: subscription
    name: Pro
    price: {{test: price_1}}
    metadata: {{team: core}}
"""
BASES = (EXAMPLE, MINIMAL)

Mutation = Callable[[random.Random, bytes], bytes]

ODD_TEXT = (
    "\u202e",
    "\u200b",
    "\ufeff",
    "e\u0301",
    "\U0001f39f\ufe0f",
    "\u2028",
    "\x85",
    "\x07",
    "\x1b[2J",
    "\u0645\u0631\u062d\u0628\u0627",
    "\uff30\uff32\uff2f",
    "'",
    '"',
    "\\",
    ": ",
    " #",
    "- ",
    "{",
    "[",
    "&a",
    "*a",
    "!",
    "%",
    "@",
    "`",
    "|",
    ">",
)
ESCAPES = ("\\0", "\\uD800", "\\uDFFF", "\\uFFFE", "\\U0010FFFF", "\\x1b", "\\u202E", "\\N", "\\L")
SCALARS = (
    "1",
    "-1",
    "0x1F",
    "1e400",
    ".nan",
    "-.inf",
    "true",
    "no",
    "~",
    "null",
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "2020-01-01",
    "!!binary aGVsbG8=",
    "!!python/object:os.system x",
    "!!set {a, b}",
    "!custom x",
    "!!int x",
    "!!float x",
    "'${UNSET_VAR}'",
    "${NOT QUOTED",
    "price_1",
    "prod_1",
    "sk_test_PLANTEDgen00001",
    "whsec_PLANTEDgen00002",
    str(10**100),
    '"' + "x" * 70_000 + '"',
    "&anchor value",
    "*undefined",
)


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines)


def _pick_line(rng: random.Random, lines: list[bytes]) -> int:
    return rng.randrange(len(lines))


def replace_value(rng: random.Random, data: bytes) -> bytes:
    """A wrong type, a tag, a huge or odd scalar where a value stood."""
    lines = _lines(data)
    index = _pick_line(rng, lines)
    line = lines[index]
    if b":" in line:
        key = line.split(b":", 1)[0]
        lines[index] = key + b": " + rng.choice(SCALARS).encode()
    return _join(lines)


def unknown_field(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    index = _pick_line(rng, lines)
    indent = len(lines[index]) - len(lines[index].lstrip(b" "))
    name = rng.choice([b"bogus", b"prices", b"Version", b"kinds", b"metadata", b"price"])
    lines.insert(index, b" " * indent + name + b": " + rng.choice(SCALARS[:14]).encode())
    return _join(lines)


def odd_text(rng: random.Random, data: bytes) -> bytes:
    """Odd Unicode, raw or as double-quoted escapes, inside a value or a key."""
    text = data.decode("utf-8", "surrogateescape")
    offset = rng.randrange(len(text) + 1)
    insert = rng.choice(ODD_TEXT) if rng.random() < 0.5 else f'"{rng.choice(ESCAPES)}x"'
    return (text[:offset] + insert + text[offset:]).encode("utf-8", "surrogateescape")


def quoted_escape(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    index = _pick_line(rng, lines)
    if b": " in lines[index]:
        key = lines[index].split(b": ", 1)[0]
        lines[index] = key + b': "a' + rng.choice(ESCAPES).encode() + b'b"'
    return _join(lines)


def deep_nesting(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice([10, 63, 64, 65, 66, 200, 1_000, 5_000])
    if rng.random() < 0.5:
        value = b"[" * depth + b"]" * depth
    else:
        value = b"{a: " * depth + b"1" + b"}" * depth
    return data + b"\nnested: " + value + b"\n"


def block_nesting(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice([30, 70, 300])
    nested = b"".join(b"  " * level + b"k:\n" for level in range(depth))
    return data + b"deep:\n" + b"".join(b"  " + line + b"\n" for line in nested.splitlines())


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def duplicate_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    index = _pick_line(rng, lines)
    lines.insert(index, lines[index])
    return _join(lines)


def delete_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    del lines[_pick_line(rng, lines)]
    return _join(lines)


def reindent(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    index = _pick_line(rng, lines)
    if rng.random() < 0.5:
        lines[index] = b" " * rng.choice([1, 2, 3]) + lines[index]
    else:
        lines[index] = lines[index].lstrip(b" ")
    return _join(lines)


def tabs(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    index = _pick_line(rng, lines)
    lines[index] = lines[index].replace(b"  ", b"\t", 1)
    return _join(lines)


def anchors(rng: random.Random, data: bytes) -> bytes:
    choice = rng.randrange(5)
    if choice == 0:
        return data.replace(b"products:", b"products: &p", 1) + b"\nagain: *p\n"
    if choice == 1:
        return data.replace(b"products:", b"products: &p", 1).replace(b"name:", b"name: *p", 1)
    if choice == 2:
        bomb = [b"b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
        bomb += [f"b{n}: &b{n} [{', '.join([f'*b{n - 1}'] * 10)}]".encode() for n in range(1, 7)]
        return data + b"\n" + b"\n".join(bomb) + b"\n"
    if choice == 3:
        return data.replace(b"price:", b"<<: *nowhere\n    price:", 1)
    return data.replace(b"metadata:", b"<<: {kind: 1}\n    metadata:", 1)


def bytes_level(rng: random.Random, data: bytes) -> bytes:
    """BOMs, NULs, CRLF, lone CRs and bytes that are not UTF-8."""
    offset = rng.randrange(len(data) + 1)
    insert = rng.choice(
        [b"\xef\xbb\xbf", b"\x00", b"\r", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]
    )
    choice = rng.randrange(4)
    if choice == 0:
        return b"\xef\xbb\xbf" + data
    if choice == 1:
        return data.replace(b"\n", b"\r\n")
    if choice == 2:
        return b"\xff\xfe" + data.decode("utf-8", "replace").encode("utf-16-le")
    return data[:offset] + insert + data[offset:]


def documents(rng: random.Random, data: bytes) -> bytes:
    return rng.choice(
        [
            b"---\n" + data,
            data + b"\n---\nversion: 2\n",
            b"%YAML 1.2\n---\n" + data,
            data + b"\n...\n",
            b"%TAG ! tag:evil.example,2000:\n---\n" + data,
            b"",
            b"# only a comment\n",
            b"- a\n- b\n",
            b"just a string\n",
        ]
    )


def keys(rng: random.Random, data: bytes) -> bytes:
    return data + rng.choice(
        [
            b"\n? [a, b]\n: c\n",
            b"\n1: x\n",
            b"\nnull: x\n",
            b"\ntrue: x\n",
            b'\n"": x\n',
            b"\n? {a: 1}\n: x\n",
            b"\nsk_live_PLANTEDkey00003: x\n",
            b"\n# old key: rk_live_PLANTEDcomment04\n",
        ]
    )


MUTATIONS: tuple[Mutation, ...] = (
    replace_value,
    replace_value,
    unknown_field,
    odd_text,
    quoted_escape,
    deep_nesting,
    block_nesting,
    truncate,
    duplicate_line,
    delete_line,
    reindent,
    tabs,
    anchors,
    bytes_level,
    documents,
    keys,
)


def generate(index: int) -> bytes:
    """Case ``index``: the same bytes on every run and machine."""
    rng = random.Random(SEED * 100_003 + index)
    data = rng.choice(BASES).encode()
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        data = rng.choice(MUTATIONS)(rng, data)
    return data


PLANTED = re.compile(rb"(sk|rk|pk|lz|lzp|whsec)_[A-Za-z0-9_]*PLANTED[A-Za-z0-9]*")


def check(result: Result, path: Path, data: bytes) -> None:
    """The contract of `validate` on any input."""
    text = result.text
    assert result.code in (0, 1, 3), text
    assert "Traceback" not in text and "internal error" not in text, text
    for secret in PLANTED.finditer(data):
        assert secret.group().decode() not in text
    if result.code == 1:
        assert result.err.startswith(f"error: {path}"), text
        assert result.out == "", text
        return
    place = re.compile(rf"^{re.escape(str(path))}:\d+:\d+: (error|warning) \S+ ")
    for line in result.out.splitlines()[:-1]:
        assert place.match(line) or line.startswith("    hint: "), text
    assert result.err == "", text


@pytest.mark.parametrize("batch", range(BATCHES))
def test_generated_configs_never_crash(
    batch: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_TEST_SECRET_KEY", "sk_test_PLANTEDenv00005")
    path = tmp_path / "licenzy.yaml"
    for index in range(batch, CASES, BATCHES):
        data = generate(index)
        path.write_bytes(data)
        result = run_cli(capsys, "validate", "-c", str(path))
        try:
            check(result, path, data)
        except AssertionError as failure:
            raise AssertionError(f"case {index}: {data[:300]!r}\n{failure}") from None


def test_the_generator_is_deterministic_and_varied() -> None:
    cases = [generate(index) for index in range(200)]
    assert cases == [generate(index) for index in range(200)]
    assert len(set(cases)) > 150


@pytest.mark.parametrize("index", [3, 17, 404, 1_999])
def test_generated_configs_through_the_installed_entry_point(index: int, tmp_path: Path) -> None:
    """A few cases as a user runs them: a separate process, real stdout and stderr."""
    path = tmp_path / "licenzy.yaml"
    data = generate(index)
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-m", "licenzy_sync", "validate", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    check(Result(done.returncode, done.stdout, done.stderr), path, data)
