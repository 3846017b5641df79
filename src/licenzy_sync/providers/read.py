"""Reading everything a plan compares against: Licenzy and every Stripe mode, concurrently.

A run's wall time is that of its slowest system, not the sum: Licenzy (project, then every
mode's connection, catalog and API keys) and each Stripe mode (account, endpoints, prices)
are read at the same time, each through the run's shared rate limiters and counter.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from licenzy_sync.config.models import PriceDeclaration
from licenzy_sync.keys import Mode
from licenzy_sync.providers import ProviderError, parallel, raise_failures
from licenzy_sync.providers.licenzy_client import LicenzyClient, LicenzyProject
from licenzy_sync.providers.retry import Channels
from licenzy_sync.providers.stripe_reader import StripeReader
from licenzy_sync.state import LicenzyModeSnapshot, RemoteState, StripeSnapshot
from licenzy_sync.targets import Targets, Transports


def read_remote(
    targets: Targets,
    price_ids: dict[Mode, set[str]],
    transports: Transports,
    *,
    modes: list[Mode],
    channels: Channels | None = None,
    declared: Mapping[Mode, Mapping[str, PriceDeclaration]] | None = None,
) -> RemoteState:
    """Read Licenzy and Stripe for ``modes``; ``price_ids`` are the ids the config references.

    Referenced ids missing from their mode are looked up in the other mode when its key is
    configured: ``other_mode_prices[mode]`` then holds those found there (possibly none);
    a mode without that entry could not be checked. ``declared`` are the declared prices of
    each mode by lookup key. Pass ``channels`` to share rate limits
    and request counts with later writes; ``requests`` counts every attempt so far.
    """
    channels = channels or Channels()
    unconfigured = [mode for mode in modes if mode not in targets.stripe]
    if unconfigured:
        raise ProviderError(f"No Stripe key is configured for {unconfigured[0]} mode")
    if targets.portal_token is None:  # `portal: none`: Stripe only; Licenzy stays unread
        stripe, other_mode_prices = _read_stripe(
            targets, price_ids, transports, channels, modes, declared=declared or {}
        )
        project = LicenzyProject(targets.project, "")
        licenzy_modes: dict[Mode, LicenzyModeSnapshot] = {}
    else:
        with (
            LicenzyClient(targets.licenzy_url, targets.portal(), channels, transports) as licenzy,
            ThreadPoolExecutor(max_workers=2) as pool,
        ):
            licenzy_read = pool.submit(_read_licenzy, licenzy, targets.project, modes)
            stripe_read = pool.submit(
                _read_stripe,
                targets,
                price_ids,
                transports,
                channels,
                modes,
                declared=declared or {},
            )
        raise_failures([licenzy_read, stripe_read])
        project, licenzy_modes = licenzy_read.result()
        stripe, other_mode_prices = stripe_read.result()
    return RemoteState(
        project_id=project.id,
        project_name=project.name,
        stripe=stripe,
        licenzy=licenzy_modes,
        other_mode_prices=other_mode_prices,
        requests=channels.counter.counts(),
    )


def _read_licenzy(
    client: LicenzyClient, ref: str, modes: list[Mode]
) -> tuple[LicenzyProject, dict[Mode, LicenzyModeSnapshot]]:
    project = client.resolve_project(ref)
    return project, client.snapshot(project.id, modes)


def _read_stripe(
    targets: Targets,
    price_ids: Mapping[Mode, set[str]],
    transports: Transports,
    channels: Channels,
    modes: list[Mode],
    *,
    declared: Mapping[Mode, Mapping[str, PriceDeclaration]],
) -> tuple[dict[Mode, StripeSnapshot], dict[Mode, set[str]]]:
    """Every mode's snapshot at once, then the wrong-mode lookups they call for."""
    readers = {mode: StripeReader(targets.stripe[mode], channels, transports) for mode in modes}
    snapshots = parallel(
        [
            partial(readers[mode].snapshot, price_ids.get(mode, set()), declared.get(mode))
            for mode in modes
        ],
        workers=len(modes),
    )
    stripe = dict(zip(modes, snapshots, strict=True))
    checks = _other_mode_checks(stripe, price_ids, targets)
    for other, _, _ in checks.values():
        if other not in readers:
            readers[other] = StripeReader(targets.stripe[other], channels, transports)
    found = parallel(
        [partial(readers[other].prices, ids) for other, _, ids in checks.values()],
        workers=len(checks),
    )
    other_mode_prices = {
        mode: known | prices.keys()
        for (mode, (_, known, _)), prices in zip(checks.items(), found, strict=True)
    }
    return stripe, other_mode_prices


def _other_mode_checks(
    stripe: Mapping[Mode, StripeSnapshot], price_ids: Mapping[Mode, set[str]], targets: Targets
) -> dict[Mode, tuple[Mode, set[str], set[str]]]:
    """Per read mode with a configured other mode: (other mode, referenced ids already known
    to be there, ids still to look for there).

    What the other mode's own read settled is not asked again: an id it found is known to be
    there, an id it looked for and missed is known not to be.
    """
    checks: dict[Mode, tuple[Mode, set[str], set[str]]] = {}
    for mode, snapshot in stripe.items():
        other: Mode = "live" if mode == "test" else "test"
        if other not in targets.stripe:
            continue
        missing = price_ids.get(mode, set()) - snapshot.prices.keys()
        settled = stripe[other].prices.keys() if other in stripe else set()
        looked_for = price_ids.get(other, set()) if other in stripe else set()
        checks[mode] = (other, missing & settled, missing - looked_for)
    return checks
