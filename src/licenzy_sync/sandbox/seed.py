"""Seeding: make the sandbox hold what a licenzy.yaml refers to, so `plan` has something real
to compare against.

Seeding only creates what is missing (project, a Stripe connection and a Licenzy runtime API
key per mode, that key being the project's known `sandbox_runtime_key`, the Stripe prices with
the exact ids the config names) and never changes what exists: a price deliberately archived
or a connection moved to another account stays as the user left it, and seeding twice
changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from licenzy_sync.config.load import load_config
from licenzy_sync.config.models import ProductKind
from licenzy_sync.keys import MODES, Mode
from licenzy_sync.providers.stripe_client import STRIPE_API_VERSION
from licenzy_sync.sandbox import stripe_api, stripe_webhooks
from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.defaults import (
    SANDBOX_STRIPE_KEYS,
    sandbox_project_id,
    sandbox_runtime_key,
)
from licenzy_sync.sandbox.http import Request
from licenzy_sync.sandbox.licenzy_api import (
    DEFAULT_PORTAL_TOKEN,
    DEFAULT_PROJECT_ID,
    add_api_key,
    connect,
    ensure_project,
)
from licenzy_sync.sandbox.licenzy_base import SCOPE, get_connection, mode_scope
from licenzy_sync.sandbox.seeded import find_project
from licenzy_sync.sandbox.store import Tx
from licenzy_sync.sandbox.stripe_ids import scope as stripe_scope
from licenzy_sync.targets import TENANT_WEBHOOK_PATH

SUBSCRIPTION_INTERVAL = "month"
API_KEY_NAME = "sandbox"


class SeedConfigError(ValueError):
    """The config cannot be read as a seed; the message names the file and the field."""


@dataclass(frozen=True)
class SeedPrice:
    """A Stripe price a product refers to: a subscription gets a monthly recurring price,
    the other kinds a one-time price, which is what Licenzy accepts for each."""

    mode: Mode
    price_id: str
    kind: ProductKind


@dataclass(frozen=True)
class SeedWebhook:
    """A hand-made tenant endpoint: created in Stripe, its secret stored in Licenzy.

    ``follows_licenzy``: the URL is the tenant URL of the Licenzy the sandbox is reached at
    (the config names none), so it moves with it between `--sandbox` and `sandbox serve`."""

    mode: Mode
    url: str
    events: tuple[str, ...]
    follows_licenzy: bool = False


@dataclass(frozen=True)
class SeedSpec:
    """What to seed. ``project_id`` wins over ``project_name``; with a name only, the project
    of that exact name is used, or one is created with an id derived from the name; with
    neither, the default project."""

    project_id: str | None = None
    project_name: str | None = None
    modes: tuple[Mode, ...] = ("test",)
    prices: tuple[SeedPrice, ...] = ()
    webhooks: tuple[SeedWebhook, ...] = ()


@dataclass
class SeedReport:
    """What a seed created, moved (`follow_licenzy`) and could not create, each as one
    human-readable line."""

    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)


def seed(sandbox: Sandbox, spec: SeedSpec) -> SeedReport:
    """Create what ``spec`` needs and is missing, in one transaction (all or nothing)."""
    report = SeedReport()
    with sandbox.store.transaction() as tx:
        project_id = _project(tx, spec, report)
        for mode in spec.modes:
            if not get_connection(tx, project_id, mode)["connected"]:
                connect(tx, project_id, mode, stripe_api.DEFAULT_ACCOUNT_ID)
                report.created.append(f"Licenzy {mode} Stripe connection of {project_id}")
            if not any(
                not key["revoked"] for _, key in tx.iter("api_key", mode_scope(project_id, mode))
            ):
                known = sandbox_runtime_key(mode, project_id)
                add_api_key(tx, project_id, mode, API_KEY_NAME, raw=known)
                report.created.append(f"Licenzy {mode} API key of {project_id}")
        for price in spec.prices:
            _price(tx, price, report)
    for webhook in spec.webhooks:
        _webhook(sandbox, project_id, webhook, report)
    return report


def follow_licenzy(sandbox: Sandbox, licenzy_url: str) -> list[tuple[Mode, str]]:
    """Point the hand-made endpoints seeding made for the sandbox's own Licenzy at the tenant
    URL of ``licenzy_url``, where plans now expect them: `sandbox serve` calls it with its
    URL when it starts and with the in-process one when it stops, so neither meets LZ124.

    Bookkeeping of the emulator, not a Stripe request: no counter or fault sees it. Returns
    the mode and id of each endpoint moved."""
    url = licenzy_url.rstrip("/") + TENANT_WEBHOOK_PATH
    moved: list[tuple[Mode, str]] = []
    with sandbox.store.transaction() as tx:
        for mode in MODES:
            where = stripe_scope(stripe_api.DEFAULT_ACCOUNT_ID, mode)
            for _, endpoint in tx.iter(stripe_webhooks.KIND, where):
                if endpoint.get(stripe_webhooks.FOLLOWS_LICENZY) and endpoint["url"] != url:
                    tx.put(stripe_webhooks.KIND, where, endpoint["id"], {**endpoint, "url": url})
                    moved.append((mode, endpoint["id"]))
    return moved


def _webhook(sandbox: Sandbox, project_id: str, webhook: SeedWebhook, report: SeedReport) -> None:
    """Done through the emulators' own APIs, the way a person would in the two dashboards."""
    key = f"Bearer {SANDBOX_STRIPE_KEYS[webhook.mode]}"
    auth = {"authorization": key, "stripe-version": STRIPE_API_VERSION}
    listed = sandbox.handle(
        Request("GET", "/stripe/v1/webhook_endpoints", "limit=100", auth)
    ).payload()
    if any(endpoint["url"] == webhook.url for endpoint in listed["data"]):
        return
    if webhook.follows_licenzy:
        moved = follow_licenzy(sandbox, webhook.url.removesuffix(TENANT_WEBHOOK_PATH))
        report.moved += [f"{mode} webhook endpoint {id_} to {webhook.url}" for mode, id_ in moved]
        if any(mode == webhook.mode for mode, _ in moved):
            return
    form = urlencode(
        [("url", webhook.url), *((f"enabled_events[{i}]", e) for i, e in enumerate(webhook.events))]
    )
    created = sandbox.handle(
        Request(
            "POST",
            "/stripe/v1/webhook_endpoints",
            "",
            {**auth, "content-type": "application/x-www-form-urlencoded"},
            form.encode(),
        )
    ).payload()
    body = json.dumps({"webhook_secret": created["secret"]}).encode()
    stored = sandbox.handle(
        Request(
            "PUT",
            f"/licenzy/portal/projects/{project_id}/stripe-connection/{webhook.mode}"
            "/webhook-secret",
            "",
            {
                "authorization": f"Bearer {DEFAULT_PORTAL_TOKEN}",
                "content-type": "application/json",
            },
            body,
        )
    )
    if stored.status != 200:
        raise SeedConfigError(f"Licenzy refused the {webhook.mode} webhook secret")
    if webhook.follows_licenzy:
        with sandbox.store.transaction() as tx:
            where = stripe_scope(stripe_api.DEFAULT_ACCOUNT_ID, webhook.mode)
            endpoint = tx.get(stripe_webhooks.KIND, where, created["id"])
            assert endpoint is not None
            endpoint[stripe_webhooks.FOLLOWS_LICENZY] = True
            tx.put(stripe_webhooks.KIND, where, created["id"], endpoint)
    report.created.append(
        f"Stripe {webhook.mode} webhook endpoint {created['id']} (by hand: manage is false) and "
        "its secret in Licenzy"
    )


