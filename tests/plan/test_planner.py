"""The planner on states no honest sandbox can produce (it is pure: state in, Plan out)."""

from __future__ import annotations

from pathlib import Path

from licenzy_sync.config.load import load_config
from licenzy_sync.config.secrets import Secret
from licenzy_sync.plan.planner import build_plan
from licenzy_sync.state import (
    LicenzyConnection,
    LicenzyModeSnapshot,
    RemoteState,
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


def test_objects_from_the_other_mode_stop_the_plan(tmp_path: Path) -> None:
    """A proxy or a mislabelled key could hand back live objects for a test key: Stripe's own
    `livemode` is the last word, whatever the prefix said."""
    path = tmp_path / "licenzy.yaml"
    path.write_text(CONFIG)
    loaded = load_config(path)
    key = Secret("sk_test_unit0001", "K")
    targets = Targets(
        "proj_x",
        "https://lz.example",
        Secret("lzp_unit0001", "T"),
        {"test": StripeTarget("test", "https://stripe.example", key, "K")},
    )
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
