"""The planner on states no honest sandbox can produce (it is pure: state in, Plan out)."""

from __future__ import annotations

import json
from pathlib import Path

from licenzy_sync.config.load import load_config
from licenzy_sync.config.secrets import Secret
from licenzy_sync.plan.codec import plan_to_json
from licenzy_sync.plan.model import ABSENT
from licenzy_sync.plan.planner import build_plan
from licenzy_sync.render.text import render_text
from licenzy_sync.state import (
    LicenzyConnection,
    LicenzyModeSnapshot,
    LicenzyProduct,
    RemoteState,
    StripePrice,
    StripeSnapshot,
)
from licenzy_sync.targets import StripeTarget, Targets

CONFIG = """\
version: 1
project: proj_x
licenzy: {token: "${T}"}
modes:
  test:
    stripe: {secret_key: "${K}"}
    webhook: {manage: true}
products: {}
"""


def _targets() -> Targets:
    key = Secret("sk_test_unit0001", "K")
    return Targets(
        "proj_x",
        "https://lz.example",
        Secret("lzp_unit0001", "T"),
        {"test": StripeTarget("test", "https://stripe.example", key, "K")},
    )


def test_objects_from_the_other_mode_stop_the_plan(tmp_path: Path) -> None:
    """A proxy or a mislabelled key could hand back live objects for a test key: Stripe's own
    `livemode` is the last word, whatever the prefix said."""
    path = tmp_path / "licenzy.yaml"
    path.write_text(CONFIG)
    loaded = load_config(path)
    targets = _targets()
    connection = LicenzyConnection(
        "test", True, "acct_1", "secret", "2026-01-01T00:00:00Z", True, "abcd"
    )
    state = RemoteState(
        "proj_x",
        "x",
        stripe={"test": StripeSnapshot("test", "secret", key_livemode=True, account_id="acct_1")},
        licenzy={"test": LicenzyModeSnapshot("test", connection)},
    )
    plan = build_plan(loaded, state, targets, modes=["test"])
    found = [f for f in plan.findings if f.rule_id == "LZ106"]
    assert [f.address for f in found] == ["stripe.test.account[key]"]
    assert found[0].field == "modes.test.stripe.secret_key"
    assert plan.has_errors


def test_a_text_plan_hashes_nothing_it_read_and_a_json_plan_everything(tmp_path: Path) -> None:
    """At 10,000 products per mode, a text plan spent a tenth of its CPU on fingerprints that
    only a JSON plan (or apply's staleness check) reads."""
    path = tmp_path / "licenzy.yaml"
    path.write_text(
        CONFIG.replace(
            "products: {}",
            "products:\n  PRO: {kind: time_pass, duration_days: 30, price: {test: price_1}}",
        )
    )
    targets = _targets()
    price = StripePrice(
        "price_1", False, True, "one_time", None, None, "eur", 900, "prod_1", None
    )
    product = LicenzyProduct(
        "PRO", "test", "time_pass", "price_1", None, "active", None, 30, {}
    )
    connection = LicenzyConnection("test", True, "acct_1", "secret", None, True, "abcd")
    snapshot = StripeSnapshot("test", "secret", key_livemode=False, account_id="acct_1")
    snapshot.prices["price_1"] = price
    state = RemoteState(
        "proj_x",
        "x",
        stripe={"test": snapshot},
        licenzy={"test": LicenzyModeSnapshot("test", connection, {"PRO": product})},
    )
    plan = build_plan(load_config(path), state, targets, modes=["test"])
    assert "1 unchanged resource not shown" in render_text(plan)  # PRO
    read = (price, product, connection)
    assert not [obj for obj in read if "fingerprint" in vars(obj)]
    written = json.loads(plan_to_json(plan))["fingerprints"]
    assert written == {
        "licenzy.test.product[PRO]": product.fingerprint,
        "licenzy.test.webhook_secret[tenant]": connection.fingerprint,
        "stripe.test.price[price_1]": price.fingerprint,
        "stripe.test.webhook_endpoint[tenant]": ABSENT,
    }
    assert plan.fingerprints == written
