"""Looking up what an earlier unit planned costs one pass over the changes, not one per lookup.

A unit asks for the change at an address once per object (each product's declared price, each
default price); a scan per question made planning and applying declared prices quadratic in
the catalog. Counted in list items visited, not timed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from licenzy_sync.plan import addresses
from licenzy_sync.plan.model import Plan, ResourceChange

SIZE = 300


class Counted(list[ResourceChange]):
    """A list that counts the items every iteration over it, or slice of it, visits."""

    visited = 0

    def __iter__(self) -> Iterator[ResourceChange]:
        for item in super().__iter__():
            self.visited += 1
            yield item

    def __getitem__(self, index: Any) -> Any:
        got = super().__getitem__(index)
        self.visited += len(got) if isinstance(index, slice) else 1
        return got


def changes(size: int) -> Counted:
    return Counted(
        ResourceChange(at=addresses.stripe_price("test", f"P{i:04d}"), action="create")
        for i in range(size)
    )


def test_every_change_is_found_in_one_pass_over_the_plan() -> None:
    resources = changes(SIZE)
    plan = Plan("proj", ["test"], resources=resources)
    for change in reversed(resources):
        assert plan.change_at(change.at) is change
    assert plan.change_at(addresses.product("test", "P0000")) is None
    assert resources.visited <= SIZE


def test_changes_appended_after_a_lookup_are_found_and_the_first_one_wins() -> None:
    resources = changes(2)
    plan = Plan("proj", ["test"], resources=resources)
    assert plan.change_at(addresses.stripe_price("test", "NEW")) is None
    later = ResourceChange(at=addresses.stripe_price("test", "NEW"), action="create")
    again = ResourceChange(at=addresses.stripe_price("test", "NEW"), action="update")
    resources.extend([later, again])
    assert plan.change_at(later.at) is later


def test_a_plan_given_other_changes_is_not_answered_from_the_old_ones() -> None:
    plan = Plan("proj", ["test"], resources=changes(3))
    first = plan.resources[0]
    assert plan.change_at(first.at) is first
    plan.resources = changes(0)
    assert plan.change_at(first.at) is None
