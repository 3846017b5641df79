"""Console output: long texts are written whole, in order, redacted, ending in one newline."""

from __future__ import annotations

import pytest

from licenzy_sync.output import Console
from licenzy_sync.redact import register


def test_a_text_longer_than_a_slice_comes_out_whole(capsys: pytest.CaptureFixture[str]) -> None:
    register("sk_test_outputslice0001")
    text = "".join(f"line {i} ✓ é\n" for i in range(300_000)) + "sk_test_outputslice0001 end"
    Console(no_color=True).out(text)
    Console(no_color=True).err("")
    captured = capsys.readouterr()
    assert captured.out == text.replace("sk_test_outputslice0001", "[redacted]") + "\n"
    assert captured.err == "\n"


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "{\n}\n", "a\nb", "plan\n\n\n", "x" * 3_000_000 + "\n", "sk_test_docsecret01\n"],
)
def test_a_document_is_written_as_out_of_it_without_final_newlines(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    register("sk_test_docsecret01")
    Console(no_color=True).out(text.rstrip("\n"))
    expected = capsys.readouterr().out
    Console(no_color=True).document(text)
    assert capsys.readouterr().out == expected
