"""What a managed kind is: one unit per kind of remote object licenzy-sync writes.

A unit owns everything about its kind: how the desired state follows from licenzy.yaml and is
compared with what was read (`plan`), when it is written relative to the others (`phase`),
which values produced by earlier writes it needs (`inputs`), which typed provider calls write
it (`apply`), and how a difference is classified for drift (`drift`). The planner, the
executor and drift loop over the registry (`kinds.registry`) and never name a kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from licenzy_sync.config.secrets import Secret
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.keys import Mode
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.context import PlanContext
from licenzy_sync.plan.model import FieldChange, Plan, ResourceChange
from licenzy_sync.state import LicenzyConnection, LicenzyProduct, StripeEndpoint
from licenzy_sync.stripe_permissions import Resource

if TYPE_CHECKING:
    from stripe.params import (
        PriceCreateParams,
        PriceUpdateParams,
        ProductCreateParams,
        ProductUpdateParams,
        WebhookEndpointCreateParams,
        WebhookEndpointUpdateParams,
    )

    from licenzy_sync.providers.stripe_catalog import StripePriceDetail, StripeProduct
    from licenzy_sync.providers.stripe_writer import Created

Classification = Literal["breaking", "benign"]
WEBHOOK_SECTION = "Webhook and connection"
UNCLASSIFIED = "a difference licenzy-sync does not classify; treated as breaking to be safe"


class Raced(LicenzySyncError):
    """An object the plan read was changed or removed by someone else while we wrote: the
    answer is a fresh plan, not a failure."""


@dataclass(frozen=True)
class Verdict:
    """How one difference a change undoes matters; ``field`` is set for a field-level one."""

    classification: Classification
    reason: str
    message: str
    field: FieldChange | None = None


@dataclass(frozen=True)
class Output:
    """A value a write produces, known only once it ran: ``name`` of the object at ``of``."""

    of: Address
    name: str


class StripeWrites(Protocol):
    """The Stripe calls units make (`providers.stripe_writer.StripeWriter`)."""

    def create_endpoint(
        self, params: WebhookEndpointCreateParams, *, idempotency_key: str
    ) -> Created: ...

    def retrieve_endpoint(self, endpoint_id: str) -> StripeEndpoint | None: ...

    def update_endpoint(
        self, endpoint_id: str, params: WebhookEndpointUpdateParams, *, idempotency_key: str
    ) -> StripeEndpoint: ...

    def delete_endpoint(self, endpoint_id: str, *, idempotency_key: str) -> None: ...

    def create_product(
        self, params: ProductCreateParams, *, idempotency_key: str
    ) -> StripeProduct: ...

    def update_product(
        self, product_id: str, params: ProductUpdateParams, *, idempotency_key: str
    ) -> StripeProduct: ...

    def create_price(
        self, params: PriceCreateParams, *, idempotency_key: str
    ) -> StripePriceDetail: ...

    def update_price(
        self, price_id: str, params: PriceUpdateParams, *, idempotency_key: str
    ) -> StripePriceDetail: ...


class LicenzyWrites(Protocol):
    """The Licenzy portal calls units make (`providers.licenzy_client.LicenzyClient`)."""

    def connection(self, project_id: str, mode: Mode) -> LicenzyConnection: ...

    def store_webhook_secret(
        self, project_id: str, mode: Mode, secret: Secret, *, idempotency_key: str
    ) -> None: ...

    def create_product(
        self, project_id: str, mode: Mode, fields: Mapping[str, Any], *, idempotency_key: str
    ) -> None: ...

    def get_product(self, project_id: str, mode: Mode, code: str) -> LicenzyProduct: ...

    def patch_product(
        self,
        project_id: str,
        mode: Mode,
        code: str,
        patch: Mapping[str, Any],
        *,
        idempotency_key: str,
    ) -> None: ...

    def archive_product(
        self, project_id: str, mode: Mode, code: str, *, idempotency_key: str
    ) -> None: ...

    def unarchive_product(
        self, project_id: str, mode: Mode, code: str, *, idempotency_key: str
    ) -> None: ...


class Writes(Protocol):
    """What a unit's `apply` may use: the providers, write keys, values produced earlier in
    this apply, and the secrets resolved when the run was prepared."""

    @property
    def plan(self) -> Plan: ...

    @property
    def secrets(self) -> Mapping[str, Secret]:
        """By environment variable name."""
        ...

    @property
    def licenzy(self) -> LicenzyWrites: ...

    def stripe(self, mode: Mode) -> StripeWrites: ...

    def key(
        self, at: Address, step: str, payload: Any = None, observed: str | None = None
    ) -> str: ...

    def produce(self, output: Output, value: Any) -> None: ...

    def produced(self, output: Output) -> Any | None: ...


class Kind(Protocol):
    name: str
    """The kind in addresses: ``product``, ``webhook_endpoint``..."""
    section: str
    """The heading its changes are listed under in text plans."""
    stripe_writes: tuple[Resource, ...]
    """The Stripe resources its writes need, for the restricted-key check (LZ140)."""

    def plan(self, ctx: PlanContext, mode: Mode) -> None:
        """Compare the config's desired objects of this kind with what was read; record
        changes, findings and fingerprints in ``ctx``. Units plan in registry order, so a
        unit may read the changes of the units before it."""

    def phase(self, change: ResourceChange) -> int:
        """When the change is written: every change of a lower phase lands first."""

    def inputs(self, change: ResourceChange) -> tuple[Output, ...]:
        """The values of earlier writes this change needs."""

    def apply(self, change: ResourceChange, writes: Writes) -> None: ...

    def headline(self, change: ResourceChange) -> str | None:
        """The change in one line for people, or None to show it field by field."""

    def drift(self, change: ResourceChange, plan: Plan) -> Iterator[Verdict]:
        """How the differences the change would undo matter; nothing for a difference
        another change of ``plan`` already reports."""


def field_verdicts(
    change: ResourceChange, benign: Mapping[str, str], breaking: Mapping[str, str]
) -> Iterator[Verdict]:
    """One verdict per changed field, from a unit's field tables."""
    for field_change in change.changes:
        name = field_change.field
        if name in benign:
            yield Verdict("benign", benign[name], f"{name} differs", field_change)
        else:
            reason = breaking.get(name, UNCLASSIFIED)
            yield Verdict("breaking", reason, f"{name} differs", field_change)


def differs(changes: tuple[FieldChange, ...]) -> str:
    """The reason of an update nothing else explains: the fields that differ."""
    return "differs from licenzy.yaml: " + ", ".join(change.field for change in changes)


def unclassified(change: ResourceChange) -> Verdict:
    return Verdict("breaking", UNCLASSIFIED, change.reason or f"{change.action} planned")
