"""Carry out a Plan, in the order that keeps the setup usable at every step.

Each change is written by the unit of its kind (`kinds`), in the order of the phases the units
declare. The webhook's phases go first, one write at a time: the Stripe endpoint (it produces
the signing secret), then the secret into Licenzy and, once Licenzy holds it, its last four
characters onto the endpoint. The later phases run as per-object chains: the changes of one
object (a declared product's Stripe price, Licenzy product and default price share its code)
run in phase order, and chains run concurrently, so one code's Licenzy write overlaps another
code's Stripe writes and the rate limiters, not phase barriers, bound the run. Archives run
last, after every chain. Values a write produces (`kinds.base.Output`) are kept for the writes
that take them; a change that takes another object's value joins that object's chain. A
failure ends the run: no new write starts; a stop request (SIGINT, SIGTERM) does the same.
Either way the writes in flight finish and `ApplyStopped` says what landed; a re-run (with a
fresh plan) converges from there. Secrets created here live only in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from itertools import zip_longest
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

__all__ = ["Executor", "Raced", "chains", "phase"]

PARALLEL_FROM = 2
"""The first phase whose writes run in concurrent per-object chains (the webhook's two halves
go one by one), as many chains at once as keep Licenzy's pace (`Channels.workers`)."""
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


def chains(steps: Sequence[ResourceChange]) -> list[list[ResourceChange]]:
    """``steps`` grouped by object, each group in the order of ``steps``: the changes of one
    mode and name (a declared product's price, product and default price), joined with the
    group of any other change whose produced value they take (`Kind.inputs`). The groups take
    turns by mode, so a worker pool drains both modes' rate limits at once."""
    group: dict[tuple[str, str], tuple[str, str]] = {}

    def root(key: tuple[str, str]) -> tuple[str, str]:
        while group.setdefault(key, key) != key:
            key = group[key]
        return key

    present = {step.at: (step.mode, step.name) for step in steps}
    for step in steps:
        for output in _unit(step).inputs(step):
            if output.of in present:
                group[root(present[output.of])] = root((step.mode, step.name))
    grouped: dict[tuple[str, str], list[ResourceChange]] = {}
    for step in steps:
        grouped.setdefault(root((step.mode, step.name)), []).append(step)
    by_mode: dict[str, list[list[ResourceChange]]] = {}
    for chain in grouped.values():
        by_mode.setdefault(chain[0].mode, []).append(chain)
    turns = zip_longest(*by_mode.values())
    return [chain for turn in turns for chain in turn if chain is not None]


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
        self._seen: set[int] = set()
        """The steps handed to `_step` (by id): after a failure the others are not tried."""
        self._failures: list[tuple[ResourceChange, Exception]] = []

    def execute(self) -> None:
        """Every step of the plan: the webhook's phases, the chains, the archives; raises
        `ApplyStopped` when it ends early."""
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
            serial = [step for step in self.steps if phase(step) < PARALLEL_FROM]
            later = [step for step in self.steps if phase(step) >= PARALLEL_FROM]
            archives = [step for step in later if step.action == "archive"]
            for number in sorted({phase(step) for step in serial}):
                self._run([[step] for step in serial if phase(step) == number], 1)
            workers = self._channels.workers("licenzy")
            self._run(chains([step for step in later if step.action != "archive"]), workers)
            self._run([[step] for step in archives], workers)
        if self._stop.requested:
            raise ApplyStopped(self.landing, signal=self._stop.signal)

    def _run(self, work: list[list[ResourceChange]], workers: int) -> None:
        """Each chain's steps in order, up to ``workers`` chains at once; after a failure
        no step starts, and the run ends once the steps in flight have."""
        with ThreadPoolExecutor(max_workers=workers) as pool:
            self._wait([pool.submit(self._chain, chain) for chain in work])
        if not self._failures:
            return
        order = {id(step): index for index, step in enumerate(self.steps)}
        failed = sorted(self._failures, key=lambda failure: order[id(failure[0])])
        for _, error in failed:
            if not isinstance(error, LicenzySyncError):
                raise error
        if all(isinstance(error, Raced) for _, error in failed):
            raise failed[0][1]
        self.landing.failed = [(r, e) for r, e in failed if isinstance(e, LicenzySyncError)]
        self.landing.not_tried.extend(s for s in self.steps if id(s) not in self._seen)
        raise ApplyStopped(self.landing, signal=self._stop.signal)

    def _chain(self, chain: list[ResourceChange]) -> None:
        for resource in chain:
            if self._failures:
                return
            try:
                self._step(resource)
            except Exception as error:  # reported by `_run`, once the writes in flight end
                with self._lock:
                    self._failures.append((resource, error))
                return

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
        with self._lock:
            self._seen.add(id(resource))
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
        """A write that takes a secret this run produced is finished even after a stop
        request: the secret exists only in memory (the signing secret of an endpoint this run
        created: an endpoint whose secret Licenzy lacks delivers events Licenzy rejects). Ids,
        a new price's included, are found again by the next run's reads."""
        return any(isinstance(self.produced(o), Secret) for o in unit.inputs(resource))

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
