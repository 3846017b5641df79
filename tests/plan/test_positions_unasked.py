"""Positions in licenzy.yaml are made only for a message that shows one: a large catalog's
take as long to make as its data (`yamlsource`), and a plan with nothing to report needs none."""

from __future__ import annotations

import pytest

from licenzy_sync.config.load import load_config
from licenzy_sync.output import Console
from licenzy_sync.rules.static import static_findings
from licenzy_sync.workflow import load_checked, plan_loaded
from tests.world import World


def test_a_plan_with_nothing_to_report_makes_no_position(world: World) -> None:
    world.converge()
    loaded, static = load_checked(world.config)
    plan, _ = plan_loaded(loaded, static, "all", sandbox=None, prune=False, console=Console())
    assert (static, plan.findings, plan.changes) == ([], [], [])
    assert "values" not in vars(loaded.source) and "keys" not in vars(loaded.source)


def test_a_finding_still_shows_where_it_is(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_TEST_KEY", world.planted["STRIPE_LIVE_KEY"])
    loaded = load_config(world.config)
    static = static_findings(loaded)
    assert [(f.rule_id, f.field) for f in static] == [("LZ021", "modes.test.stripe.secret_key")]
    assert static[0].position == loaded.position("modes", "test", "stripe", "secret_key")
    assert static[0].position is not None and static[0].position.line > 1
