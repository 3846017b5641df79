"""Stripe list pages: newest first, ``limit``, ``starting_after``/``ending_before``, ``has_more``.

A page reads at most ``limit + 1`` matching rows from the store's sequence index, so paging
through a large account costs O(page), as it does against Stripe.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Mapping
from typing import Any

from licenzy_sync.sandbox.stripe_errors import invalid_param, resource_missing
from licenzy_sync.sandbox.stripe_params import Ctx, opt_dict, opt_int, opt_str

Obj = dict[str, Any]

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
_RANGE_OPS: dict[str, Callable[[int, int], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def page_limit(params: Mapping[str, Any]) -> int:
    limit = opt_int(params, "limit")
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1:
        raise invalid_param(
            "limit", "This value must be greater than or equal to 1.", "parameter_invalid_integer"
        )
    if limit > MAX_LIMIT:
        raise invalid_param(
            "limit",
            f"This value must be less than or equal to {MAX_LIMIT}.",
            "parameter_invalid_integer",
        )
    return limit


def created_filter(params: Mapping[str, Any]) -> Callable[[Obj], bool]:
    """``created`` as an exact epoch or a ``gt/gte/lt/lte`` range, as Stripe's lists take it."""
    if "created" not in params:
        return lambda obj: True
    if not isinstance(params["created"], dict):
        exact = opt_int(params, "created")
        return lambda obj: obj["created"] == exact
    bounds = opt_dict(params, "created") or {}
    checks: list[tuple[Callable[[int, int], bool], int]] = []
    for op in bounds:
        compare = _RANGE_OPS.get(op)
        value = opt_int(bounds, op)
        if compare is None or value is None:
            raise invalid_param(f"created[{op}]", f"Received unknown parameter: created[{op}]")
        checks.append((compare, value))
    return lambda obj: all(compare(int(obj["created"]), value) for compare, value in checks)


def paginate(
    ctx: Ctx,
    kind: str,
    params: Mapping[str, Any],
    *,
    url: str,
    label: str,
    match: Callable[[Obj], bool],
    render: Callable[[Obj], Obj],
    where: Mapping[str, Collection[str | int | bool]] | None = None,
) -> Obj:
    """One page of the objects of ``kind`` in the caller's account and mode that ``match``;
    ``where`` (see `Tx.iter`) narrows them first, in the store, without decoding the rest."""
    limit = page_limit(params)
    after = opt_str(params, "starting_after") or None
    before = opt_str(params, "ending_before") or None
    if after and before:
        raise invalid_param(
            "ending_before",
            "You may only specify one of these parameters: ending_before, starting_after.",
        )
    if before:
        rows = ctx.tx.iter(
            kind,
            ctx.scope,
            newest_first=False,
            above_seq=_cursor(ctx, kind, before, label, "ending_before"),
            where=where,
        )
    else:
        below = _cursor(ctx, kind, after, label, "starting_after") if after else None
        rows = ctx.tx.iter(kind, ctx.scope, newest_first=True, below_seq=below, where=where)
    page: list[Obj] = []
    for _, obj in rows:
        if match(obj):
            page.append(obj)
            if len(page) > limit:
                break
    has_more = len(page) > limit
    del page[limit:]
    if before:
        page.reverse()
    return {
        "object": "list",
        "data": [render(obj) for obj in page],
        "has_more": has_more,
        "url": url,
    }


def _cursor(ctx: Ctx, kind: str, id_: str, label: str, param: str) -> int:
    seq = ctx.tx.seq_of(kind, ctx.scope, id_)
    if seq is None:
        raise resource_missing(label, id_, param, status=400)
    return seq
