"""Which account and mode an API key acts in, and the account-level reads.

Stripe decides the mode from the key alone, so the sandbox does too: any well-formed secret
or restricted key works, in the mode its prefix names, for the default account unless the
control surface bound it elsewhere or revoked it. Keys are stored only as sha256 digests.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any, Literal

from licenzy_sync.keys import Mode, classify, is_server_key
from licenzy_sync.sandbox.store import Tx
from licenzy_sync.sandbox.stripe_errors import StripeError
from licenzy_sync.sandbox.stripe_ids import ACCOUNT_SCOPE, DEFAULT_ACCOUNT_ID
from licenzy_sync.sandbox.stripe_params import Ctx

ACCOUNT_KIND = "account"
KEY_KIND = "key_account"
ACCOUNT_PERMISSION = "rak_accounts_kyc_basic_read"
"""The permission Stripe names when a restricted key reads /v1/account."""


@dataclass(frozen=True)
class KeyAccount:
    account_id: str
    mode: Mode
    kind: Literal["secret", "restricted"]


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def authenticate(tx: Tx, key: str | None) -> KeyAccount:
    """The account a request acts for, or the 401 Stripe answers. Messages never quote the
    key, not even masked: sandbox logs end up in CI output."""
    if not key:
        raise StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
        )
    found = classify(key)
    if found is not None and found.kind == "publishable":
        raise StripeError(
            401,
            "This API call cannot be made with a publishable API key. Please use a secret API key.",
            code="secret_key_required",
        )
    if found is None or found.mode is None or found.kind not in ("secret", "restricted"):
        raise StripeError(401, "Invalid API Key provided.")
    binding = tx.get(KEY_KIND, ACCOUNT_SCOPE, key_digest(key)) or {}
    if binding.get("revoked"):
        raise StripeError(401, "Expired API Key provided.", code="api_key_expired")
    kind: Literal["secret", "restricted"] = "secret" if found.kind == "secret" else "restricted"
    return KeyAccount(str(binding.get("account") or DEFAULT_ACCOUNT_ID), found.mode, kind)


def resolve_key(tx: Tx, key: str) -> KeyAccount | None:
    """The account and mode ``key`` acts in, or None where Stripe would reject it."""
    try:
        return authenticate(tx, key)
    except StripeError:
        return None


def bind_key(tx: Tx, key: str, account_id: str) -> None:
    """Make ``key`` act for ``account_id`` (sandbox control), creating the account."""
    if not is_server_key(key):
        raise ValueError("only secret and restricted Stripe keys can be bound to an account")
    ensure_account(tx, account_id)
    tx.put(KEY_KIND, ACCOUNT_SCOPE, key_digest(key), {"account": account_id})


def revoke_key(tx: Tx, key: str) -> None:
    """Make Stripe reject ``key`` from now on, as after a roll in the Dashboard."""
    binding = tx.get(KEY_KIND, ACCOUNT_SCOPE, key_digest(key)) or {}
    tx.put(KEY_KIND, ACCOUNT_SCOPE, key_digest(key), {**binding, "revoked": True})


def ensure_account(tx: Tx, account_id: str) -> dict[str, Any]:
    account = tx.get(ACCOUNT_KIND, ACCOUNT_SCOPE, account_id)
    if account is None:
        account = {
            "id": account_id,
            "object": "account",
            "business_profile": {
                "mcc": None,
                "name": "Licenzy Sync Sandbox",
                "product_description": None,
                "support_address": None,
                "support_email": None,
                "support_phone": None,
                "support_url": None,
                "url": None,
            },
            "business_type": None,
            "charges_enabled": True,
            "controller": {"type": "account"},
            "country": "US",
            "created": int(time.time()),
            "default_currency": "usd",
            "details_submitted": True,
            "email": None,
            "metadata": {},
            "payouts_enabled": True,
            "type": "standard",
        }
        tx.put(ACCOUNT_KIND, ACCOUNT_SCOPE, account_id, account)
    return account


def retrieve_account(ctx: Ctx) -> dict[str, Any]:
    if ctx.restricted:
        raise StripeError(
            403,
            f"The provided key does not have the required permissions for this endpoint on "
            f"account '{ctx.account_id}'. Having the '{ACCOUNT_PERMISSION}' permission would "
            "allow this request to continue.",
        )
    return ensure_account(ctx.tx, ctx.account_id)


def retrieve_balance(ctx: Ctx) -> dict[str, Any]:
    """Always empty: the sandbox moves no money, and nothing in licenzy-sync reads amounts."""

    def empty() -> list[dict[str, Any]]:
        return [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}]

    return {"object": "balance", "available": empty(), "livemode": ctx.livemode, "pending": empty()}
