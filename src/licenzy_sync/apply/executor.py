"""Carry out a Plan, in the order that keeps the setup usable at every step.

Stripe endpoint first (it produces the signing secret), then the secret into Licenzy and, once
Licenzy holds it, its last four characters onto the endpoint; then product creates and
updates, archives last. A phase with failures ends the run before the next phase; a stop
request (SIGINT, SIGTERM) ends it before the next write. Either way the writes in flight
finish and `ApplyStopped` says what landed; a re-run (with a fresh plan) converges from there.
Secrets created here live only in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from licenzy_sync.apply.idempotency import plan_write_key, secret_digest, successor
from licenzy_sync.apply.interrupts import StopRequest
from licenzy_sync.apply.landing import ApplyStopped, Landing
from licenzy_sync.config.secrets import Secret, lookup
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.keys import Mode
from licenzy_sync.output import Console
from licenzy_sync.plan import addresses
from licenzy_sync.plan.model import ABSENT, Plan, ResourceChange
from licenzy_sync.plan.ownership import SECRET_LAST4_KEY
from licenzy_sync.providers.licenzy_client import LicenzyApiError, LicenzyClient
from licenzy_sync.providers.retry import Channels
from licenzy_sync.providers.stripe_reader import StripeApiError
from licenzy_sync.providers.stripe_writer import StripeWriter
from licenzy_sync.render.text import SYMBOLS
from licenzy_sync.runtime import Run

if TYPE_CHECKING:
    from stripe.params import WebhookEndpointCreateParams, WebhookEndpointUpdateParams

MUTABLE_PRODUCT_FIELDS = ("stripe_price_id", "name", "units", "duration_days", "metadata")
STALE_REPLAYS = 10
"""Creates in a row whose replayed answer names an endpoint deleted since, before giving up."""
POLL_SECONDS = 0.2
"""How often the waiting thread looks for a stop request to announce."""


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
    def __init__(
        self,
        plan: Plan,
        run: Run,
        channels: Channels,
        console: Console,
        *,
        landing: Landing | None = None,
        stop: StopRequest | None = None,
    ) -> None:
        self.plan = plan
        self.run = run
        self.console = console
        self.landing = Landing() if landing is None else landing
        """Shared by the rounds of one apply, so it tells everything they wrote."""
        self.steps = sorted(plan.changes, key=lambda r: (phase(r), r.mode != "test", r.address))
        self._stop = StopRequest() if stop is None else stop
        self._channels = channels
        self._writers: dict[Mode, StripeWriter] = {}
        self._new_secrets: dict[Mode, tuple[str, Secret]] = {}
        """Per mode: the endpoint created (or recovered) in this run and its secret."""
        self._done = 0
        self._lock = threading.Lock()

    def execute(self) -> None:
        """Every step of the plan, phase by phase; raises `ApplyStopped` when it ends early.
        Licenzy is opened only when a step writes to it: with `portal: none` a plan holds
        Stripe steps only."""
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
                workers = self._channels.workers("licenzy") if number >= 2 else 1
                self._run_batch(batch, workers, number)
        if self._stop.requested:
            raise ApplyStopped(self.landing, signal=self._stop.signal)

    def _run_batch(self, batch: list[ResourceChange], workers: int, number: int) -> None:
        if not batch:
            return
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
        if self._stop.requested and not self._completes_webhook(resource):
            with self._lock:
                self.landing.not_tried.append(resource)
            return
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
            self.landing.written.append(resource)
        self.console.err(
            f"[{number}/{len(self.steps)}] {SYMBOLS.get(resource.action, '')} "
            f"{resource.address}: {resource.action} done"
        )

    def _completes_webhook(self, resource: ResourceChange) -> bool:
        """Storing the secret of an endpoint this run created is finished even after a stop
        request: an endpoint whose secret Licenzy lacks delivers events Licenzy rejects."""
        return resource.type == "webhook_secret" and resource.mode in self._new_secrets

    def _key(
        self,
        resource: ResourceChange,
        step: str,
        payload: Any = None,
        observed: str | None = None,
    ) -> str:
        return plan_write_key(self.plan, resource.address, step, payload, observed)

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
            writer.update_endpoint(
                before["id"], update, idempotency_key=self._key(resource, "update", update)
            )
            return
        observed, replaced = ABSENT, []
        if resource.action == "replace":
            observed = self._replace_observation(resource, writer)
            replaced = [before["id"], *before.get("duplicates", [])]
        create: WebhookEndpointCreateParams = {
            "url": after["url"],
            "enabled_events": after["enabled_events"],
            "description": after["description"],
            "metadata": after["metadata"],
        }
        endpoint_id, secret = self._create_endpoint(writer, resource, create, observed)
        for old in replaced:
            if old != endpoint_id:
                key = self._key(resource, f"delete {old}", observed=old)
                writer.delete_endpoint(old, idempotency_key=key)
        self._new_secrets[resource.mode] = (endpoint_id, secret)

    def _replace_observation(self, resource: ResourceChange, writer: StripeWriter) -> str:
        """Both halves of the tenant webhook re-read before one is replaced, and the state a
        replacement's create key is derived from.

        A concurrent run may have just finished wiring them (created the endpoint, stored its
        secret, stamped it): if either half moved since the plan read it, this is a race and
        the answer is a fresh plan, not a second endpoint. An endpoint without the stamp is a
        create whose run has not finished (or never will): its create is replayed with the
        key an absent endpoint gets, which hands back that endpoint and its secret instead of
        making another (a replay Stripe keeps for 24 h; later, a new endpoint replaces it).
        """
        endpoint_id = (resource.before or {})["id"]
        current = writer.retrieve_endpoint(endpoint_id)
        connection = self._licenzy.connection(self.plan.project, resource.mode)
        planned = self.plan.fingerprints.get(resource.address)
        secret_address = addresses.webhook_secret(resource.mode)
        if (
            current is None
            or current.fingerprint != planned
            or connection.fingerprint != self.plan.fingerprints.get(secret_address)
        ):
            raise Raced(f"{resource.address}: changed by someone else during apply")
        return current.fingerprint if SECRET_LAST4_KEY in current.metadata else ABSENT

    def _create_endpoint(
        self,
        writer: StripeWriter,
        resource: ResourceChange,
        params: WebhookEndpointCreateParams,
        observed: str,
    ) -> tuple[str, Secret]:
        """The endpoint a create with this write's key gives, and its secret.

        A replayed answer may name an endpoint deleted since (Stripe replays a key's first
        answer for 24 h whatever happened after): then the create is made again under a key
        derived from the one replayed, the same for every run that met the same replay.
        """
        key = self._key(resource, "create", params, observed)
        for _ in range(STALE_REPLAYS):
            created = writer.create_endpoint(params, idempotency_key=key)
            endpoint = created.endpoint
            if not created.replayed or writer.retrieve_endpoint(endpoint.id) is not None:
                return endpoint.id, created.secret
            key = successor(key, endpoint.id)
        raise LicenzySyncError(
            f"{resource.address}: the last {STALE_REPLAYS} endpoints Stripe replayed for this "
            "create were all deleted since; run apply again in 24 hours"
        )

    def _stamp(self, mode: Mode, endpoint_id: str, secret: Secret) -> None:
        """The endpoint records the last four characters of its secret once Licenzy holds it,
        never before: a stamped endpoint whose secret Licenzy lacks then means the secret
        was lost, not that a concurrent run is still storing it."""
        address = addresses.webhook_endpoint(mode)
        key = plan_write_key(self.plan, address, "stamp", secret_digest(secret), endpoint_id)
        self._writer(mode).update_endpoint(
            endpoint_id,
            {"metadata": {SECRET_LAST4_KEY: secret.reveal()[-4:]}},
            idempotency_key=key,
        )

    # Licenzy: the signing secret and the catalog.

    def _secret(self, resource: ResourceChange) -> None:
        source = str((resource.after or {}).get("source", ""))
        created = self._new_secrets.get(resource.mode)
        secret = created[1] if created is not None else None
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
            idempotency_key=self._key(resource, "store", {"webhook_secret": secret_digest(secret)}),
        )
        if created is not None:
            self._stamp(resource.mode, *created)

    def _project(self) -> str:
        return f"/projects/{quote(self.plan.project, safe='')}"

    def _product_path(self, resource: ResourceChange) -> str:
        return f"{self._project()}/products/{resource.mode}/{quote(resource.name, safe='')}"

    def _product(self, resource: ResourceChange) -> None:
        if resource.action == "archive":
            self._licenzy.request(
                "POST",
                self._product_path(resource) + "/archive",
                idempotency_key=self._key(resource, "archive"),
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
                idempotency_key=self._key(resource, "create", body),
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
                idempotency_key=self._key(resource, "patch", patch),
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
