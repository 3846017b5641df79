"""The steps every online command shares: load, check offline, resolve, read, plan."""

from __future__ import annotations

import importlib
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from licenzy_sync.collector import collector_paused
from licenzy_sync.config.load import LoadedConfig, load_config
from licenzy_sync.config.models import PriceDeclaration
from licenzy_sync.errors import EXIT_INVALID, ConfigInvalid, LicenzySyncError
from licenzy_sync.findings import Finding, sort_key
from licenzy_sync.keys import Mode
from licenzy_sync.output import Console
from licenzy_sync.parse_ahead import meanwhile
from licenzy_sync.plan.model import Plan
from licenzy_sync.rules.static import static_findings
from licenzy_sync.runtime import Emulators, Run, prepare, select_modes

if TYPE_CHECKING:
    from licenzy_sync.providers.retry import Channels
    from licenzy_sync.stripe_permissions import Resource


class PlanRefused(LicenzySyncError):
    """A saved plan that must not be executed: stale, or carrying rule violations."""

    exit_code = EXIT_INVALID


def referenced_prices(loaded: LoadedConfig, modes: list[Mode]) -> dict[Mode, set[str]]:
    wanted: dict[Mode, set[str]] = {mode: set() for mode in modes}
    for product in loaded.config.products.values():
        for mode in modes:
            price_id = product.price.get(mode)
            if price_id:
                wanted[mode].add(price_id)
    return wanted


def declared_prices(
    loaded: LoadedConfig, modes: list[Mode]
) -> dict[Mode, dict[str, PriceDeclaration]]:
    """Per mode, the declared prices that exist in it, by lookup key: their identity."""
    config = loaded.config
    in_file = config.modes.declared()
    wanted: dict[Mode, dict[str, PriceDeclaration]] = {mode: {} for mode in modes}
    for code, declared in config.declared_prices.items():
        for mode in declared.in_modes(in_file):
            if mode in wanted:
                wanted[mode][declared.lookup_key_for(config.project, code)] = declared
    return wanted


def load_checked(config_path: Path) -> tuple[LoadedConfig, list[Finding]]:
    """The config and its static findings; refuses (ConfigInvalid, exit 3) when it has errors,
    so no request is ever made for a broken file. While a large file is parsed in a child
    process (`parse_ahead`), this one imports what reads and plans meanwhile."""
    meanwhile(_prepare_reading)
    with collector_paused():
        loaded = load_config(config_path)
        static = static_findings(loaded)
    if any(finding.is_error for finding in static):
        raise ConfigInvalid(static)
    return loaded, static


PLANNING_MODULES = ("licenzy_sync.plan.permissions", "licenzy_sync.plan.planner")
"""What `plan_loaded` needs once the reads are done (the kinds, the planner): imported while
they are under way, not in front of the first request."""
READING_MODULES = (
    *PLANNING_MODULES,
    "licenzy_sync.providers.read",
    "licenzy_sync.providers.stripe_http",
    "licenzy_sync.providers.sockets",
)
"""What `plan_loaded` imports in all: the above, the readers, the stripe SDK and httpx with
httpcore (each reader thread would otherwise import the SDK before its first request)."""


def _import(modules: tuple[str, ...]) -> None:
    for module in modules:
        importlib.import_module(module)


def _prepare_reading() -> None:
    """READING_MODULES, and the stripe SDK's client class, which the SDK imports only when
    it is first named."""
    _import(READING_MODULES)
    from licenzy_sync.providers.stripe_client import sdk_client

    sdk_client()


def plan_loaded(
    loaded: LoadedConfig,
    static: list[Finding],
    requested_mode: str,
    *,
    sandbox: Emulators | None,
    prune: bool,
    console: Console,
    channels: Channels | None = None,
    fingerprint: bool = False,
) -> tuple[Plan, Run]:
    """Resolve, read and plan a config that ``load_checked`` accepted. ``fingerprint``: for
    a plan that will record every object's fingerprint (a JSON plan, a staleness check),
    compute them while the reads go on."""
    from licenzy_sync.providers.read import read_remote
    from licenzy_sync.providers.retry import Channels

    modes = select_modes(loaded, requested_mode)
    run = prepare(loaded, modes, sandbox=sandbox)
    if sandbox is not None:
        sandbox.require_ready(loaded, modes)
    with collector_paused():
        state = read_remote(
            run.targets,
            referenced_prices(loaded, modes),
            run.transports,
            modes=modes,
            channels=channels,
            declared=declared_prices(loaded, modes),
            fingerprint=fingerprint,
            meanwhile=partial(_import, PLANNING_MODULES),
        )
        from licenzy_sync.plan.permissions import write_access_findings
        from licenzy_sync.plan.planner import build_plan

        for system, count in sorted(state.requests.items()):
            console.debug(f"requests: {system}: {count}")
        plan = build_plan(
            loaded, state, run.targets, modes=modes, prune=prune, static=static, secrets=run.secrets
        )
        probe = partial(_may_write, run, channels or Channels())
        missing = write_access_findings(loaded, plan, state, probe)
    plan.findings = sorted([*plan.findings, *missing], key=sort_key)
    return plan, run


