"""Identifiers shaped like Stripe's, and the store scopes Stripe state lives in."""

from __future__ import annotations

import secrets
import string

from licenzy_sync.keys import Mode

_ALPHABET = string.ascii_letters + string.digits

DEFAULT_ACCOUNT_ID = "acct_1LzSandboxDefault"
ACCOUNT_SCOPE = "stripe"
"""Scope of objects shared by both modes: accounts and key bindings."""


_UNBIASED = 256 - 256 % len(_ALPHABET)
"""Random bytes below this map onto the alphabet evenly (``byte % 62``); the few others are
dropped."""


def _token(length: int) -> str:
    """``length`` characters drawn evenly from the alphabet, from one read of the system's
    randomness for the whole token rather than one per character (a request id's 14 reads
    were 4% of the server's time for a page)."""
    chars: list[str] = []
    while len(chars) < length:
        drawn = secrets.token_bytes(length)
        chars += [_ALPHABET[b % len(_ALPHABET)] for b in drawn if b < _UNBIASED]
    return "".join(chars[:length])


def new_id(prefix: str) -> str:
    """Random, like Stripe's, and never reused after a sandbox reset, so an id remembered from
    before (in a saved plan, say) cannot silently name a different object."""
    return f"{prefix}_1{_token(23)}"


def new_request_id() -> str:
    return f"req_{_token(14)}"


def new_webhook_secret() -> str:
    return f"whsec_{_token(32)}"


def new_checkout_session_id(mode: Mode) -> str:
    """Checkout Session ids name their mode and are longer than other ids, like Stripe's."""
    return f"cs_{mode}_a1{_token(58)}"


def new_url_fragment() -> str:
    """The opaque fragment Stripe appends to a hosted checkout URL."""
    return _token(64)


def scope(account_id: str, mode: Mode) -> str:
    """Test and live state of one account never share a scope, so they cannot leak."""
    return f"{account_id}/{mode}"
