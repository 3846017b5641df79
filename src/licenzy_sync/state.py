"""What Stripe and Licenzy hold, normalised: the providers produce it, the planner reads it.

Only the fields a rule or a diff needs are kept. Secrets never enter: Licenzy returns only the
last four characters of stored secrets, and those stay internal (``_last4`` fields are never
rendered).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from licenzy_sync.config.models import ProductKind
from licenzy_sync.keys import Mode

if TYPE_CHECKING:
    from licenzy_sync.providers.stripe_catalog import StripePriceDetail, StripeProduct

PriceType = Literal["one_time", "recurring"]


def _canonical_writer() -> Callable[[dict[str, Any]], str]:
    """The canonical JSON of an object's fields: keys sorted, no spaces, UTF-8 as is.

    `JSONEncoder.encode` builds a new C encoder on every call, a third of a fingerprint's
    time; this keeps one and writes exactly the same text (the same C encoder, without the
    check for reference cycles that data parsed from JSON cannot have). A Python without the
    C encoder uses `encode` itself.
    """
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    # markers, default, string encoder, indent, separators, sort_keys, skipkeys, allow_nan
    chunks = make(
        None, encoder.default, json.encoder.encode_basestring, None, ":", ",", True, False, True
    )
    join = "".join
    return lambda value: join(chunks(value, 0))


_canonical_json = _canonical_writer()


class Fingerprinted:
    """An object read from Stripe or Licenzy, identified across reads by its fingerprint.

    A plan records the fingerprint of each object it touches and apply reads the object again
    and compares, so the digest is computed when first asked for: a catalog of thousands is
    read in pages, and only what a plan records or apply checks needs one.
    """

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of the object's fields: two reads give the same value
        exactly when every kept field is equal.

        Kept in the instance's own attributes once computed; not a `cached_property`, which
        takes a lock on every access (tens of thousands per plan) to guard a computation that
        may as well run twice.
        """
        attributes = vars(self)
        found: str | None = attributes.get(_FINGERPRINT)
        if found is None:  # the attributes are still exactly the fields
            text = _canonical_json(attributes)
            found = hashlib.sha256(text.encode()).hexdigest()
            attributes[_FINGERPRINT] = found
        return found


_FINGERPRINT = "fingerprint"


@dataclass(frozen=True)
class StripePrice(Fingerprinted):
    id: str
    livemode: bool
    active: bool
    type: PriceType
    recurring_interval: str | None
    usage_type: str | None
    """``licensed`` or ``metered`` for recurring prices, None for one-time ones."""
    currency: str
    unit_amount: int | None
    product: str
    lookup_key: str | None


@dataclass(frozen=True)
class StripeEndpoint(Fingerprinted):
    id: str
    livemode: bool
    url: str
    enabled_events: tuple[str, ...]
    status: str
    """``enabled`` or ``disabled``."""
    api_version: str | None
    description: str | None
    metadata: dict[str, str]


@dataclass(frozen=True)
class StripeEvent:
    """A Stripe event, reduced to what proves its delivery."""

    id: str
    type: str
    created: int
    object_id: str | None
    """``data.object.id``: the object the event is about."""
    pending_webhooks: int
    """Subscribed endpoints that have not yet answered 2xx."""


@dataclass
class StripeSnapshot:
    """One mode of one Stripe account, as seen with the key configured for that mode."""

    mode: Mode
    key_kind: Literal["secret", "restricted"]
    key_livemode: bool | None
    """``livemode`` of an object the key fetched: the server's word on the key's mode."""
    account_id: str | None
    """None when the key may not read the account (restricted keys)."""
    prices: dict[str, StripePrice] = field(default_factory=dict)
    """Every price the config references for this mode that exists in this mode."""
    endpoints: list[StripeEndpoint] = field(default_factory=list)
    declared: dict[str, StripePriceDetail] = field(default_factory=dict)
    """The price holding each declared price's lookup key, active or archived, by key."""
    catalog_products: dict[str, StripeProduct] = field(default_factory=dict)
    """The Stripe products of ``declared``, by id (read along with them, no request more)."""
    in_use: set[str] = field(default_factory=set)
    """Of the declared prices a plan replaces, those that still have subscribers."""


@dataclass(frozen=True)
class LicenzyConnection(Fingerprinted):
    mode: Mode
    connected: bool
    stripe_account_id: str | None
    key_kind: str | None
    validated_at: str | None
    webhook_secret_set: bool
    webhook_secret_last4: str | None


@dataclass(frozen=True)
class LicenzyProduct(Fingerprinted):
    code: str
    mode: Mode
    kind: ProductKind
    stripe_price_id: str
    name: str | None
    status: Literal["active", "archived"]
    units: int | None
    duration_days: int | None
    metadata: dict[str, str]


@dataclass(frozen=True)
class LicenzyApiKey:
    id: str
    name: str
    mode: Mode
    revoked: bool


@dataclass
class LicenzyModeSnapshot:
    mode: Mode
    connection: LicenzyConnection
    products: dict[str, LicenzyProduct] = field(default_factory=dict)
    """Every product of the mode, active and archived, by code."""
    api_keys: list[LicenzyApiKey] = field(default_factory=list)


@dataclass
class RemoteState:
    project_id: str
    project_name: str
    stripe: dict[Mode, StripeSnapshot] = field(default_factory=dict)
    licenzy: dict[Mode, LicenzyModeSnapshot] = field(default_factory=dict)
    other_mode_prices: dict[Mode, set[str]] = field(default_factory=dict)
    """Price ids referenced in a mode but found in the other mode (the mode guard's evidence)."""
    requests: dict[str, int] = field(default_factory=dict)
    """HTTP requests made per system ("stripe.test", "licenzy", ...), for -v and benchmarks."""
