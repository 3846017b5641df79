"""A verify run: every product check of every mode concurrently, then one webhook proof per
mode, all through the run's shared rate limiters (Licenzy's and each Stripe mode's)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.findings import Finding
from licenzy_sync.keys import Mode
from licenzy_sync.providers import parallel
from licenzy_sync.providers.licenzy_runtime import LicenzyRuntime
from licenzy_sync.providers.retry import Channels
from licenzy_sync.providers.stripe_reader import system_name
from licenzy_sync.providers.stripe_writer import StripeWriter
from licenzy_sync.runtime import Run
from licenzy_sync.verify.checkout import CheckoutCheck
from licenzy_sync.verify.model import ModeResult, VerifyReport
from licenzy_sync.verify.prices import expected_prices
from licenzy_sync.verify.webhook import WebhookCheck

CHECKOUT_WORKERS = 8
"""Checks in flight at once; each is three sequential requests, and the rate limiters, not
this, bound the request rate."""
DEFAULT_WEBHOOK_TIMEOUT = 30.0


@dataclass(frozen=True)
class VerifyRequest:
    loaded: LoadedConfig
    run: Run
    products: Sequence[str] = ()
    """Codes to verify (empty: every product priced in the mode)."""
    skipped: dict[Mode, str] = field(default_factory=dict)
    """Modes not verified, with the reason shown for each."""
    webhook_timeout: float = DEFAULT_WEBHOOK_TIMEOUT
    sleep: Callable[[float], None] = time.sleep


def verify(request: VerifyRequest, channels: Channels | None = None) -> VerifyReport:
    """Prove each mode of ``request.run``; Checkout Sessions are expired before this returns."""
    channels = channels or Channels()
    started = int(time.time())
    run = request.run
    with ExitStack() as stack:
        writers = {
            mode: StripeWriter(target, channels, run.transports)
            for mode, target in run.targets.stripe.items()
        }
        checks = {
            mode: CheckoutCheck(
                request.loaded,
                mode,
                stack.enter_context(
                    LicenzyRuntime(
                        run.targets.licenzy_url, key, channels, run.transports
                    )
                ),
                writers,
                channels.get(system_name(run.targets.stripe[mode])).limiter.acquire,
                expected_prices(request.loaded, mode, writers[mode], _codes(request, mode)),
            )
            for mode, key in run.targets.runtime_keys.items()
        }
        jobs = [(mode, code) for mode in checks for code in _codes(request, mode)]
        outcomes = parallel(
            [partial(checks[mode].run, code) for mode, code in jobs], workers=CHECKOUT_WORKERS
        )
    results = {mode: ModeResult(mode) for mode in checks}
    findings: list[Finding] = []
    proofs: dict[Mode, str] = {}
    for (mode, _), (check, found, session_id) in zip(jobs, outcomes, strict=True):
        results[mode].checks.append(check)
        findings.extend(found)
        if session_id is not None and session_id.startswith(f"cs_{mode}_"):
            proofs.setdefault(mode, session_id)
    findings.extend(_prove_webhooks(request, writers, proofs, started, results))
    for mode, result in results.items():
        if not result.checks:
            result.notes.append(f"no product of the file is priced in {mode} mode")
        elif mode not in proofs:
            result.notes.append("webhook not proven: no checkout of this mode was created")
    skipped = [ModeResult(mode, skipped=why) for mode, why in request.skipped.items()]
    return VerifyReport(
        project=run.targets.project,
        config_file=str(request.loaded.path),
        modes=sorted([*results.values(), *skipped], key=lambda m: m.mode != "test"),
        findings=findings,
        requests=channels.counter.counts(),
    )


def _codes(request: VerifyRequest, mode: Mode) -> list[str]:
    products = request.loaded.config.products
    wanted = request.products or list(products)
    declared = request.loaded.config.modes.declared()
    return [code for code in wanted if products[code].priced_in(mode, declared)]


def _prove_webhooks(
    request: VerifyRequest,
    writers: dict[Mode, StripeWriter],
    sessions: dict[Mode, str],
    started: int,
    results: dict[Mode, ModeResult],
) -> list[Finding]:
    modes = list(results)
    listed = parallel(
        [writers[mode].webhook_endpoints for mode in modes], workers=max(1, len(modes))
    )
    for mode, endpoints in zip(modes, listed, strict=True):
        results[mode].endpoints = endpoints
    checks = [
        WebhookCheck(
            request.loaded,
            mode,
            writers[mode],
            started,
            request.webhook_timeout,
            sleep=request.sleep,
        )
        for mode in sessions
    ]
    outcomes = parallel(
        [
            partial(check.run, sessions[check.mode], results[check.mode].endpoints)
            for check in checks
        ],
        workers=len(checks),
    )
    findings: list[Finding] = []
    for check, (proof, found) in zip(checks, outcomes, strict=True):
        results[check.mode].webhook = proof
        findings.extend(found)
    return findings
