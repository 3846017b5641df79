"""Idempotency keys derived from what one write depends on, never from when, by whom, or from
the rest of the plan.

A write's key hashes the project, the write's address and step, what the plan observed of that
object (its fingerprint, or "absent") and the exact payload it sends, secrets replaced by a
salted hash. So two runs that saw the same object send the same key for the same write even
when they read the rest of the world at different moments: Stripe (which replays a key's first
answer for 24 h, a created endpoint's secret included) and Licenzy collapse them into one. A
re-run after a crash reuses the keys of the writes it repeats, and one key is never sent with
other parameters, which both systems refuse.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from licenzy_sync.config.secrets import Secret
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.model import ABSENT, Plan

PREFIX = "lzs-"
_SALT = b"licenzy-sync idempotency v1"
"""Fixed, so concurrent runs agree; it keeps a secret's stand-in from being a bare sha256."""


def secret_digest(secret: Secret) -> str:
    """A secret's stand-in in key material: equal values give equal digests, and the digest
    (inside a hash that is itself truncated) cannot give the value back."""
    return secret.digest(_SALT)


def write_key(project: str, address: str, step: str, observed: str, payload: Any = None) -> str:
    """The key of one write: ``step`` names it within the address (``create``, ``delete
    we_123``...), ``observed`` is the object's fingerprint as the plan read it, ``payload``
    what is sent, with no secret value in it."""
    material = json.dumps(
        [project, address, step, observed, payload],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return _key(material)


def plan_write_key(
    plan: Plan, address: Address, step: str, payload: Any = None, observed: str | None = None
) -> str:
    """`write_key` for a write of ``plan``: by default, of the object as the plan observed it
    (nothing else the plan read counts)."""
    if observed is None:
        observed = plan.fingerprints.get(str(address), ABSENT)
    return write_key(plan.project, str(address), step, observed, payload)


def successor(key: str, gone: str) -> str:
    """The key to use instead of ``key`` once its replayed answer named an object that no
    longer exists: every run that hits the same stale replay derives the same successor."""
    return _key(f"{key}|gone {gone}")


def _key(material: str) -> str:
    return PREFIX + hashlib.sha256(material.encode()).hexdigest()[:48]
