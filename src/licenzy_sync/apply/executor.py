"""Carry out a Plan, in the order that keeps the setup usable at every step.

Stripe endpoint first (it produces the signing secret), then the secret into Licenzy, then
product creates and updates, archives last. A failure stops before the next phase: what was
done stays done, and a re-run (with a fresh plan) converges from there. Secrets created here
live only in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from licenzy_sync.apply.idempotency import idempotency_key, plan_id
from licenzy_sync.config.secrets import Secret, lookup
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.keys import Mode
from licenzy_sync.output import Console
from licenzy_sync.plan.model import Plan, ResourceChange
from licenzy_sync.plan.ownership import SECRET_LAST4_KEY
from licenzy_sync.providers import raise_failures
from licenzy_sync.providers.licenzy_client import LicenzyApiError, LicenzyClient
from licenzy_sync.providers.retry import Channels
from licenzy_sync.providers.stripe_reader import StripeApiError
from licenzy_sync.providers.stripe_writer import StripeWriter
from licenzy_sync.runtime import Run

if TYPE_CHECKING:
    from stripe.params import WebhookEndpointCreateParams, WebhookEndpointUpdateParams

PRODUCT_WORKERS = 8
"""Concurrent product writes; the rate limiter, not this, bounds the request rate."""
MUTABLE_PRODUCT_FIELDS = ("stripe_price_id", "name", "units", "duration_days", "metadata")
SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "archive": "-"}


class Raced(LicenzySyncError):
    """An object the plan read was changed or removed by someone else while we wrote: the
    answer is a fresh plan, not a failure."""


def phase(resource: ResourceChange) -> int:
    if resource.type == "webhook_endpoint":
        return 0
    if resource.type == "webhook_secret":
        return 1
    return 3 if resource.action == "archive" else 2


class Executor:
    def __init__(self, plan: Plan, run: Run, channels: Channels, console: Console) -> None:
        self.plan = plan
        self.run = run
        self.console = console
        self.plan_id = plan_id(plan)
        self.steps = sorted(plan.changes, key=lambda r: (phase(r), r.mode != "test", r.address))
        self._channels = channels
        self._writers: dict[Mode, StripeWriter] = {}
        self._new_secrets: dict[Mode, Secret] = {}
        self._done = 0
        self._lock = threading.Lock()

    @property
    def done(self) -> int:
        """Steps carried out so far (also after a failure)."""
        return self._done

    def execute(self) -> None:
        """Every step of the plan, phase by phase. Licenzy is opened only when a step writes
        to it: with `portal: none` a plan holds Stripe steps only."""
        with ExitStack() as stack:
            if any(step.system == "licenzy" for step in self.steps):
                self._licenzy = stack.enter_context(
                    LicenzyClient(
                        self.run.targets.licenzy_url,
                        self.run.targets.portal(),
                        self._channels,
                        self.run.transports,
                    )
                )
            for number in range(4):
                batch = [step for step in self.steps if phase(step) == number]
                workers = PRODUCT_WORKERS if number >= 2 else 1
                self._run_batch(batch, workers)

    def _run_batch(self, batch: list[ResourceChange], workers: int) -> None:
        if not batch:
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._step, resource) for resource in batch]
        failures = [error for future in futures if (error := future.exception()) is not None]
        if failures and all(isinstance(error, Raced) for error in failures):
            raise failures[0]
        raise_failures(futures)

    def _step(self, resource: ResourceChange) -> None:
        handler: Callable[[ResourceChange], None] = {
            "webhook_endpoint": self._endpoint,
            "webhook_secret": self._secret,
            "product": self._product,
        }[resource.type]
        try:
            handler(resource)
        except StripeApiError as error:
            if error.code != "resource_missing":
                raise
            raise Raced(f"{resource.address}: removed by someone else during apply") from None
        except LicenzyApiError as error:
            if error.code != "product_not_found":
                raise
            raise Raced(f"{resource.address}: removed by someone else during apply") from None
        with self._lock:
            self._done += 1
            number = self._done
        self.console.err(
            f"[{number}/{len(self.steps)}] {SYMBOLS.get(resource.action, '')} "
            f"{resource.address}: {resource.action} done"
        )

    def _key(self, resource: ResourceChange, step: str = "") -> str:
        return idempotency_key(self.plan_id, resource.address, resource.action, step)

    # Stripe: the tenant endpoint.

    def _writer(self, mode: Mode) -> StripeWriter:
        if mode not in self._writers:
            self._writers[mode] = StripeWriter(
                self.run.targets.stripe[mode], self._channels, self.run.transports
            )
        return self._writers[mode]

    def _endpoint(self, resource: ResourceChange) -> None:
        writer = self._writer(resource.mode)
        after = resource.after or {}
        before = resource.before or {}
        if resource.action == "update":
            update: WebhookEndpointUpdateParams = {
                "url": after["url"],
                "enabled_events": after["enabled_events"],
                "disabled": after["status"] != "enabled",
                "description": after["description"],
                "metadata": after["metadata"],
            }
            writer.update_endpoint(before["id"], update, idempotency_key=self._key(resource))
            return
        if resource.action == "replace":
            for old in [before["id"], *before.get("duplicates", [])]:
                writer.delete_endpoint(old, idempotency_key=self._key(resource, f"delete {old}"))
        create: WebhookEndpointCreateParams = {
            "url": after["url"],
            "enabled_events": after["enabled_events"],
            "description": after["description"],
            "metadata": after["metadata"],
        }
        endpoint, secret = writer.create_endpoint(create, idempotency_key=self._key(resource))
        writer.update_endpoint(
            endpoint.id,
            {"metadata": {SECRET_LAST4_KEY: secret.reveal()[-4:]}},
            idempotency_key=self._key(resource, "stamp"),
        )
        self._new_secrets[resource.mode] = secret

    # Licenzy: the signing secret and the catalog.

    def _secret(self, resource: ResourceChange) -> None:
        source = str((resource.after or {}).get("source", ""))
        secret = self._new_secrets.get(resource.mode)
        if secret is None and source.startswith("${"):
            secret = lookup(source)
        if secret is None:
            raise LicenzySyncError(
                f"{resource.address}: no signing secret to store ({source} is not available "
                "in this run); run apply again to recreate the endpoint"
            )
        self._licenzy.request(
            "PUT",
            f"{self._project()}/stripe-connection/{resource.mode}/webhook-secret",
            json={"webhook_secret": secret.reveal()},
            idempotency_key=self._key(resource),
        )

    def _project(self) -> str:
        return f"/projects/{quote(self.plan.project, safe='')}"

    def _product_path(self, resource: ResourceChange) -> str:
        return f"{self._project()}/products/{resource.mode}/{quote(resource.name, safe='')}"

    def _product(self, resource: ResourceChange) -> None:
        if resource.action == "archive":
            self._licenzy.request(
                "POST",
                self._product_path(resource) + "/archive",
                idempotency_key=self._key(resource),
            )
        elif resource.action == "create":
            self._create_product(resource)
        else:
            self._converge_product(resource, resource.before or {})

    def _create_product(self, resource: ResourceChange) -> None:
        after = resource.after or {}
        body = {"code": resource.name, "mode": resource.mode, **_present(after, "status")}
        try:
            self._licenzy.request(
                "POST",
                f"{self._project()}/products",
                json=body,
                idempotency_key=self._key(resource),
            )
        except LicenzyApiError as error:
            if error.code != "product_exists":
                raise
            current = self._licenzy.request("GET", self._product_path(resource))
            if current.get("kind") != after["kind"]:
                raise LicenzySyncError(
                    f"{resource.address}: someone else created it as a {current.get('kind')} "
                    "meanwhile; kind is immutable, plan again"
                ) from None
            self._converge_product(resource, current)

    def _converge_product(self, resource: ResourceChange, current: dict[str, Any]) -> None:
        """Make an existing product equal to the plan's `after`, whatever wrote it last."""
        after = resource.after or {}
        patch = {
            name: after[name]
            for name in MUTABLE_PRODUCT_FIELDS
            if current.get(name) != after[name] and not (name == "name" and after[name] is None)
        }
        if patch:
            self._licenzy.request(
                "PATCH",
                self._product_path(resource),
                json=patch,
                idempotency_key=self._key(resource, "patch"),
            )
        if current.get("status") == "archived" and after.get("status") == "active":
            self._licenzy.request(
                "POST",
                self._product_path(resource) + "/unarchive",
                idempotency_key=self._key(resource, "unarchive"),
            )


def _present(values: dict[str, Any], *skip: str) -> dict[str, Any]:
    """The contract's create body: fields that do not apply are left out, not sent as null."""
    return {k: v for k, v in values.items() if v is not None and k not in skip}
