"""Every managed kind, in dependency order: the planner plans them in this order (a unit may
read the changes of the units before it), and plans list their changes in it."""

from __future__ import annotations

from licenzy_sync.kinds.base import Kind
from licenzy_sync.kinds.default_price import DefaultPriceKind
from licenzy_sync.kinds.product import ProductKind
from licenzy_sync.kinds.stripe_price import StripePriceKind
from licenzy_sync.kinds.webhook_endpoint import EndpointKind
from licenzy_sync.kinds.webhook_secret import SecretKind
from licenzy_sync.plan.model import ResourceChange

KINDS: tuple[Kind, ...] = (
    EndpointKind(),
    SecretKind(),
    StripePriceKind(),
    ProductKind(),
    DefaultPriceKind(),
)
_BY_NAME = {unit.name: unit for unit in KINDS}
_POSITION = {unit.name: index for index, unit in enumerate(KINDS)}
UNKNOWN = len(KINDS)
"""The position of a kind no unit manages (only a hand-made plan file can hold one)."""


def unit_of(change: ResourceChange) -> Kind | None:
    return _BY_NAME.get(change.type)


def position(change: ResourceChange) -> int:
    return _POSITION.get(change.type, UNKNOWN)
