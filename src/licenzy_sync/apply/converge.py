"""The converge loop of `apply`: write the plan, plan again, and repeat while only approved
changes remain (another writer raced us).

A targeted plan (`plan.targeting`) is planned again with the same targets, so the loop and
its final check cover only what was targeted.

It asks nothing and prints only progress on stderr: showing the plan, asking for approval and
reporting the outcome belong to the command, so the loop can be driven (and tested) without a
terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from licenzy_sync.output import Console

if TYPE_CHECKING:
    from collections.abc import Sequence

    from licenzy_sync.apply.interrupts import StopRequest
    from licenzy_sync.plan.model import Plan
    from licenzy_sync.providers.retry import Channels
    from licenzy_sync.runtime import Emulators, Run

ROUNDS = 5
"""Plan-execute rounds when reality moves during an apply (another writer racing us); a saved
plan is executed exactly once."""


@dataclass(frozen=True)
class Session:
    """What every round of one project's apply shares: the file it plans again from, where the
    requests go, whether to prune, the rate limits and the console."""

    config: Path
    sandbox: Emulators | None
    prune: bool
    channels: Channels
    console: Console

    def replan(self, mode: str, targets: Sequence[str] = ()) -> tuple[Plan, Run]:
        from licenzy_sync.plan.targeting import narrow
        from licenzy_sync.workflow import make_plan

        plan, run = make_plan(
            self.config,
            mode,
            sandbox=self.sandbox,
            prune=self.prune,
            console=self.console,
            channels=self.channels,
        )
        return narrow(plan, targets), run


def converge(
    plan: Plan, run: Run, session: Session, *, rounds: int, stop: StopRequest
) -> tuple[Plan, int]:
    """Execute ``plan``, then plan again; while only approved changes remain, up to ``rounds``
    times. Returns the last fresh plan (its changes are what did not converge) and the writes
    made; raises `ApplyStopped` (what was written, what was not) when a phase fails or
    ``stop`` is set, and `Raced` when the last round still met another writer."""
    from licenzy_sync.apply.executor import Executor, Raced
    from licenzy_sync.apply.landing import ApplyStopped, Landing
    from licenzy_sync.workflow import mode_of

    approved = {resource.address for resource in plan.changes}
    scope, targets = mode_of(plan), tuple(plan.targets)
    landing = Landing()
    console = session.console
    round_number = 1
    while True:
        executor = Executor(plan, run, session.channels, console, landing=landing, stop=stop)
        try:
            executor.execute()
        except Raced as raced:
            if round_number == rounds:
                raise
            console.err(f"{raced}; planning again")
        plan, run = session.replan(scope, targets)
        remaining = {resource.address for resource in plan.changes}
        if remaining and stop.requested:
            landing.not_tried = plan.changes
            raise ApplyStopped(landing, signal=stop.signal)
        done = not remaining or not remaining <= approved or round_number == rounds
        if done or plan.blocks_apply:
            return plan, len(landing.written)
        round_number += 1
        console.err(
            "reality moved during apply (another writer?); planning again "
            f"(round {round_number}/{rounds})"
        )
