"""A large config parsed in a child process while the program imports: the same data and
positions as parsing it in the process, used only for exactly the text read, every failure
left to the process's own parse, and no child outliving its wait or the program."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from licenzy_sync import parse_ahead
from licenzy_sync.findings import Position
from licenzy_sync.yamlsource import SourceMap, load_yaml
from tests.cli_runner import run_cli

HEADER = """\
version: 1
project: proj_ahead
licenzy:
  token: ${LZ_TOKEN}
modes:
  test:
    stripe: {secret_key: "${STRIPE_TEST_KEY}"}
products:
"""


def large_config(tmp_path: Path, products: int = 1_000, tail: str = "") -> Path:
    lines = [
        f"  P{n:05d}: {{kind: subscription, name: 'Product {n}', price: {{test: price_{n:05d}}}}}"
        for n in range(products)
    ]
    path = tmp_path / "licenzy.yaml"
    path.write_text(HEADER + "\n".join(lines) + "\n" + tail)
    assert path.stat().st_size >= parse_ahead.MIN_BYTES
    return path


PROGRAM_HEAD = """
import os, sys, time
from pathlib import Path
from licenzy_sync import parse_ahead

parse_ahead.allow()
path = Path(sys.argv[1])

def hang(path, answer):
    time.sleep(60)
    os._exit(0)

