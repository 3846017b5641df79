"""Which account, mode and permissions an API key acts with, and the account-level reads.

As on Stripe, only keys that exist authenticate: the sandbox's default keys, and keys a test
or user registered through the control surface (for an account, and for a restricted key
with its permissions). Stripe decides the mode from the key alone, so the sandbox does too.
Keys are stored only as sha256 digests.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

from licenzy_sync.keys import Mode, classify, is_server_key
from licenzy_sync.sandbox.defaults import SANDBOX_STRIPE_KEYS
from licenzy_sync.sandbox.store import Tx
from licenzy_sync.sandbox.stripe_errors import StripeError
from licenzy_sync.sandbox.stripe_ids import ACCOUNT_SCOPE, DEFAULT_ACCOUNT_ID
from licenzy_sync.sandbox.stripe_params import Ctx
from licenzy_sync.stripe_permissions import ALL_PERMISSIONS, grants, required

ACCOUNT_KIND = "account"
KEY_KIND = "key_account"


@dataclass(frozen=True)
class KeyAccount:
    account_id: str
    mode: Mode
    kind: Literal["secret", "restricted"]
    permissions: frozenset[str] = frozenset()
    """What a restricted key may do (secret keys may do everything)."""

    def check(self, method: str, template: str) -> None:
        """Stripe's 403 when a restricted key lacks the permission the call needs."""
        needed = required(method, template)
        if self.kind == "secret" or needed is None or grants(self.permissions, needed):
            return
        raise StripeError(
            403,
            f"The provided key does not have the required permissions for this endpoint on "
            f"account '{self.account_id}'. Having the '{needed}' permission would allow this "
            "request to continue.",
        )


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
    binding = tx.get(KEY_KIND, ACCOUNT_SCOPE, key_digest(key))
    if binding is None and key in SANDBOX_STRIPE_KEYS.values():
        binding = {}
    if found is None or found.mode is None or binding is None:
        raise StripeError(401, "Invalid API Key provided.")
    if binding.get("revoked"):
        raise StripeError(401, "Expired API Key provided.", code="api_key_expired")
    kind: Literal["secret", "restricted"] = "secret" if found.kind == "secret" else "restricted"
    account = str(binding.get("account") or DEFAULT_ACCOUNT_ID)
    return KeyAccount(account, found.mode, kind, frozenset(binding.get("permissions") or ()))


def resolve_key(tx: Tx, key: str) -> KeyAccount | None:
    """The account and mode ``key`` acts in, or None where Stripe would reject it."""
    try:
        return authenticate(tx, key)
    except StripeError:
        return None


def register_key(
    tx: Tx,
    key: str,
    account_id: str = DEFAULT_ACCOUNT_ID,
    permissions: Collection[str] | None = None,
) -> None:
    """Make ``key`` a valid key acting for ``account_id`` (sandbox control), creating the
    account. A restricted key gets ``permissions`` (Stripe's ``rak_..._read``/``_write``
    names); without any it may read and write everything the sandbox emulates."""
    if not is_server_key(key):
        raise ValueError("only secret and restricted Stripe keys can be registered")
    found = classify(key)
    if permissions is not None and (found is None or found.kind != "restricted"):
        raise ValueError("only restricted (rk_) keys carry permissions")
    held = sorted(ALL_PERMISSIONS if permissions is None else set(permissions))
    unknown = sorted(set(held) - set(ALL_PERMISSIONS))
    if unknown:
        raise ValueError(
            f"unknown permission {unknown[0]}; known: {', '.join(sorted(ALL_PERMISSIONS))}"
        )
    ensure_account(tx, account_id)
    record: dict[str, Any] = {"account": account_id}
    if found is not None and found.kind == "restricted":
        record["permissions"] = held
    tx.put(KEY_KIND, ACCOUNT_SCOPE, key_digest(key), record)


def is_registered(tx: Tx, key: str) -> bool:
    """Whether ``key`` was ever registered (it may have been revoked since)."""
    return tx.get(KEY_KIND, ACCOUNT_SCOPE, key_digest(key)) is not None


def bind_key(tx: Tx, key: str, account_id: str) -> None:
    """Make ``key`` act for ``account_id``, keeping a restricted key's permissions."""
    binding = tx.get(KEY_KIND, ACCOUNT_SCOPE, key_digest(key)) or {}
    register_key(tx, key, account_id, binding.get("permissions"))


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
    """Restricted keys never get here: no restricted key holds the account permission."""
    return ensure_account(ctx.tx, ctx.account_id)


def retrieve_balance(ctx: Ctx) -> dict[str, Any]:
    """Always empty: the sandbox moves no money, and nothing in licenzy-sync reads amounts."""

    def empty() -> list[dict[str, Any]]:
        return [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}]

    return {"object": "balance", "available": empty(), "livemode": ctx.livemode, "pending": empty()}
