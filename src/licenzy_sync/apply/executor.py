"""Carry out a Plan, in the order that keeps the setup usable at every step.

Each change is written by the unit of its kind (`kinds`), in the phases the units declare:
the Stripe endpoint first (it produces the signing secret), then the secret into Licenzy and,
once Licenzy holds it, its last four characters onto the endpoint; then product creates and
updates, archives last. Values a write produces (`kinds.base.Output`) are kept for the
writes that take them. A phase with failures ends the run before the next phase; a stop
request (SIGINT, SIGTERM) ends it before the next write. Either way the writes in flight
finish and `ApplyStopped` says what landed; a re-run (with a fresh plan) converges from there.
Secrets created here live only in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from typing import Any

from licenzy_sync.apply.idempotency import plan_write_key
from licenzy_sync.apply.interrupts import StopRequest
from licenzy_sync.apply.landing import ApplyStopped, Landing
from licenzy_sync.config.secrets import Secret
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.keys import Mode
from licenzy_sync.kinds.base import Kind, LicenzyWrites, Output, Raced, StripeWrites
from licenzy_sync.kinds.registry import unit_of
from licenzy_sync.output import Console
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.model import Plan, ResourceChange
from licenzy_sync.providers.licenzy_client import LicenzyClient, ProductNotFound
from licenzy_sync.providers.retry import Channels
from licenzy_sync.providers.stripe_reader import StripeApiError
from licenzy_sync.providers.stripe_writer import StripeWriter
from licenzy_sync.render.text import SYMBOLS
from licenzy_sync.runtime import Run

__all__ = ["Executor", "Raced", "phase"]

PARALLEL_FROM = 2
"""The first phase whose writes run concurrently (the webhook's two halves go one by one), as
many at once as keep Licenzy's pace (`Channels.workers`)."""
POLL_SECONDS = 0.2
"""How often the waiting thread looks for a stop request to announce."""


def _unit(resource: ResourceChange) -> Kind:
    unit = unit_of(resource)
    if unit is None:
        raise LicenzySyncError(
            f"{resource.address}: licenzy-sync does not write objects of type {resource.type!r}"
        )
    return unit


def phase(resource: ResourceChange) -> int:
    return _unit(resource).phase(resource)


class Executor:
    """One apply round of ``plan``; also the `kinds.base.Writes` its units write through.

    ``licenzy`` and ``stripe`` stand in for the providers the run's targets open (tests give
    in-memory ones); Licenzy is opened only when a step writes to it: with `portal: none` a
    plan holds Stripe steps only."""

    def __init__(
        self,
        plan: Plan,
        run: Run,
        channels: Channels,
        console: Console,
        *,
        landing: Landing | None = None,
        stop: StopRequest | None = None,
        licenzy: LicenzyWrites | None = None,
        stripe: Mapping[Mode, StripeWrites] | None = None,
    ) -> None:
        self._plan = plan
        self.run = run
        self.console = console
        self.landing = Landing() if landing is None else landing
        """Shared by the rounds of one apply, so it tells everything they wrote."""
        self.steps = sorted(plan.changes, key=lambda r: (phase(r), r.mode != "test", r.address))
        self._stop = StopRequest() if stop is None else stop
        self._channels = channels
        self._licenzy = licenzy
        self._writers: dict[Mode, StripeWrites] = dict(stripe or {})
        self._outputs: dict[Output, Any] = {}
        """What the writes of this run produced, for the writes that take it."""
        self._done = 0
        self._lock = threading.Lock()

    def execute(self) -> None:
        """Every step of the plan, phase by phase; raises `ApplyStopped` when it ends early."""
        with ExitStack() as stack:
            if self._licenzy is None and any(step.system == "licenzy" for step in self.steps):
                self._licenzy = stack.enter_context(
                    LicenzyClient(
                        self.run.targets.licenzy_url,
                        self.run.targets.portal(),
                        self._channels,
                        self.run.transports,
                    )
                )
            for number in sorted({phase(step) for step in self.steps}):
                batch = [step for step in self.steps if phase(step) == number]
                workers = self._channels.workers("licenzy") if number >= PARALLEL_FROM else 1
                self._run_batch(batch, workers, number)
        if self._stop.requested:
            raise ApplyStopped(self.landing, signal=self._stop.signal)

    def _run_batch(self, batch: list[ResourceChange], workers: int, number: int) -> None:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._step, resource) for resource in batch]
            self._wait(futures)
        failed = [
            (resource, error)
            for resource, future in zip(batch, futures, strict=True)
            if (error := future.exception()) is not None
        ]
        if not failed:
            return
        for _, error in failed:
            if not isinstance(error, LicenzySyncError):
                raise error
        if all(isinstance(error, Raced) for _, error in failed):
            raise failed[0][1]
        self.landing.failed = [(r, e) for r, e in failed if isinstance(e, LicenzySyncError)]
        self.landing.not_tried.extend(step for step in self.steps if phase(step) > number)
        raise ApplyStopped(self.landing, signal=self._stop.signal)

    def _wait(self, futures: Collection[Future[None]]) -> None:
        """Until every step has ended, saying once that a stop was asked for: the writes in
        flight may take a while to finish, and silence would invite a second Ctrl-C."""
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=POLL_SECONDS)
            if self._stop.announce_once():
                self.console.err(
                    f"{self._stop.signal} received: letting the writes in flight finish, "
                    "starting no new ones"
                )

    def _step(self, resource: ResourceChange) -> None:
        unit = _unit(resource)
        if self._stop.requested and not self._takes_produced(unit, resource):
            with self._lock:
                self.landing.not_tried.append(resource)
            return
        try:
            unit.apply(resource, self)
        except StripeApiError as error:
            if error.code != "resource_missing":
                raise
            raise Raced(f"{resource.address}: removed by someone else during apply") from None
        except ProductNotFound:
            raise Raced(f"{resource.address}: removed by someone else during apply") from None
        with self._lock:
            self._done += 1
            number = self._done
            self.landing.written.append(resource)
        self.console.err(
            f"[{number}/{len(self.steps)}] {SYMBOLS.get(resource.action, '')} "
            f"{resource.address}: {resource.action} done"
        )

    def _takes_produced(self, unit: Kind, resource: ResourceChange) -> bool:
        """A write that takes a value this run produced is finished even after a stop
        request: the value exists only in memory (the signing secret of an endpoint this run
        created: an endpoint whose secret Licenzy lacks delivers events Licenzy rejects)."""
        return any(self.produced(output) is not None for output in unit.inputs(resource))

    # `kinds.base.Writes`.

    @property
    def plan(self) -> Plan:
        return self._plan

    @property
    def secrets(self) -> Mapping[str, Secret]:
        return self.run.secrets

    @property
    def licenzy(self) -> LicenzyWrites:
        if self._licenzy is None:
            raise LicenzySyncError("this plan's Licenzy writes need `licenzy.portal: api`")
        return self._licenzy

    def stripe(self, mode: Mode) -> StripeWrites:
        with self._lock:
            if mode not in self._writers:
                self._writers[mode] = StripeWriter(
                    self.run.targets.stripe[mode], self._channels, self.run.transports
                )
            return self._writers[mode]

    def key(
        self, at: Address, step: str, payload: Any = None, observed: str | None = None
    ) -> str:
        return plan_write_key(self._plan, at, step, payload, observed)

    def produce(self, output: Output, value: Any) -> None:
        with self._lock:
            self._outputs[output] = value

    def produced(self, output: Output) -> Any | None:
        with self._lock:
            return self._outputs.get(output)
