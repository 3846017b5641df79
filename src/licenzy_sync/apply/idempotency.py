"""Idempotency keys derived from what is being done, never from when or by whom.

Two processes applying the same plan to the same state compute the same keys, so Stripe and
Licenzy collapse their writes into one; a re-run after a crash reuses the keys of the writes
it repeats.
"""

from __future__ import annotations

import hashlib
import json

from licenzy_sync.plan.model import Plan

PREFIX = "lzs-"


def plan_id(plan: Plan) -> str:
    """The plan's identity: the remote objects it was computed from and what it will do."""
    content = {
        "project": plan.project,
        "fingerprints": plan.fingerprints,
        "resources": [
            {"address": r.address, "action": r.action, "after": r.after}
            for r in sorted(plan.resources, key=lambda r: r.address)
            if r.action != "no-op"
        ],
    }
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def idempotency_key(plan: str, address: str, action: str, step: str = "") -> str:
    digest = hashlib.sha256(f"{plan}|{address}|{action}|{step}".encode()).hexdigest()
    return PREFIX + digest[:48]
