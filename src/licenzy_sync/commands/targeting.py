"""`--target` for `plan` and `apply`: the option, and every project's plan narrowed to it
(`plan.targeting` holds what narrowing means)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from licenzy_sync.output import Console
    from licenzy_sync.plan.model import Plan
    from licenzy_sync.projects import Outcome

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


def target_option(what: str) -> Callable[[F], F]:
    return click.option(
        "--target",
        "targets",
        metavar="ADDRESS",
        multiple=True,
        help=f"{what} only this address (e.g. 'stripe.test.webhook_endpoint[tenant]'), what it "
        "depends on and the writes that take a value it produces; errors elsewhere are shown "
        "as not targeted and do not block. Repeatable. For exceptional use only.",
    )


def parsed(texts: Sequence[str], console: Console) -> tuple[str, ...]:
    """The --target values checked before any request; warns on stderr when there are any."""
    from licenzy_sync.plan.targeting import parse_targets

    targets = parse_targets(texts)
    if targets:
        warn(console)
    return targets


def warn(console: Console) -> None:
    """Terraform's warning: a targeted plan is not the whole truth."""
    from licenzy_sync.plan.targeting import WARNING

    console.err(console.style(WARNING, "yellow", stream_color=console.err_color))


def narrowed(
    outcomes: Sequence[Outcome[R]],
    targets: Sequence[str],
    plan_of: Callable[[R], Plan],
    with_plan: Callable[[R, Plan], R],
) -> list[Outcome[R]]:
    """Every planned project narrowed to ``targets``; refused (exit 1) when a target names
    nothing in any project."""
    from licenzy_sync.plan.targeting import narrow, require_known

    if not targets:
        return list(outcomes)
    require_known([plan_of(o.result) for o in outcomes if o.result is not None], targets)

    def narrowed_result(result: R) -> R:
        return with_plan(result, narrow(plan_of(result), targets))

    return [
        o if o.result is None else replace(o, result=narrowed_result(o.result)) for o in outcomes
    ]
