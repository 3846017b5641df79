"""Several licenzy.yaml files, one per Licenzy project, in one run of a command.

Expanding globs, refusing two files for one project, bounding concurrency and combining exit
codes live here so they mean the same for every command. One project's failure (a bad token, an
invalid file) is kept as its outcome instead of ending the run, so the others' plans are still
shown; the exit code then says the worst that happened.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from licenzy_sync.errors import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_OK,
    LicenzySyncError,
)
from licenzy_sync.output import Console

if TYPE_CHECKING:
    from licenzy_sync.plan.model import Plan
    from licenzy_sync.providers.retry import Channels
    from licenzy_sync.runtime import Emulators, Run

MAX_PARALLEL_PROJECTS = 4
"""Projects read at once. Each project's reads are already concurrent inside and every project
shares one set of rate limiters, so more threads would only queue behind them."""

_GLOB = re.compile(r"[*?[]")

A = TypeVar("A")
T = TypeVar("T")


class DuplicateProject(LicenzySyncError):
    """Two files for one project would plan (and apply) the same objects twice, each undoing
    the other; refused before anything is written."""


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What one config file produced: a result, or the error that stopped it."""

    config: Path
    result: T | None = None
    error: LicenzySyncError | None = None
    project: str | None = None
    """The project id once resolved, else the file's `project` as written, else unknown."""


def expand_configs(values: Sequence[Path]) -> list[Path]:
    """The -c values as files: patterns expanded (sorted), each file once, in the order given.

    Patterns are expanded here, not by the shell, because `-c licenzy/*.yaml` unquoted would
    become one -c and several stray arguments; a pattern matching nothing is an error, never
    an empty (and so "all clear") run. An existing file is taken as named even when its name
    looks like a pattern.
    """
    found: list[Path] = []
    for value in values:
        text = str(value)
        if not _GLOB.search(text) or value.exists():
            found.append(value)
            continue
        matches = [Path(m) for m in sorted(glob.glob(text, recursive=True)) if not Path(m).is_dir()]
        if not matches:
            raise LicenzySyncError(f"-c {text}: no file matches this pattern")
        found += matches
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def combine(codes: Iterable[int]) -> int:
    """One exit code for several projects: an error beats rule violations beats changes."""
    seen = set(codes)
    return next(
        (code for code in (EXIT_ERROR, EXIT_INVALID, EXIT_CHANGES) if code in seen), EXIT_OK
    )


def exit_code(outcome: Outcome[T], code_of: Callable[[T], int]) -> int:
    """What the single-project command would have exited with for this file."""
    if outcome.error is not None:
        return outcome.error.exit_code
    assert outcome.result is not None
    return code_of(outcome.result)


def then(outcomes: Sequence[Outcome[A]], work: Callable[[A], T]) -> list[Outcome[T]]:
    """``work`` on every result, at most MAX_PARALLEL_PROJECTS at once, in the given order;
    failures pass through, and a LicenzySyncError becomes the outcome of that file only. A
    single file is worked on in the calling thread, as a run of one file always was."""

    def attempt(outcome: Outcome[A]) -> Outcome[T]:
        if outcome.result is None:
            return Outcome(outcome.config, error=outcome.error, project=outcome.project)
        try:
            return Outcome(outcome.config, work(outcome.result), project=outcome.project)
        except LicenzySyncError as error:
            return Outcome(outcome.config, error=error, project=outcome.project)

    if len(outcomes) == 1:
        return [attempt(outcomes[0])]
    from concurrent.futures import ThreadPoolExecutor

    workers = min(MAX_PARALLEL_PROJECTS, len(outcomes))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(attempt, outcomes))


def alone(outcomes: Sequence[Outcome[T]]) -> T | None:
    """The result of a run of one file, which is shown in its own form (not the `projects`
    form of several); None for several files."""
    if len(outcomes) == 1 and outcomes[0].result is not None:
        return outcomes[0].result
    return None


def raise_alone(outcomes: Sequence[Outcome[T]]) -> None:
    """With one file, its failure is the command's, raised to be reported as any error is;
    with several, each failure stays the outcome of its file and the others go on."""
    if len(outcomes) == 1 and outcomes[0].error is not None:
        raise outcomes[0].error


def refuse_duplicates(outcomes: Iterable[Outcome[T]]) -> None:
    """Two files naming one project (by id, or by name and id once resolved) stop the run."""
    seen: dict[str, Path] = {}
    for outcome in outcomes:
        if outcome.project is None or outcome.error is not None:
            continue
        first = seen.setdefault(outcome.project, outcome.config)
        if first != outcome.config:
            raise DuplicateProject(
                f"{first} and {outcome.config} both manage Licenzy project {outcome.project}; "
                "keep one file per project"
            )


def plan_projects(
    configs: Sequence[Path],
    requested_mode: str,
    *,
    sandbox: Emulators | None,
    prune: bool,
    console: Console,
    channels: Channels,
    fingerprint: bool = False,
) -> list[Outcome[tuple[Plan, Run]]]:
    """Every config planned exactly as `plan` plans one, concurrently, through one ``channels``
    (so several projects on one Stripe account stay within its rate limit together);
    ``fingerprint`` as `plan_loaded` takes it.

    Duplicates are refused twice: by the `project` as written before any request, and by the
    resolved id before anything is shown or written.
    """
    from licenzy_sync.workflow import load_checked, plan_loaded

    loaded = [
        replace(outcome, project=outcome.result[0].config.project)
        if outcome.result is not None
        else outcome
        for outcome in then([Outcome(path, path) for path in configs], load_checked)
    ]
    refuse_duplicates(loaded)
    planned = then(
        loaded,
        lambda config: plan_loaded(
            *config,
            requested_mode,
            sandbox=sandbox,
            prune=prune,
            console=console,
            channels=channels,
            fingerprint=fingerprint,
        ),
    )
    resolved = [
        replace(outcome, project=outcome.result[0].project)
        if outcome.result is not None
        else outcome
        for outcome in planned
    ]
    refuse_duplicates(resolved)
    return resolved


def plans(
    config_paths: Sequence[Path],
    requested_mode: str,
    *,
    sandbox: Emulators | None,
    prune: bool,
    console: Console,
    fingerprint: bool = False,
) -> list[Outcome[Plan]]:
    """The -c values planned, as `plan` and `drift` show them; with one file, its failure is
    raised (`raise_alone`). ``fingerprint`` as `plan_loaded` takes it."""
    from licenzy_sync.providers.retry import Channels

    planned = plan_projects(
        expand_configs(config_paths),
        requested_mode,
        sandbox=sandbox,
        prune=prune,
        console=console,
        channels=Channels(),
        fingerprint=fingerprint,
    )
    outcomes = results(planned)
    raise_alone(outcomes)
    return outcomes


def results(outcomes: Iterable[Outcome[tuple[A, T]]]) -> list[Outcome[A]]:
    """The first part of each result (the plan of a (plan, run) pair), failures kept."""
    return [
        Outcome(o.config, None if o.result is None else o.result[0], o.error, o.project)
        for o in outcomes
    ]
