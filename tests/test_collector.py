"""The cycle collector is paused inside `collector_paused` and left as it was found."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from licenzy_sync import collector
from licenzy_sync.collector import collector_paused


@pytest.fixture(autouse=True)
def restore_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    (gc.enable if enabled else gc.disable)()


def test_an_enabled_collector_is_off_inside_and_on_after_even_on_error() -> None:
    gc.enable()
    with pytest.raises(KeyError), collector_paused():
        assert not gc.isenabled()
        raise KeyError("x")
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_nested_pauses_end_with_the_outer_one() -> None:
    gc.enable()
    with collector_paused():
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_what_a_pause_built_is_left_out_of_later_collections() -> None:
    """Frozen: the first collections after a large step do not walk all it built again."""
    gc.enable()
    with collector_paused():
        built = [[index] for index in range(3)]
    tracked = gc.get_objects()
    assert not any(item is built or any(item is inner for inner in built) for item in tracked)


def test_a_paused_load_leaves_no_yaml_node_in_a_cycle() -> None:
    """Nodes in a reference cycle would be frozen with the load and never freed."""
    import yaml

    from licenzy_sync.yamlsource import load_yaml

    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        with collector_paused():
            load_yaml("a: 1\nb: true\nc: [2.5, null]\nd: text\n", "licenzy.yaml")
        gc.collect()
        assert not [item for item in gc.garbage if isinstance(item, yaml.Node)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


class Connection:
    """In a reference cycle with its pool, as a connection nobody closed."""

    def __init__(self) -> None:
        self.pool: list[Connection] = [self]


def _left_by_a_pause() -> weakref.ref[Connection]:
    gc.enable()
    with collector_paused():
        return weakref.ref(Connection())


def test_a_cycle_a_pause_left_behind_is_still_freed() -> None:
    """A connection in a reference cycle (nobody closed it) holds its socket until a
    collection frees it: a process running many commands would run out of descriptors."""
    assert _left_by_a_pause()() is None


def test_a_process_ending_with_its_command_leaves_a_pause_s_cycles_to_its_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Freeing them walks everything the step built; the exit frees them anyway."""
    monkeypatch.setattr(collector._Process, "collect_on_resume", True)
    collector.one_command_per_process()
    assert _left_by_a_pause()() is not None


PROGRAM = """
import atexit, gc, sys, weakref
from licenzy_sync.cli import main
from licenzy_sync.collector import collector_paused
class Connection:
    def __init__(self):
        self.pool = [self]
def after_the_command():  # the program's `main()` ends the process: its exit functions run
    with collector_paused():
        kept = weakref.ref(Connection())
    print("kept" if kept() is not None else "freed", flush=True)
atexit.register(after_the_command)
sys.argv = ["licenzy-sync", "validate", "-c", sys.argv[1]]
try:
    main() if {as_program} else main(sys.argv[1:])
except SystemExit:
    pass
"""


@pytest.mark.parametrize(("as_program", "expected"), [(True, "kept"), (False, "freed")])
def test_only_the_program_itself_skips_freeing_cycles(as_program: bool, expected: str) -> None:
    """The console script calls `main()`; tests and embeddings call `main(args)` and may run
    many commands in one process."""
    example = Path(__file__).resolve().parent.parent / "licenzy.yaml.example"
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(as_program=as_program), str(example)],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert done.stdout.strip().splitlines()[-1] == expected, done.stderr
