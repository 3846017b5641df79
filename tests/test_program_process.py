"""The program's own process: it ends without the interpreter's teardown and loses nothing
by it, and it runs the cycle collector less often than a process that embeds `main`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT_HEAD = """
import atexit, sys, threading, time
from licenzy_sync.process_exit import end_process

class Witness:
    def __del__(self):  # runs only in the interpreter's teardown
        print("torn down", file=sys.stderr, flush=True)

kept = Witness()
atexit.register(lambda: open(sys.argv[1], "w").write("exit functions ran"))
sys.stdout.write("buffered, no newline")
"""


def run(tmp_path: Path, tail: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    marker = tmp_path / "marker"
    script = textwrap.dedent(SCRIPT_HEAD) + textwrap.dedent(tail)
    done = subprocess.run(
        [sys.executable, "-c", script, str(marker)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    return done, marker


def test_the_code_output_and_exit_functions_survive_and_teardown_is_skipped(
    tmp_path: Path,
) -> None:
    done, marker = run(tmp_path, "end_process(3)\n")
    assert done.returncode == 3
    assert done.stdout == "buffered, no newline"
    assert marker.read_text() == "exit functions ran"
    assert "torn down" not in done.stderr


def test_a_running_thread_is_waited_for_as_by_an_ordinary_exit(tmp_path: Path) -> None:
    done, marker = run(
        tmp_path,
        """
        def late():
            time.sleep(0.3)
            print(" and the thread's line", flush=True)

        threading.Thread(target=late).start()
        end_process(2)
        """,
    )
    assert done.returncode == 2
    assert done.stdout == "buffered, no newline and the thread's line\n"
    assert marker.read_text() == "exit functions ran"
    assert "torn down" in done.stderr  # the ordinary exit, teardown included


def test_an_interpreter_without_cpython_s_exit_function_runner_exits_as_usual(
    tmp_path: Path,
) -> None:
    """The short exit runs the exit functions with `atexit._run_exitfuncs`, which is
    CPython's own: without it the ordinary exit is taken, with nothing lost."""
    done, marker = run(tmp_path, "del atexit._run_exitfuncs\nend_process(3)\n")
    assert done.returncode == 3
    assert done.stdout == "buffered, no newline"
    assert marker.read_text() == "exit functions ran"
    assert "torn down" in done.stderr  # the ordinary exit, teardown included


def test_a_daemon_thread_does_not_hold_the_process(tmp_path: Path) -> None:
    done, _ = run(
        tmp_path,
        """
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        end_process(0)
        """,
    )
    assert done.returncode == 0
    assert "torn down" not in done.stderr


@pytest.mark.parametrize("args", [["--help"], ["validate", "-c", "no-such-file.yaml"]])
def test_the_program_takes_the_short_exit_and_keeps_its_exit_code(
    tmp_path: Path, args: list[str]
) -> None:
    """`main()` of the program's own process ends it with `end_process`: an object torn down at
    exit would say so, and does not."""
    script = textwrap.dedent(
        """
        import sys
        from licenzy_sync.cli import main

        class Witness:
            def __del__(self):
                print("torn down", file=sys.stderr, flush=True)

        kept = Witness()
        sys.argv = ["licenzy-sync", *sys.argv[1:]]
        main()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )
    assert "torn down" not in done.stderr
    if args == ["--help"]:
        assert done.returncode == 0
        assert done.stdout.startswith("Usage: licenzy-sync")
    else:
        assert done.returncode != 0
        assert "no-such-file.yaml" in done.stderr + done.stdout


THRESHOLD_PROGRAM = """
import atexit, gc, sys
atexit.register(lambda: print("young threshold", gc.get_threshold()[0]))
sys.argv = ["licenzy-sync", "--help"]
if {as_program}:
    from licenzy_sync.program import run
    run()
from licenzy_sync.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
"""


@pytest.mark.parametrize("as_program", [True, False])
def test_only_the_program_collects_cycles_less_often(as_program: bool) -> None:
    """Start-up's objects all live on; `main` called as a function keeps Python's setting."""
    import gc

    from licenzy_sync.program import YOUNG_THRESHOLD

    done = subprocess.run(
        [sys.executable, "-c", THRESHOLD_PROGRAM.format(as_program=as_program)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    expected = YOUNG_THRESHOLD if as_program else gc.get_threshold()[0]
    assert done.stdout.splitlines()[-1] == f"young threshold {expected}", done.stderr
    assert gc.get_threshold()[0] < YOUNG_THRESHOLD


def test_the_console_script_and_python_m_start_the_program() -> None:
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="licenzy-sync")
    assert script.value == "licenzy_sync.program:run"
    main_module = Path(__file__).resolve().parents[1] / "src" / "licenzy_sync" / "__main__.py"
    assert "from licenzy_sync.program import run" in main_module.read_text()