def say_if_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        print("child gone")
"""


def in_program(script: str, path: Path) -> str:
    """What ``script`` prints in a fresh interpreter allowed to fork as the program's process
    is, as no test process is (pytest's workers run threads), with ``path`` as ``path``; it
    must end well and print nothing on stderr."""
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM_HEAD + textwrap.dedent(script), str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    return done.stdout


def test_the_childs_answer_is_what_parsing_in_the_process_gives(tmp_path: Path) -> None:
    path = large_config(tmp_path)
    said = in_program(
        """
        from licenzy_sync.yamlsource import load_yaml
        parse_ahead.start((path,))
        assert parse_ahead._Process.child is not None, "no child was forked"
        text = path.read_text()
        data, source = parse_ahead.parsed(str(path), text)
        want, positions = load_yaml(text, str(path))
        assert data == want and len(data["products"]) == 1000
        sent = (source.file, source.values, source.keys)
        assert sent == (positions.file, positions.values, positions.keys)
        assert source.of_key(("products", "P00999", "price")).line == 1008
        print("same")
        """,
        path,
    )
    assert said == "same\n"


@pytest.mark.parametrize(
    "product",
    [
        "  P00001: {kind: subscription, price: {test: price_1}}\n",
        # An anchor: the composer's path, whose positions are sent as they are.
        "  P00001: {kind: subscription, price: &p {test: price_1}}\n",
    ],
)
def test_positions_sent_as_bytes_are_rebuilt_when_first_asked_for(product: str) -> None:
    data, positions = load_yaml(HEADER + product, "licenzy.yaml")
    sent = SourceMap.from_bytes("licenzy.yaml", positions.to_bytes(), data)
    assert "values" not in vars(sent) and "keys" not in vars(sent)
    assert sent.of_key(("products", "P00001", "price")) == Position("licenzy.yaml", 9, 32)
    assert (sent.values, sent.keys) == (positions.values, positions.keys)
    assert sent.of_value(("products", "P00001", "kind")) == positions.of_value(
        ("products", "P00001", "kind")
    )


def test_an_answer_for_other_text_or_another_file_is_not_taken(tmp_path: Path) -> None:
    said = in_program(
        """
        parse_ahead.start((path,))
        assert parse_ahead.parsed("other.yaml", path.read_text()) is None
        pid = parse_ahead._Process.child.pid
        assert parse_ahead.parsed(str(path), path.read_text() + "# edited\\n") is None
        assert parse_ahead._Process.child is None
        say_if_gone(pid)
        """,
        large_config(tmp_path),
    )
    assert said == "child gone\n"


def test_a_child_that_does_not_answer_in_time_is_stopped(tmp_path: Path) -> None:
    said = in_program(
        """
        parse_ahead.ANSWER_SECONDS = 0.3
        parse_ahead._parse_and_answer = hang
        parse_ahead.start((path,))
        pid = parse_ahead._Process.child.pid
        began = time.monotonic()
        assert parse_ahead.parsed(str(path), path.read_text()) is None
        assert time.monotonic() - began < 10
        say_if_gone(pid)
        """,
        large_config(tmp_path),
    )
    assert said == "child gone\n"


def test_a_child_nobody_asked_is_stopped_when_the_program_ends(tmp_path: Path) -> None:
    said = in_program(
        """
        parse_ahead._parse_and_answer = hang
        parse_ahead.start((path,))
        print(parse_ahead._Process.child.pid)
        """,
        large_config(tmp_path),
    )
    with pytest.raises(ProcessLookupError):
        os.kill(int(said), 0)


@pytest.mark.parametrize(
    "why",
    ["not the program's process", "a small file", "several files", "standard input"],
)
def test_no_child_where_it_cannot_pay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    path = large_config(tmp_path)
    monkeypatch.setattr(parse_ahead._Process, "own", why != "not the program's process")
    monkeypatch.setattr(parse_ahead, "MIN_BYTES", 1 << 40 if why == "a small file" else 1)
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked"))
    values = {"several files": (path, path), "standard input": (Path("-"),)}.get(why, (path,))
    parse_ahead.start(values)
    assert parse_ahead._Process.child is None


@pytest.mark.parametrize("broken", [False, True])
def test_the_program_reports_a_large_file_as_a_function_call_does(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    broken: bool,
) -> None:
    """End to end through the program's own process (which forks) against `main` called as
    a function (which never does): the same words and exit code, valid or not."""
    tail = "  P00001: {kind: subscription}\n" if broken else ""
    path = large_config(tmp_path, tail=tail)
    monkeypatch.setenv("LZ_TOKEN", "portal-token-ahead")
    monkeypatch.setenv("STRIPE_TEST_KEY", "sk_test_ahead")
    program = subprocess.run(
        [sys.executable, "-m", "licenzy_sync", "validate", "-c", str(path), "--no-color"],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )
    called = run_cli(capsys, "validate", "-c", str(path), "--no-color")
    assert (program.returncode, program.stdout) == (called.code, called.out)
    assert program.returncode == (3 if broken else 0)
    assert ("duplicate key 'P00001'" in program.stdout) is broken


def test_the_child_parses_without_importing_the_model_or_pydantic() -> None:
    """What the child imports is its whole cost on the second core; pydantic alone would
    cost it as much as the parse of a thousand products."""
    done = subprocess.run(
        [
            sys.executable, "-c",
            "import sys, licenzy_sync.reading, licenzy_sync.yamlsource\n"
            "heavy = ('pydantic', 'licenzy_sync.config')\n"
            "print(sorted(m for m in sys.modules if m.startswith(heavy)))",
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")


def test_shell_completion_parses_nothing_ahead(tmp_path: Path) -> None:
    """Completing a word reads the command line, never the file it names."""
    said = in_program(
        """
        from licenzy_sync.cli import main
        os.fork = lambda: sys.exit("forked")
        line = f"licenzy-sync plan -c {path} --det"
        os.environ.update(
            _LICENZY_SYNC_COMPLETE="bash_complete", COMP_WORDS=line, COMP_CWORD="4"
        )
        try:
            main([])
        except SystemExit as ended:
            assert ended.code == 0, ended.code
        """,
        large_config(tmp_path),
    )
    assert said == "plain,--detailed-exitcode\n"


def test_the_child_parses_with_the_collector_off(tmp_path: Path) -> None:
    """The child ends once it has answered: collections there would only delay the answer
    (each walks everything the fork copied, and the document as it grows)."""
    said = in_program(
        """
        import gc
        from licenzy_sync import yamlsource

        yamlsource.load_yaml = lambda text, file: (
            {"collecting": gc.isenabled()}, yamlsource.SourceMap(file)
        )
        parse_ahead.start((path,))
        data, _ = parse_ahead.parsed(str(path), path.read_text())
        print(data, gc.isenabled())
        """,
        large_config(tmp_path),
    )
    assert said == "{'collecting': False} True\n"


def test_work_meanwhile_is_done_only_while_a_child_parses(tmp_path: Path) -> None:
    """Work done while waiting for the answer costs no time; once the answer is there (or
    with no child at all) it waits until it is needed, in case the command never needs it."""
    said = in_program(
        """
        import select
        done = []
        parse_ahead.meanwhile(lambda: done.append("no child"))
        parse_ahead.start((path,))
        parse_ahead.meanwhile(lambda: done.append("parsing"))
        select.select([parse_ahead._Process.child.answers], [], [], 60)
        parse_ahead.meanwhile(lambda: done.append("answered"))
        print(done)
        """,
        large_config(tmp_path),
    )
    assert said == "['parsing']\n"


def test_a_command_imports_what_reads_while_the_child_parses(tmp_path: Path) -> None:
    """`load_checked` of a file parsed ahead: the readers, the planner and the stripe SDK's
    client class (which the SDK imports when it is first named, `_stripe_client`) are
    imported while waiting for the answer, not after it, in front of the first request."""
    said = in_program(
        """
        from licenzy_sync import workflow

        def loaded_readers():
            modules = (*workflow.READING_MODULES, "stripe._stripe_client")
            return sorted(set(modules) & set(sys.modules)), len(modules)

        before = loaded_readers()
        parse_ahead.ANSWER_SECONDS = 0.3
        parse_ahead._parse_and_answer = hang
        parse_ahead.start((path,))
        loaded, _ = workflow.load_checked(path)
        after, wanted = loaded_readers()
        print(before[0], len(after) == wanted)
        """,
        large_config(tmp_path),
    )
    assert said == "[] True\n"
