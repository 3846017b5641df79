"""Golden files for the three renderers on hand-built plans.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/render`` and review
the diff of tests/render/golden/ like any other code change.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from licenzy_sync.findings import Finding, Position, Severity
from licenzy_sync.keys import Mode
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.canonical import canonical
from licenzy_sync.plan.codec_read import plan_from_json
from licenzy_sync.plan.model import Action, FieldChange, Plan, ResourceChange
from licenzy_sync.render.json_render import render_json
from licenzy_sync.render.markdown import render_markdown
from licenzy_sync.render.text import render_text
from tests.render.plan_schema import assert_valid_plan

GOLDEN = Path(__file__).parent / "golden"
EVENTS = ["checkout.session.completed", "customer.subscription.deleted", "invoice.paid"]


def product(
    mode: Mode,
    code: str,
    action: Action,
    *,
    reason: str = "",
    changes: tuple[FieldChange, ...] = (),
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> ResourceChange:
    return ResourceChange(
        at=Address("licenzy", mode, "product", code),
        action=action,
        reason=reason,
        changes=changes,
        before=before,
        after=after,
    )


def no_changes() -> Plan:
    return Plan(
        project="proj_acme",
        modes=["test", "live"],
        config_file="licenzy.yaml",
        resources=[
            product("test", "PRO_MONTHLY", "no-op"),
            product("live", "PRO_MONTHLY", "no-op"),
        ],
        fingerprints={
            "licenzy.live.product[PRO_MONTHLY]": "sha256:" + "b" * 64,
            "licenzy.test.product[PRO_MONTHLY]": "sha256:" + "a" * 64,
        },
    )


def mixed_with_findings() -> Plan:
    """Every action, findings of both severities, resources deliberately out of order."""
    return Plan(
        project="proj_acme",
        modes=["live", "test"],
        config_file="licenzy.yaml",
        resources=[
            product(
                "test",
                "OLD_PLAN",
                "archive",
                reason="not in licenzy.yaml; created by licenzy-sync (--prune)",
                before={"kind": "subscription", "name": "Old plan", "status": "active"},
            ),
            product(
                "test",
                "PRO_MONTHLY",
                "update",
                reason="name differs from licenzy.yaml",
                changes=(FieldChange("name", "Pro", "Pro (monthly)"),),
                before={"kind": "subscription", "name": "Pro"},
                after={"kind": "subscription", "name": "Pro (monthly)"},
            ),
            product(
                "test",
                "CREDITS_1K",
                "create",
                reason="in licenzy.yaml, not in Licenzy",
                after={
                    "kind": "usage_pack",
                    "name": "1,000 credits",
                    "stripe_price_id": "price_1Credits",
                    "units": 1000,
                },
            ),
            product("test", "DAY_PASS", "no-op"),
        ],
        findings=[
            Finding(
                "LZ009",
                Severity.WARNING,
                "price price_1Pro is mapped to PRO_MONTHLY and PRO_PROMO in test",
                field="products.PRO_PROMO.price.test",
                position=Position("licenzy.yaml", 31, 20),
                hint="give each product its own Stripe price unless the duplication is intended",
            ),
            Finding(
                "LZ104",
                Severity.ERROR,
                "price price_1Live is inactive in Stripe",
                field="products.PRO_MONTHLY.price.live",
                position=Position("licenzy.yaml", 14, 26),
                hint="reactivate the price in the Stripe dashboard or map another one",
                address="licenzy.live.product[PRO_MONTHLY]",
            ),
            Finding(
                "LZ120",
                Severity.ERROR,
                "no Licenzy API key exists for live mode",
                hint="create one in the Licenzy portal (licenzy-sync never creates keys)",
            ),
        ],
        fingerprints={"licenzy.test.product[OLD_PLAN]": "sha256:" + "c" * 64},
    )


def replace_with_reason() -> Plan:
    return Plan(
        project="proj_acme",
        modes=["test"],
        config_file="config/licenzy.yaml",
        resources=[
            ResourceChange(
                at=Address("stripe", "test", "webhook_endpoint", "tenant"),
                action="replace",
                reason="the url changed; Stripe keeps one signing secret per endpoint",
                changes=(
                    FieldChange(
                        "url",
                        "https://old.example/hook",
                        "https://licenzy.app/v1/webhooks/stripe/tenant",
                    ),
                    FieldChange("enabled_events", EVENTS[:2], EVENTS),
                ),
                before={
                    "url": "https://old.example/hook",
                    "enabled_events": EVENTS[:2],
                    "status": "enabled",
                },
                after={
                    "url": "https://licenzy.app/v1/webhooks/stripe/tenant",
                    "enabled_events": EVENTS,
                    "status": "enabled",
                },
            ),
        ],
        fingerprints={"stripe.test.webhook_endpoint[tenant]": "sha256:" + "d" * 64},
    )


def secret_free() -> Plan:
    """A new endpoint and its signing secret: the plan says *that* a secret is stored, never it."""
    return Plan(
        project="proj_acme",
        modes=["test"],
        config_file="licenzy.yaml",
        resources=[
            ResourceChange(
                at=Address("stripe", "test", "webhook_endpoint", "tenant"),
                action="create",
                reason="webhook.manage is true and no endpoint has the tenant url",
                after={
                    "url": "https://licenzy.app/v1/webhooks/stripe/tenant",
                    "enabled_events": EVENTS,
                    "status": "enabled",
                },
            ),
            ResourceChange(
                at=Address("licenzy", "test", "webhook_secret", "tenant"),
                action="update",
                reason="store the signing secret of the endpoint created above",
                changes=(
                    FieldChange("secret_set", False, True),
                    FieldChange("source", None, "stripe.test.webhook_endpoint[tenant]"),
                ),
                before={"secret_set": False, "source": None},
                after={"secret_set": True, "source": "stripe.test.webhook_endpoint[tenant]"},
            ),
        ],
    )


# The planner's shapes, as `plan` makes them: what a user meets in the text plan.
MANAGED = {"managed_by": "licenzy-sync"}
DESCRIPTION = "Licenzy tenant webhook (managed by licenzy-sync)"
TENANT_URL = "https://licenzy.app/v1/webhooks/stripe/tenant"
REQUIRED = [
    "charge.dispute.closed",
    "charge.dispute.created",
    "charge.refunded",
    "checkout.session.completed",
    "checkout.session.expired",
    "customer.subscription.created",
    "customer.subscription.deleted",
    "customer.subscription.updated",
    "invoice.payment_failed",
    "invoice.payment_succeeded",
    "refund.created",
    "refund.updated",
]


def acme(resources: list[ResourceChange], **fields: Any) -> Plan:
    """A test-mode plan of proj_acme, as `plan` makes one for a plain licenzy.yaml."""
    return Plan("proj_acme", ["test"], resources, config_file="licenzy.yaml", **fields)


def endpoint(
    action: Action, reason: str, before: dict[str, Any] | None, after: dict[str, Any]
) -> ResourceChange:
    changes = tuple(
        FieldChange(k, before[k], after[k]) for k in after if before and before[k] != after[k]
    )
    return ResourceChange(
        at=Address("stripe", "test", "webhook_endpoint", "tenant"),
        action=action,
        reason=reason,
        changes=changes,
        before=before,
        after=after,
    )


def stored_secret(action: Action, reason: str, source: str) -> ResourceChange:
    return ResourceChange(
        at=Address("licenzy", "test", "webhook_secret", "tenant"),
        action=action,
        reason=reason,
        changes=(FieldChange("source", None, source),),
        before={"stored": action == "update"},
        after={"stored": True, "source": source},
    )


def managed_endpoint(**fields: Any) -> dict[str, Any]:
    return {
        "url": TENANT_URL,
        "enabled_events": REQUIRED,
        "status": "enabled",
        "description": DESCRIPTION,
        "metadata": MANAGED,
        **fields,
    }


def managed_product(kind: str, price: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "stripe_price_id": price,
        "name": name,
        "units": None,
        "duration_days": None,
        "metadata": MANAGED,
        "status": "active",
        **fields,
    }


def added_event() -> Plan:
    """The managed endpoint lacks one required event: one event added, not two lists."""
    before = {"id": "we_1Tenant", **managed_endpoint(enabled_events=REQUIRED[:-2] + REQUIRED[-1:])}
    return acme(
        [endpoint("update", "", before, managed_endpoint())],
        fingerprints={"stripe.test.webhook_endpoint[tenant]": "sha256:" + "e" * 64},
    )


def created_product() -> Plan:
    """A new product and a new managed endpoint: no markers, status or description shown."""
    credits = managed_product(
        "usage_pack", "price_1Credits", "Credits", units=100, metadata={"tier": "gold", **MANAGED}
    )
    return acme(
        [
            product("test", "CREDITS", "create", reason="not in Licenzy", after=credits),
            endpoint("create", "no endpoint delivers to Licenzy", None, managed_endpoint()),
            stored_secret(
                "create",
                "Licenzy does not hold the endpoint's signing secret",
                "the new endpoint's signing secret",
            ),
        ]
    )


def replaced_endpoint() -> Plan:
    """Duplicated managed endpoints: what is replaced, why, and what becomes of the old ones."""
    before = {
        "id": "we_1Old",
        **managed_endpoint(url="https://old.example/hook"),
        "duplicates": ["we_2Dup", "we_3Dup"],
    }
    why = (
        "3 endpoints carry licenzy-sync's marker (one is kept), and Stripe reveals a secret "
        "only at creation"
    )
    return acme(
        [
            endpoint("replace", why, before, managed_endpoint()),
            stored_secret(
                "update",
                "Licenzy holds a different signing secret",
                "the replacement endpoint's signing secret",
            ),
        ],
        fingerprints={"stripe.test.webhook_endpoint[tenant]": "sha256:" + "f" * 64},
    )


def archived_product() -> Plan:
    """`--prune`: what is archived, in one line; no `status: "active"`."""
    before = managed_product("subscription", "price_1Old", "Old plan")
    archive = product(
        "test",
        "OLD_PLAN",
        "archive",
        reason="no longer in licenzy.yaml (--prune)",
        changes=(FieldChange("status", "active", "archived"),),
        before=before,
        after={**before, "status": "archived"},
    )
    return acme([archive], fingerprints={"licenzy.test.product[OLD_PLAN]": "sha256:" + "1" * 64})


def with_errors() -> Plan:
    """An inactive price: the plan opens with what apply will do (nothing) and marks the
    change the error is about."""
    pro = managed_product("subscription", "price_1Gone", "Pro")
    inactive = Finding(
        "LZ102",
        Severity.ERROR,
        "price_1Gone is inactive in Stripe",
        field="products.PRO.price.test",
        position=Position("licenzy.yaml", 12, 20),
        hint="reactivate the price in Stripe or map the product to an active price",
        address="licenzy.test.product[PRO]",
    )
    return acme(
        [
            product("test", "PRO", "create", reason="not in Licenzy", after=pro),
            endpoint("create", "no endpoint delivers to Licenzy", None, managed_endpoint()),
        ],
        findings=[inactive],
    )


SAMPLES: dict[str, Callable[[], Plan]] = {
    "added_event": added_event,
    "archived_product": archived_product,
    "created_product": created_product,
    "replaced_endpoint": replaced_endpoint,
    "with_errors": with_errors,
    "no_changes": no_changes,
    "mixed_with_findings": mixed_with_findings,
    "replace_with_reason": replace_with_reason,
    "secret_free": secret_free,
}

RENDERERS: dict[str, Callable[[Plan], str]] = {
    "txt": render_text,
    "md": render_markdown,
    "json": render_json,
}


@pytest.mark.parametrize("extension", sorted(RENDERERS))
@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_matches_golden_file(sample: str, extension: str) -> None:
    actual = RENDERERS[extension](SAMPLES[sample]())
    path = GOLDEN / f"{sample}.{extension}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_bytes(actual.encode("utf-8"))
    assert path.exists(), f"{path.name} is missing: run UPDATE_GOLDEN=1 pytest tests/render"
    assert actual == path.read_bytes().decode("utf-8")


def test_no_stale_golden_files() -> None:
    expected = {f"{sample}.{extension}" for sample in SAMPLES for extension in RENDERERS}
    assert {path.name for path in GOLDEN.iterdir()} == expected


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_sample_json_is_valid_and_round_trips(sample: str) -> None:
    plan = SAMPLES[sample]()
    text = render_json(plan)
    assert_valid_plan(text)
    assert plan_from_json(text) == canonical(plan)


def test_renderers_do_not_depend_on_input_order() -> None:
    plan = mixed_with_findings()
    shuffled = Plan(
        project=plan.project,
        modes=list(reversed(plan.modes)),
        resources=list(reversed(plan.resources)),
        findings=list(reversed(plan.findings)),
        fingerprints=dict(reversed(list(plan.fingerprints.items()))),
        config_file=plan.config_file,
    )
    for render in RENDERERS.values():
        assert render(shuffled) == render(plan)


def test_secret_free_sample_says_that_a_secret_is_stored_not_what_it_is() -> None:
    for extension, render in RENDERERS.items():
        text = render(secret_free())
        assert ("secret_set" if extension == "json" else "stores stripe.test.webhook") in text
        assert "whsec_" not in text
