"""What `apply` says as it writes, for one project or for several.

The command runs one path for any number of projects; only what it says differs, so it is
chosen here, once: one project reads as a run of that project always read (its failure is the
command's), several get a header each and a closing total (a failure is that project's only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from licenzy_sync.output import Console

if TYPE_CHECKING:
    from licenzy_sync.errors import LicenzySyncError
    from licenzy_sync.plan.model import Plan
    from licenzy_sync.projects import Outcome
    from licenzy_sync.providers.retry import Channels


class View(Protocol):
    def nothing_to_write(self) -> None:
        """No project has changes."""

    def starting(self, outcome: Outcome[Any]) -> None: ...

    def failed(self, error: LicenzySyncError) -> None: ...

    def remains(self, outcome: Outcome[Any], plan: Plan) -> None:
        """Changes remain after the last round (``plan`` is the fresh plan)."""

    def converged(self, outcome: Outcome[Any], plan: Plan, written: int) -> None: ...

    def done(self, written: int, projects: int) -> None:
        """Every project converged."""


def view_of(outcomes: Sequence[Outcome[Any]], channels: Channels, console: Console) -> View:
    if len(outcomes) == 1:
        return _One(outcomes[0], channels, console)
    return _Several(channels, console)


def _requests(channels: Channels) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(channels.counter.counts().items()))


def _scope(plan: Plan) -> str:
    """What the final check covered: a targeted apply checked only its targets."""
    if not plan.targets:
        return ""
    return f"checked at the targeted addresses only ({', '.join(plan.targets)}): "


class _One:
    def __init__(self, outcome: Outcome[Any], channels: Channels, console: Console) -> None:
        self._outcome = outcome
        self._channels = channels
        self._console = console

    def nothing_to_write(self) -> None:
        from licenzy_sync.plan.manual import manual_section

        assert self._outcome.result is not None
        for line in manual_section(self._outcome.result[0]):
            self._console.out(line)

    def starting(self, outcome: Outcome[Any]) -> None:
        """Nothing to announce: the plan shown above is this project's."""

    def failed(self, error: LicenzySyncError) -> None:
        raise error

    def remains(self, outcome: Outcome[Any], plan: Plan) -> None:
        from licenzy_sync.render.text import render_text

        self._console.out(render_text(plan, self._console.style).rstrip("\n"))
        self._console.err(
            f"apply did not converge: {len(plan.changes)} change(s) remain (shown above)"
        )

    def converged(self, outcome: Outcome[Any], plan: Plan, written: int) -> None:
        from licenzy_sync.plan.manual import manual_section

        steps = manual_section(plan)
        matched = "Stripe matches" if steps else "Stripe and Licenzy match"
        self._console.out(
            f"Apply complete: {written} change(s) written; {_scope(plan)}{matched} "
            f"{plan.config_file}. Requests: {_requests(self._channels)}."
        )
        for line in steps:
            self._console.out(line)

    def done(self, written: int, projects: int) -> None:
        """Already said by `converged`."""


class _Several:
    def __init__(self, channels: Channels, console: Console) -> None:
        self._channels = channels
        self._console = console
        self._targeted = False

    def nothing_to_write(self) -> None:
        """Each project's plan above already says so."""

    def starting(self, outcome: Outcome[Any]) -> None:
        from licenzy_sync.render.projects import header

        console = self._console
        console.err(console.style(header(outcome), "bold", stream_color=console.err_color))

    def failed(self, error: LicenzySyncError) -> None:
        from licenzy_sync.render.projects import failure_lines

        self._console.err("\n".join(failure_lines(error)))

    def remains(self, outcome: Outcome[Any], plan: Plan) -> None:
        from licenzy_sync.render.projects import header
        from licenzy_sync.render.text import render_text

        self._console.out(header(outcome))
        self._console.out(render_text(plan, self._console.style).rstrip("\n"))
        self._console.err(
            f"{outcome.config}: apply did not converge: {len(plan.changes)} change(s) remain "
            "(shown above)"
        )

    def converged(self, outcome: Outcome[Any], plan: Plan, written: int) -> None:
        from licenzy_sync.render.projects import header

        self._console.out(
            f"{header(outcome)} apply complete: {written} change(s) written; "
            f"{_scope(plan)}Stripe and Licenzy match {outcome.config}."
        )
        self._targeted = self._targeted or bool(plan.targets)

    def done(self, written: int, projects: int) -> None:
        scope = "at the targeted addresses " if self._targeted else ""
        self._console.out(
            f"Apply complete: {written} change(s) written in {projects} project(s); {scope}"
            f"Stripe and Licenzy match every file. Requests: {_requests(self._channels)}."
        )
