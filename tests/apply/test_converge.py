"""The converge loop driven directly, without click or a terminal: the real providers against
a served sandbox, and another writer played by the test between planning and writing."""

from __future__ import annotations

import pytest

from licenzy_sync.apply.converge import ROUNDS, Session, converge
from licenzy_sync.apply.executor import Raced
from licenzy_sync.apply.interrupts import StopRequest
from licenzy_sync.apply.landing import ApplyStopped
from licenzy_sync.output import Console
from licenzy_sync.plan.model import Plan
from licenzy_sync.providers.retry import Channels
from licenzy_sync.runtime import Run
from licenzy_sync.sandbox.licenzy_base import mode_scope
from tests.world import CONFIG, PROJECT, World

CREDITS = "licenzy.test.product[CREDITS]"


def _session(world: World) -> Session:
    return Session(world.config, None, False, Channels(), Console(True))


def _planned(session: Session) -> tuple[Plan, Run]:
    return session.replan("all")


def _addresses(plan: Plan) -> set[str]:
    return {resource.address for resource in plan.changes}


def _rename_planned_then_product_deleted(world: World, session: Session) -> tuple[Plan, Run]:
    """A plan to rename a product, made just before another writer deletes that product."""
    world.converge()
    world.write(CONFIG.replace("name: Credits", "name: Credits pack"))
    plan, run = _planned(session)
    assert _addresses(plan) == {CREDITS}
    with world.sandbox.store.transaction() as tx:
        assert tx.delete("product", mode_scope(PROJECT, "test"), "CREDITS")
    return plan, run


def test_converge_writes_every_change_and_returns_a_plan_without_changes(world: World) -> None:
    session = _session(world)
    plan, run = _planned(session)
    assert plan.changes

    fresh, written = converge(plan, run, session, rounds=ROUNDS, stop=StopRequest())

    assert (fresh.changes, written) == ([], len(plan.changes))
    world.assert_converged()


def test_a_stop_requested_before_the_first_write_lands_nothing_and_reports_it(
    world: World,
) -> None:
    session = _session(world)
    plan, run = _planned(session)
    stop = StopRequest()
    stop.request("SIGTERM")

    with pytest.raises(ApplyStopped) as stopped:
        converge(plan, run, session, rounds=ROUNDS, stop=stop)

    assert stopped.value.signal == "SIGTERM"
    assert stopped.value.landing.written == []
    assert {r.address for r in stopped.value.landing.not_tried} == _addresses(plan)
    assert _addresses(_planned(session)[0]) == _addresses(plan)


def test_a_change_nobody_approved_ends_the_rounds_and_is_returned(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    session = _session(world)
    plan, run = _planned(session)
    world.write(CONFIG + "  TEAM:\n    kind: subscription\n    price: {test: price_1ProTest}\n")

    fresh, written = converge(plan, run, session, rounds=ROUNDS, stop=StopRequest())

    assert written == len(plan.changes)
    assert _addresses(fresh) == {"licenzy.test.product[TEAM]"}
    assert "planning again" not in capsys.readouterr().err


def test_another_writer_racing_the_last_round_is_raised(world: World) -> None:
    session = _session(world)
    plan, run = _rename_planned_then_product_deleted(world, session)

    with pytest.raises(Raced, match="removed by someone else during apply"):
        converge(plan, run, session, rounds=1, stop=StopRequest())


def test_another_writer_racing_an_earlier_round_means_planning_again(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    session = _session(world)
    plan, run = _rename_planned_then_product_deleted(world, session)

    fresh, written = converge(plan, run, session, rounds=2, stop=StopRequest())

    assert (fresh.changes, written) == ([], 1)
    said = capsys.readouterr().err
    assert f"{CREDITS}: removed by someone else during apply; planning again" in said
    world.assert_converged()
