"""Licenzy's go-live checklist as one report, from a verify run of live mode.

Each item is judged from what the run proved, not from what the file says: a live checkout
opens a Stripe session only through Licenzy's stored live connection, and an acknowledged
event proves the live endpoint reaches Licenzy with the right secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.config.models import REQUIRED_EVENTS
from licenzy_sync.verify.model import ModeResult, VerifyReport


@dataclass(frozen=True)
class ChecklistItem:
    title: str
    ok: bool
    detail: str


def go_live_checklist(
    loaded: LoadedConfig, report: VerifyReport, tenant_url: str
) -> list[ChecklistItem]:
    live = next((mode for mode in report.modes if mode.mode == "live"), None)
    if live is None or live.skipped is not None:
        why = live.skipped if live is not None and live.skipped else "live mode was not verified"
        return [ChecklistItem("live runtime proof", False, why)]
    return [
        _connection(live),
        _runtime_key(loaded),
        _catalog(loaded, live),
        _endpoint(live, tenant_url),
        _proof(live),
    ]


def ready(items: list[ChecklistItem]) -> bool:
    return all(item.ok for item in items)


def _connection(live: ModeResult) -> ChecklistItem:
    opened = [check for check in live.checks if check.session is not None]
    detail = (
        f"Licenzy opened {len(opened)} live Checkout Session(s) through it"
        if opened
        else "no live checkout could be opened through it"
    )
    return ChecklistItem("live Stripe connection in Licenzy", bool(opened), detail)


def _runtime_key(loaded: LoadedConfig) -> ChecklistItem:
    settings = loaded.config.modes.live
    assert settings is not None and settings.licenzy is not None  # verify needed both
    return ChecklistItem(
        "live runtime API key",
        True,
        f"modes.live.licenzy.api_key ({settings.licenzy.api_key}) holds an lz_live_ key",
    )


def _catalog(loaded: LoadedConfig, live: ModeResult) -> ChecklistItem:
    products = loaded.config.products
    declared = loaded.config.modes.declared()
    test_only = [
        code
        for code, p in products.items()
        if p.priced_in("test", declared) and not p.priced_in("live", declared)
    ]
    failed = [check.code for check in live.checks if not check.proven]
    detail = f"{len(live.checks) - len(failed)} of {len(live.checks)} live product(s) proven"
    if failed:
        detail += f"; failing: {', '.join(failed)}"
    if test_only:
        detail += f"; test only (no live price): {', '.join(test_only)}"
    return ChecklistItem("every live price has a live product", not failed, detail)


def _endpoint(live: ModeResult, tenant_url: str) -> ChecklistItem:
    at_url = [e for e in live.endpoints if e.url == tenant_url and e.status == "enabled"]
    if not at_url:
        return ChecklistItem(
            "live tenant endpoint", False, f"no enabled endpoint delivers to {tenant_url}"
        )
    endpoint = at_url[0]
    events = set(endpoint.enabled_events)
    missing = [] if "*" in events else [e for e in REQUIRED_EVENTS if e not in events]
    secret = live.webhook is not None and live.webhook.proven
    problems = [f"misses {len(missing)} of the 12 events"] if missing else []
    if not secret:
        problems.append("its delivery to Licenzy is not proven (secret)")
    detail = f"{endpoint.id}: " + ("; ".join(problems) or "the 12 events, secret proven")
    return ChecklistItem("live tenant endpoint", not problems, detail)


def _proof(live: ModeResult) -> ChecklistItem:
    proven = all(check.proven for check in live.checks) and bool(live.checks)
    webhook = live.webhook is not None and live.webhook.proven
    detail = f"checkouts {'proven' if proven else 'failed'}, webhook " + (
        "acknowledged" if webhook else "not acknowledged"
    )
    return ChecklistItem("live runtime proof", proven and webhook, detail)
