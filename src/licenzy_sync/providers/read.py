"""Reading everything a plan compares against: Licenzy and every Stripe mode, concurrently.

A run's wall time is that of its slowest system, not the sum: Licenzy (project and every
mode's connection, catalog and API keys, all at once when the file names the project by id)
and each Stripe mode (account, endpoints, prices) are read at the same time, each through the
run's shared rate limiters and counter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from functools import partial

from licenzy_sync.config.models import PriceDeclaration
from licenzy_sync.keys import Mode
from licenzy_sync.providers import ProviderError, parallel, raise_failures
from licenzy_sync.providers.fingerprinter import Fingerprinter
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
    fingerprint: bool = False,
    meanwhile: Callable[[], object] = lambda: None,
) -> RemoteState:
    """Read Licenzy and Stripe for ``modes``; ``price_ids`` are the ids the config references.

    Referenced ids missing from their mode are looked up in the other mode when its key is
    configured: ``other_mode_prices[mode]`` then holds those found there (possibly none);
    a mode without that entry could not be checked. ``declared`` are the declared prices of
    each mode by lookup key. Pass ``channels`` to share rate limits
    and request counts with later writes; ``requests`` counts every attempt so far.
    ``fingerprint`` has the objects read fingerprinted while the reads go on, for a plan that
    records them all (see `Fingerprinter`). ``meanwhile`` is done by the calling thread once
    the reads are under way, while it would otherwise wait for their answers.
    """
    channels = channels or Channels()
    unconfigured = [mode for mode in modes if mode not in targets.stripe]
    if unconfigured:
        raise ProviderError(f"No Stripe key is configured for {unconfigured[0]} mode")
    fingerprinter = Fingerprinter() if fingerprint else None
    read_stripe = partial(
        _read_stripe,
        targets,
        price_ids,
        transports,
        channels,
        modes,
        declared=declared or {},
        fingerprinter=fingerprinter,
    )
    licenzy = (
        None  # `portal: none`: Stripe only; Licenzy stays unread
        if targets.portal_token is None
        else LicenzyClient(targets.licenzy_url, targets.portal(), channels, transports)
    )
    (project, licenzy_modes), (stripe, other_mode_prices) = _read_both(
        licenzy, read_stripe, targets.project, modes, fingerprinter, meanwhile=meanwhile
    )
    return RemoteState(
        project_id=project.id,
        project_name=project.name,
        stripe=stripe,
        licenzy=licenzy_modes,
        other_mode_prices=other_mode_prices,
        requests=channels.counter.counts(),
    )


_LicenzyRead = tuple[LicenzyProject, dict[Mode, LicenzyModeSnapshot]]
_StripeRead = tuple[dict[Mode, StripeSnapshot], dict[Mode, set[str]]]


def _read_both(
    licenzy: LicenzyClient | None,
    read_stripe: Callable[[], _StripeRead],
    ref: str,
    modes: list[Mode],
    fingerprinter: Fingerprinter | None,
    *,
    meanwhile: Callable[[], object],
) -> tuple[_LicenzyRead, _StripeRead]:
    """Licenzy (unless there is no client for it) and Stripe, read at once; meanwhile the
    calling thread does ``meanwhile``, then fingerprints what they read, when a
    `Fingerprinter` asks for that."""
    with licenzy or nullcontext(), ThreadPoolExecutor(max_workers=2) as pool:
        licenzy_read = (
            None
            if licenzy is None
            else pool.submit(licenzy.read_project, ref, modes, fingerprinter)
        )
        stripe_read = pool.submit(read_stripe)
        reads = [read for read in (licenzy_read, stripe_read) if read is not None]
        meanwhile()
        if fingerprinter is not None:
            fingerprinter.wait(reads)
    raise_failures(reads)
    if licenzy_read is None:
        return (LicenzyProject(ref, ""), {}), stripe_read.result()
    return licenzy_read.result(), stripe_read.result()


def _read_stripe(
    targets: Targets,
    price_ids: Mapping[Mode, set[str]],
    transports: Transports,
    channels: Channels,
    modes: list[Mode],
    *,
    declared: Mapping[Mode, Mapping[str, PriceDeclaration]],
    fingerprinter: Fingerprinter | None,
) -> _StripeRead:
    """Every mode's snapshot at once, then the wrong-mode lookups they call for."""
    readers = {
        mode: StripeReader(targets.stripe[mode], channels, transports, fingerprinter=fingerprinter)
        for mode in modes
    }
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
