"""`plan --format json` and `plan --out`: one byte-exact serialisation for both.

Same bytes for the same plan, so saved plans can be diffed and hashed; UTF-8 is kept readable
(no ``\\u`` escapes) and NaN/Infinity are refused because they are not JSON.
"""

from __future__ import annotations

from licenzy_sync.plan.codec import plan_to_json
from licenzy_sync.plan.model import Plan


def render_json(plan: Plan) -> str:
    """The plan as indented JSON ending in a newline (docs/plan-format.md)."""
    return plan_to_json(plan, end="\n")
