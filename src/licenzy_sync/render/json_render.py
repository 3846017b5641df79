"""`plan --format json` and `plan --out`: one byte-exact serialisation for both.

Same bytes for the same plan, so saved plans can be diffed and hashed; UTF-8 is kept readable
(no ``\\u`` escapes) and NaN/Infinity are refused because they are not JSON.
"""

from __future__ import annotations

import json

from licenzy_sync.plan.model import Plan
from licenzy_sync.plan.serialize import plan_to_dict


def render_json(plan: Plan) -> str:
    """The plan as indented JSON ending in a newline (docs/plan-format.md)."""
    return json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
