"""The steps every online command shares: load, check offline, resolve, read, plan."""

from __future__ import annotations

from pathlib import Path

from licenzy_sync.config.load import LoadedConfig, load_config
from licenzy_sync.errors import ConfigInvalid
from licenzy_sync.keys import Mode
from licenzy_sync.output import Console
from licenzy_sync.plan.model import Plan
from licenzy_sync.rules.static import static_findings
from licenzy_sync.runtime import Run, prepare, select_modes


def referenced_prices(loaded: LoadedConfig, modes: list[Mode]) -> dict[Mode, set[str]]:
    wanted: dict[Mode, set[str]] = {mode: set() for mode in modes}
    for product in loaded.config.products.values():
        for mode in modes:
            price_id = product.price.get(mode)
            if price_id:
                wanted[mode].add(price_id)
    return wanted


def make_plan(
    config_path: Path, requested_mode: str, *, sandbox: bool, prune: bool, console: Console
) -> tuple[Plan, Run]:
    """Refuses (ConfigInvalid, exit 3) before any request when the file has errors."""
    from licenzy_sync.plan.planner import build_plan
    from licenzy_sync.providers.read import read_remote

    loaded = load_config(config_path)
    static = static_findings(loaded)
    if any(finding.is_error for finding in static):
        raise ConfigInvalid(static)
    modes = select_modes(loaded, requested_mode)
    run = prepare(loaded, modes, sandbox=sandbox)
    state = read_remote(run.targets, referenced_prices(loaded, modes), run.transports, modes=modes)
    for system, count in sorted(state.requests.items()):
        console.debug(f"requests: {system}: {count}")
    plan = build_plan(loaded, state, run.targets, modes=modes, prune=prune, static=static)
    return plan, run