def _project(tx: Tx, spec: SeedSpec, report: SeedReport) -> str:
    project_id = spec.project_id
    if project_id is None and spec.project_name is not None:
        found = find_project(tx, spec.project_name)
        if found is not None:
            return found
        project_id = _id_for_name(spec.project_name)
    project_id = project_id or DEFAULT_PROJECT_ID
    if tx.get("project", SCOPE, project_id) is None:
        name = spec.project_name or project_id.removeprefix("proj_")
        ensure_project(tx, project_id, name)
        report.created.append(f"Licenzy project {project_id} ({name})")
    return project_id


def _id_for_name(name: str) -> str:
    project_id = sandbox_project_id(name)
    if project_id == "proj_":
        raise SeedConfigError(f"Cannot derive a project id from the name {name!r}.")
    return project_id


def _price(tx: Tx, price: SeedPrice, report: SeedReport) -> None:
    account = stripe_api.DEFAULT_ACCOUNT_ID
    if stripe_api.get_price(tx, account, price.mode, price.price_id) is not None:
        return
    other: Mode = "live" if price.mode == "test" else "test"
    if stripe_api.get_price(tx, account, other, price.price_id) is not None:
        report.skipped.append(
            f"Stripe {price.mode} price {price.price_id}: it exists in {other} mode, and Stripe "
            "ids are unique across modes"
        )
        return
    interval = SUBSCRIPTION_INTERVAL if price.kind == "subscription" else None
    stripe_api.put_price(
        tx, account, price.mode, price_id=price.price_id, recurring_interval=interval
    )
    shape = "monthly recurring" if interval else "one-time"
    report.created.append(f"Stripe {price.mode} price {price.price_id} ({shape})")


def spec_from_config(path: Path, licenzy_url: str) -> SeedSpec:
    """What a licenzy.yaml needs to exist before its first plan; the config is loaded and
    checked exactly as every other command does (ConfigInvalid on errors).

    For modes whose webhook is not managed by licenzy-sync, a person would have created the
    endpoint and stored its secret by hand; seeding does that for them, at ``licenzy_url``.
    """
    loaded = load_config(path)
    config = loaded.config
    prices = tuple(
        SeedPrice(mode, price_id, product.kind)
        for product in config.products.values()
        for mode in MODES
        if (price_id := product.price.get(mode)) is not None
    )
    webhooks = tuple(
        SeedWebhook(
            mode,
            settings.webhook.url or licenzy_url.rstrip("/") + TENANT_WEBHOOK_PATH,
            tuple(settings.webhook.event_list()),
            follows_licenzy=settings.webhook.url is None,
        )
        for mode in config.modes.declared()
        if (settings := config.modes.get(mode)) is not None and not settings.webhook.manage
    )
    is_id = config.project.startswith("proj_")
    return SeedSpec(
        project_id=config.project if is_id else None,
        project_name=None if is_id else config.project,
        modes=tuple(config.modes.declared()) or ("test",),
        prices=prices,
        webhooks=webhooks,
    )
