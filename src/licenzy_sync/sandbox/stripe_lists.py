"""Stripe list pages: newest first, ``limit``, ``starting_after``/``ending_before``, ``has_more``.

A page reads at most ``limit + 1`` matching rows from the store's sequence index, so paging
through a large account costs O(page), as it does against Stripe.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from licenzy_sync.sandbox.http import EncodedList
from licenzy_sync.sandbox.store import decode
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


def equal_to(**fields: str | bool | None) -> dict[str, list[str | bool]]:
    """A `paginate` ``where`` keeping the objects whose top-level fields equal the given
    values; a field given None is not filtered on."""
    return {name: [value] for name, value in fields.items() if value is not None}


def paginate(
    ctx: Ctx,
    kind: str,
    params: Mapping[str, Any],
    *,
    url: str,
    label: str,
    match: Callable[[Obj], bool] | None = None,
    render: Callable[[Obj], Obj] | None = None,
    where: Mapping[str, Collection[str | int | bool]] | None = None,
) -> Obj:
    """One page of the objects of ``kind`` in the caller's account and mode that ``match``;
    ``where`` (see `Tx.iter`) narrows them first, in the store, without decoding the rest.

    Without ``match`` (``where`` says it all) nothing is decoded to choose the page, and
    without ``render`` (objects shown as stored) the page is spliced from the stored text."""
    limit = page_limit(params)
    after = opt_str(params, "starting_after") or None
    before = opt_str(params, "ending_before") or None
    if after and before:
        raise invalid_param(
            "ending_before",
            "You may only specify one of these parameters: ending_before, starting_after.",
        )
    rows = _rows(ctx, kind, label, after=after, before=before, where=where)
    picked = ((text, None) for _, text in rows) if match is None else _matching(rows, match)
    page = list(itertools.islice(picked, limit + 1))
    has_more = len(page) > limit
    del page[limit:]
    if before:
        page.reverse()
    data: EncodedList | list[Obj] = (
        EncodedList([text for text, _ in page])
        if render is None
        else [render(decode(text) if obj is None else obj) for text, obj in page]
    )
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _matching(
    rows: Iterator[tuple[int, str]], match: Callable[[Obj], bool]
) -> Iterator[tuple[str, Obj | None]]:
    """The rows ``match`` keeps, each with its decoded object (a render needs it again)."""
    for _, text in rows:
        obj = decode(text)
        if match(obj):
            yield text, obj


def _rows(
    ctx: Ctx,
    kind: str,
    label: str,
    *,
    after: str | None,
    before: str | None,
    where: Mapping[str, Collection[str | int | bool]] | None,
) -> Iterator[tuple[int, str]]:
    """The stored objects a page is taken from, nearest the cursor first."""
    if before:
        above = _cursor(ctx, kind, before, label, "ending_before")
        return ctx.tx.iter(
            kind, ctx.scope, newest_first=False, above_seq=above, where=where, text=True
        )
    below = _cursor(ctx, kind, after, label, "starting_after") if after else None
    return ctx.tx.iter(kind, ctx.scope, newest_first=True, below_seq=below, where=where, text=True)


def _cursor(ctx: Ctx, kind: str, id_: str, label: str, param: str) -> int:
    seq = ctx.tx.seq_of(kind, ctx.scope, id_)
    if seq is None:
        raise resource_missing(label, id_, param, status=400)
    return seq
