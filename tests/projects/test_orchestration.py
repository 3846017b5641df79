"""The pieces every command shares for several projects: -c expansion, bounded concurrency,
failures kept per project, and the exit code rule."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from licenzy_sync.errors import ConfigInvalid, LicenzySyncError
from licenzy_sync.projects import MAX_PARALLEL_PROJECTS, Outcome, combine, expand_configs, then


def test_patterns_expand_sorted_files_only_in_the_order_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("b.yaml", "a.yaml", "sub/c.yaml", "sub/d.yaml/x"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert expand_configs([Path("sub/*.yaml"), Path("*.yaml")]) == [
        Path("sub/c.yaml"),
        Path("a.yaml"),
        Path("b.yaml"),
    ]
    assert expand_configs([Path("**/c.yaml")]) == [Path("sub/c.yaml")]
    assert expand_configs([Path("a.yaml"), Path("./a.yaml"), Path("*.yaml")]) == [
        Path("a.yaml"),
        Path("b.yaml"),
    ]


def test_a_file_whose_name_looks_like_a_pattern_is_taken_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("[prod].yaml").write_text("")
    assert expand_configs([Path("[prod].yaml")]) == [Path("[prod].yaml")]
    assert expand_configs([Path("missing.yaml")]) == [Path("missing.yaml")]
    with pytest.raises(LicenzySyncError, match=r"-c \[stage\]\.yaml: no file matches"):
        expand_configs([Path("[stage].yaml")])


def test_projects_run_concurrently_and_at_most_four_at_once() -> None:
    lock = threading.Lock()
    active = peak = 0
    first_batch = threading.Barrier(MAX_PARALLEL_PROJECTS, timeout=10)

    def work(number: int) -> int:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        if number < MAX_PARALLEL_PROJECTS:
            first_batch.wait()  # breaks (and fails the test) unless all four run together
        time.sleep(0.02)
        with lock:
            active -= 1
        if number == 5:
            raise ConfigInvalid([])
        return number * 10

    outcomes = then([Outcome(Path(f"{n}.yaml"), n, project=f"p{n}") for n in range(9)], work)
    assert MAX_PARALLEL_PROJECTS == 4
    assert peak == MAX_PARALLEL_PROJECTS
    assert [o.result for o in outcomes] == [0, 10, 20, 30, 40, None, 60, 70, 80]
    failed = outcomes[5]
    assert isinstance(failed.error, ConfigInvalid)
    assert (failed.config, failed.project) == (Path("5.yaml"), "p5")
    assert then([failed], work) == [Outcome(Path("5.yaml"), error=failed.error, project="p5")]


@pytest.mark.parametrize(
    ("codes", "combined"),
    [([0, 2, 3, 1], 1), ([2, 3, 0], 3), ([0, 2], 2), ([0, 0], 0)],
)
def test_exit_codes_combine_error_then_violation_then_changes(
    codes: list[int], combined: int
) -> None:
    assert combine(codes) == combined
