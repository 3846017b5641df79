"""`plan.targeting` on hand-made plans: what joins a target, and what stops blocking."""

from __future__ import annotations

import pytest

from licenzy_sync.kinds.webhook_endpoint import SIGNING_SECRET
from licenzy_sync.plan import addresses
from licenzy_sync.plan.model import KnownAfterApply, Plan, ResourceChange, SecretBinding
from licenzy_sync.plan.targeting import (
    NOT_TARGETED,
    BadTarget,
    narrow,
    parse_targets,
    require_known,
)
from licenzy_sync.rules.catalog import CONNECTION_MISSING, PRICE_INACTIVE, WRITE_PERMISSION_MISSING

ENDPOINT = addresses.webhook_endpoint("test")
SECRET = addresses.webhook_secret("test")
PRO = addresses.product("test", "PRO")
LIVE_PRO = addresses.product("live", "PRO")


def _plan() -> Plan:
    """A deleted test endpoint (its new secret goes to Licenzy) and two product changes, one
    blocked by an inactive price."""
    secret = KnownAfterApply("(known after apply)", of=ENDPOINT, output=SIGNING_SECRET)
    return Plan(
        project="proj_x",
        modes=["test", "live"],
        resources=[
            ResourceChange(at=ENDPOINT, action="create"),
            ResourceChange(at=SECRET, action="update", after={"source": secret}),
            ResourceChange(at=PRO, action="update"),
            ResourceChange(at=LIVE_PRO, action="create"),
        ],
        findings=[
            PRICE_INACTIVE.finding("price_1 is inactive in Stripe", address=str(PRO)),
            CONNECTION_MISSING.finding(
                "no live connection", address=str(addresses.connection("live"))
            ),
        ],
        fingerprints={str(PRO): "f1", str(ENDPOINT): "absent", "stripe.test.price[price_1]": "f2"},
    )


def _addresses(plan: Plan) -> list[str]:
    return [resource.address for resource in plan.resources]


def test_a_target_takes_the_write_that_needs_its_value_and_the_reverse() -> None:
    for target in (ENDPOINT, SECRET):
        narrowed = narrow(_plan(), [str(target)])
        assert _addresses(narrowed) == [str(ENDPOINT), str(SECRET)]
        assert narrowed.targets == [str(target)]


def test_errors_outside_the_targets_become_not_targeted_warnings() -> None:
    narrowed = narrow(_plan(), [str(ENDPOINT)])
    assert not narrowed.has_errors and not narrowed.blocks_apply
    messages = {f.message for f in narrowed.findings}
    assert messages == {
        f"{NOT_TARGETED}price_1 is inactive in Stripe",
        f"{NOT_TARGETED}no live connection",
    }
    assert narrowed.fingerprints == {str(ENDPOINT): "absent", "stripe.test.price[price_1]": "f2"}


def test_errors_on_a_target_and_on_its_modes_wiring_still_block() -> None:
    assert narrow(_plan(), [str(PRO)]).has_errors
    live = narrow(_plan(), [str(LIVE_PRO)])
    assert [f.rule_id for f in live.findings if f.is_error] == [CONNECTION_MISSING.id]


def test_a_write_permission_finding_blocks_only_a_plan_that_writes_there() -> None:
    plan = _plan()
    plan.findings = [WRITE_PERMISSION_MISSING.finding("read-only key", address=str(ENDPOINT))]
    assert plan.blocks_apply
    assert narrow(plan, [str(ENDPOINT)]).blocks_apply
    assert not narrow(plan, [str(LIVE_PRO)]).blocks_apply


def test_without_targets_the_plan_is_unchanged() -> None:
    plan = _plan()
    assert narrow(plan, []) is plan


def test_targets_are_parsed_canonical_and_once() -> None:
    text = str(ENDPOINT)
    assert parse_targets([text, f" {text}", str(PRO)]) == (text, str(PRO))
    with pytest.raises(BadTarget, match=r"the grammar is <system>\.<mode>\.<kind>\[<name>\]"):
        parse_targets(["stripe.test.webhook_endpoint"])


def test_an_unknown_target_is_refused_with_near_matches() -> None:
    require_known([_plan()], [str(PRO), "stripe.test.price[price_1]"])
    with pytest.raises(BadTarget, match=r"did you mean licenzy\.test\.product\[PRO\]"):
        require_known([_plan()], ["licenzy.test.product[PRO_]"])


def test_a_secret_binding_stays_only_with_the_write_that_stores_it() -> None:
    plan = _plan()
    live_secret = addresses.webhook_secret("live")
    stored = {"source": "${LIVE_WEBHOOK_SECRET}"}
    plan.resources.append(ResourceChange(at=live_secret, action="update", after=stored))
    plan.secret_bindings = {"LIVE_WEBHOOK_SECRET": SecretBinding("0" * 32, "1" * 64)}
    assert narrow(plan, [str(live_secret)]).secret_bindings == plan.secret_bindings
    assert narrow(plan, [str(ENDPOINT)]).secret_bindings == {}
