"""Stable resource addresses: ``<system>.<mode>.<kind>[<name>]``, the one grammar for both
directions (plan model, plan files, findings, fingerprints, renderers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from licenzy_sync.keys import MODES, Mode

System = Literal["stripe", "licenzy"]
SYSTEMS: tuple[System, ...] = ("licenzy", "stripe")
TENANT = "tenant"


@dataclass(frozen=True)
class Address:
    system: System
    mode: Mode
    kind: str
    """Lower-case letters, digits and underscores: ``product``, ``webhook_endpoint``..."""
    name: str

    def __str__(self) -> str:
        return f"{self.system}.{self.mode}.{self.kind}[{self.name}]"

    @classmethod
    def parse(cls, text: str) -> Address | None:
        """The address ``text`` spells, or None if it is not one.

        The name is everything between the first ``[`` and the final ``]``, so names may
        contain brackets and dots without any escaping.
        """
        head, bracket, rest = text.partition("[")
        parts = head.split(".")
        if not bracket or not rest.endswith("]") or len(parts) != 3:
            return None
        system, mode, kind = parts
        name = rest[:-1]
        if system not in SYSTEMS or mode not in MODES or not is_kind(kind) or not name:
            return None
        return cls(system, mode, kind, name)


def is_kind(value: str) -> bool:
    """Whether ``value`` may be an address's kind."""
    return (
        bool(value)
        and value[0].isascii()
        and value[0].islower()
        and all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in value)
    )


def product(mode: Mode, code: str) -> Address:
    return Address("licenzy", mode, "product", code)


def webhook_endpoint(mode: Mode) -> Address:
    return Address("stripe", mode, "webhook_endpoint", TENANT)


def webhook_secret(mode: Mode) -> Address:
    return Address("licenzy", mode, "webhook_secret", TENANT)


def connection(mode: Mode) -> Address:
    return Address("licenzy", mode, "stripe_connection", TENANT)


def stripe_price(mode: Mode, code: str) -> Address:
    """The declared price of product ``code`` (with its Stripe product)."""
    return Address("stripe", mode, "stripe_price", code)


def default_price(mode: Mode, code: str) -> Address:
    """The Stripe product's default price of product ``code``: which price is current."""
    return Address("stripe", mode, "default_price", code)


def price(mode: Mode, price_id: str) -> Address:
    return Address("stripe", mode, "price", price_id)


def stripe_account(mode: Mode) -> Address:
    return Address("stripe", mode, "account", "key")


def api_keys(mode: Mode) -> Address:
    return Address("licenzy", mode, "api_keys", "all")