def _may_write(run: Run, channels: Channels, mode: Mode, resource: Resource) -> bool:
    from licenzy_sync.providers.stripe_reader import StripeReader

    return StripeReader(run.targets.stripe[mode], channels, run.transports).may_write(resource)


def make_plan(
    config_path: Path,
    requested_mode: str,
    *,
    sandbox: Emulators | None,
    prune: bool,
    console: Console,
    channels: Channels | None = None,
    fingerprint: bool = False,
) -> tuple[Plan, Run]:
    """Refuses (ConfigInvalid, exit 3) before any request when the file has errors."""
    loaded, static = load_checked(config_path)
    return plan_loaded(
        loaded,
        static,
        requested_mode,
        sandbox=sandbox,
        prune=prune,
        console=console,
        channels=channels,
        fingerprint=fingerprint,
    )


def mode_of(plan: Plan) -> str:
    """The --mode that reproduces a plan's scope."""
    return plan.modes[0] if len(plan.modes) == 1 else "all"


def check_saved_plan(
    saved: Plan,
    source: str,
    config_path: Path | None,
    *,
    sandbox: Emulators | None,
    console: Console,
    channels: Channels | None = None,
) -> tuple[Plan, Run]:
    """``saved`` (read from ``source``), once every remote object it read is shown unchanged.

    The objects are read again and fingerprinted exactly as the plan did; any difference
    (changed, created or deleted since) refuses the plan and names the object. Every secret the
    plan will write must still hold the value it was planned with (``plan.bindings``). A
    targeted plan is checked for the objects its targets read, as it was planned.
    """
    from licenzy_sync.plan.targeting import narrow
    from licenzy_sync.render.blocking import nothing_written

    if saved.has_errors:
        raise PlanRefused(
            f"{source}: the plan has rule violations ({nothing_written(saved).rstrip('.')}); "
            "fix them and plan again"
        )
    config = config_path or Path(saved.config_file)
    fresh, run = make_plan(
        config,
        mode_of(saved),
        sandbox=sandbox,
        prune=True,
        console=console,
        channels=channels,
        fingerprint=True,
    )
    fresh = narrow(fresh, saved.targets)
    if fresh.project != saved.project:
        raise PlanRefused(
            f"{source} was made for project {saved.project}, {config} names {fresh.project}"
        )
    moved = [
        address
        for address, fingerprint in saved.fingerprints.items()
        if fresh.fingerprints.get(address, "absent") != fingerprint
    ]
    if moved:
        listing = "\n".join(f"  {address}" for address in moved)
        raise PlanRefused(
            f"{source} is stale: {len(moved)} object(s) changed since it was made:\n"
            f"{listing}\nRun plan again and review the new plan."
        )
    _check_bindings(saved, source)
    return _with_write_check_of(saved, fresh), run


def _with_write_check_of(saved: Plan, fresh: Plan) -> Plan:
    """``saved`` with the write-permission findings (LZ140) of ``fresh``: they describe the key
    that will write, so a plan made with a read-only key applies with one that may write."""
    from dataclasses import replace

    from licenzy_sync.rules.catalog import WRITE_PERMISSION_MISSING

    def is_write_check(finding: Finding) -> bool:
        return finding.rule_id == WRITE_PERMISSION_MISSING.id

    kept = [f for f in saved.findings if not is_write_check(f)]
    return replace(saved, findings=kept + [f for f in fresh.findings if is_write_check(f)])


def _check_bindings(saved: Plan, source: str) -> None:
    """Refuse (exit 3) when a secret the plan writes is not the value that was reviewed; the
    message names the variable, never the value."""
    from licenzy_sync.plan.bindings import unbound_variables

    problems = unbound_variables(saved.changes, saved.secret_bindings)
    if problems:
        listing = "\n".join(f"  ${{{name}}}: {problem}" for name, problem in problems)
        raise PlanRefused(
            f"{source} would write {len(problems)} secret(s) other than the one(s) planned:\n"
            f"{listing}\nRun plan again with the intended value and review the new plan."
        )
