"""Stable resource addresses: ``<system>.<mode>.<type>[<name>]``."""

from __future__ import annotations

from licenzy_sync.keys import Mode

TENANT = "tenant"


def product(mode: Mode, code: str) -> str:
    return f"licenzy.{mode}.product[{code}]"


def webhook_endpoint(mode: Mode) -> str:
    return f"stripe.{mode}.webhook_endpoint[{TENANT}]"


def webhook_secret(mode: Mode) -> str:
    return f"licenzy.{mode}.webhook_secret[{TENANT}]"


def connection(mode: Mode) -> str:
    return f"licenzy.{mode}.stripe_connection[{TENANT}]"


def price(mode: Mode, price_id: str) -> str:
    return f"stripe.{mode}.price[{price_id}]"


def stripe_account(mode: Mode) -> str:
    return f"stripe.{mode}.account[key]"


def api_keys(mode: Mode) -> str:
    return f"licenzy.{mode}.api_keys[all]"
