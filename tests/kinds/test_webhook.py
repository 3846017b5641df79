"""The webhook units: the Stripe endpoint and the signing secret Licenzy stores, planned on
in-memory states, and the hand-off of a secret known only after apply."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from licenzy_sync.config.secrets import Secret
from licenzy_sync.findings import Severity
from licenzy_sync.kinds.webhook_endpoint import (
    LEGACY_REASON,
    EndpointKind,
    adopted_id,
    signing_secret,
)
from licenzy_sync.kinds.webhook_secret import NEW_ENDPOINT, REPLACEMENT, SecretKind
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.bindings import KEPT_SECRET
from licenzy_sync.plan.codec import plan_to_dict
from licenzy_sync.plan.codec_read import plan_from_json
from licenzy_sync.plan.model import FieldChange, KnownAfterApply, Plan, ResourceChange
from licenzy_sync.plan.ownership import endpoint_markers
from licenzy_sync.rules import catalog as r
from tests.kinds.builders import (
    MARKED,
    REQUIRED_EVENTS,
    STAMPED,
    config,
    connection,
    context,
    endpoint,
    plan_all,
    state,
)

ENDPOINT = Address("stripe", "test", "webhook_endpoint", "tenant")
SECRET = Address("licenzy", "test", "webhook_secret", "tenant")
REPLACED = {"webhook_endpoint": "replace"}


def _changes(ctx: Any) -> dict[str, tuple[str, str]]:
    return {c.type: (c.action, c.reason) for c in ctx.resources}


@pytest.mark.parametrize(
    ("endpoints", "stored", "expected"),
    [
        ([], "abcd", {"webhook_endpoint": "create", "webhook_secret": "create"}),
        ([endpoint()], "abcd", {"webhook_endpoint": "no-op"}),
        ([endpoint(events=("charge.failed",))], "abcd", {"webhook_endpoint": "update"}),
        ([endpoint(), endpoint("we_2")], "abcd", REPLACED | {"webhook_secret": "update"}),
        ([endpoint()], "wxyz", REPLACED | {"webhook_secret": "update"}),
        ([endpoint()], None, REPLACED | {"webhook_secret": "create"}),
        ([endpoint(last4=None)], "abcd", REPLACED | {"webhook_secret": "update"}),
    ],
)
def test_a_managed_webhook(
    tmp_path: Path, endpoints: list[Any], stored: str | None, expected: dict[str, str]
) -> None:
    remote = state(endpoints=endpoints, licenzy=connection(stored))
    ctx = plan_all(context(config(tmp_path), remote))
    assert {kind: action for kind, (action, _) in _changes(ctx).items()} == expected
    assert ctx.findings == []


def test_an_update_says_which_fields_differ(tmp_path: Path) -> None:
    """Every change carries a reason, an update of the endpoint included (issue 12)."""
    remote = state(endpoints=[endpoint(events=("charge.failed",))], licenzy=connection("abcd"))
    ctx = plan_all(context(config(tmp_path), remote))
    assert _changes(ctx)["webhook_endpoint"] == (
        "update",
        "differs from licenzy.yaml: enabled_events",
    )


def test_duplicates_are_replaced_by_one_endpoint(tmp_path: Path) -> None:
    ctx = plan_all(context(config(tmp_path), state(endpoints=[endpoint(), endpoint("we_2")])))
    change = ctx.change_at(ENDPOINT)
    assert change is not None
    assert change.reason.startswith("2 endpoints carry licenzy-sync's marker (one is kept)")
    assert (change.before or {})["duplicates"] == ["we_2"]


def test_a_foreign_endpoint_at_the_tenant_url_is_left_alone(tmp_path: Path) -> None:
    foreign = endpoint(metadata={}, last4=None)
    ctx = plan_all(context(config(tmp_path), state(endpoints=[foreign])))
    assert ctx.resources == []
    assert [(f.rule_id, f.address) for f in ctx.findings] == [
        (r.ENDPOINT_UNOWNED.id, str(ENDPOINT))
    ]


def test_without_the_portal_only_the_endpoint_is_planned(tmp_path: Path) -> None:
    ctx = plan_all(context(config(tmp_path), state(portal=False)))
    assert _changes(ctx) == {"webhook_endpoint": ("create", "no endpoint delivers to Licenzy")}
    assert str(SECRET) not in ctx.fingerprints


@pytest.mark.parametrize(
    ("endpoints", "rule"),
    [
        ([], r.ENDPOINT_MISSING),
        ([endpoint(url="https://old.example/v1/webhooks/stripe/tenant")], r.ENDPOINT_WRONG_URL),
        ([endpoint(metadata={}), endpoint("we_2", metadata={})], r.ENDPOINT_DUPLICATE),
        ([endpoint(metadata={}, events=("charge.failed",))], r.ENDPOINT_EVENTS),
    ],
)
def test_a_hand_made_endpoint_is_only_checked(
    tmp_path: Path, endpoints: list[Any], rule: r.Rule
) -> None:
    secrets = {"WH_SECRET": Secret("whsec_unit_abcd", "WH_SECRET")}
    remote = state(endpoints=endpoints)
    ctx = plan_all(context(config(tmp_path, manage=False), remote, secrets=secrets))
    assert ctx.resources == []
    assert [f.rule_id for f in ctx.findings] == [rule.id]


@pytest.mark.parametrize(
    ("resolved", "stored", "outcome"),
    [
        ("whsec_unit_abcd", "abcd", (None, None)),
        ("whsec_unit_abcd", None, ("create", None)),
        ("whsec_unit_abcd", "wxyz", ("update", None)),
        (None, None, (None, r.WEBHOOK_SECRET_MISSING)),
        (None, "wxyz", (None, None)),
    ],
)
def test_a_configured_secret_comes_from_the_run_not_the_environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    resolved: str | None,
    stored: str | None,
    outcome: tuple[str | None, r.Rule | None],
) -> None:
    action, rule = outcome
    monkeypatch.setenv("WH_SECRET", "whsec_from_the_environment_zzzz")
    secrets = {} if resolved is None else {"WH_SECRET": Secret(resolved, "WH_SECRET")}
    remote = state(endpoints=[endpoint(metadata={})], licenzy=connection(stored))
    ctx = plan_all(context(config(tmp_path, manage=False), remote, secrets=secrets))
    assert [c.action for c in ctx.resources] == ([action] if action else [])
    assert [f.rule_id for f in ctx.findings] == ([rule.id] if rule else [])
    if action:
        assert (ctx.resources[0].after or {})["source"] == "${WH_SECRET}"
        assert SecretKind().inputs(ctx.resources[0]) == ()
        assert list(ctx.secret_bindings) == ["WH_SECRET"]


@pytest.mark.parametrize(
    ("endpoints", "label"), [([], NEW_ENDPOINT), ([endpoint(last4="wxyz")], REPLACEMENT)]
)
def test_the_secret_of_a_new_endpoint_is_known_after_apply(
    tmp_path: Path, endpoints: list[Any], label: str
) -> None:
    ctx = plan_all(context(config(tmp_path), state(endpoints=endpoints)))
    secret = ctx.change_at(SECRET)
    assert secret is not None
    source = (secret.after or {})["source"]
    assert isinstance(source, KnownAfterApply)
    assert (str(source), source.of, source.output) == (label, ENDPOINT, "signing_secret")
    assert secret.changes == (FieldChange("source", None, label),)
    assert SecretKind().inputs(secret) == (signing_secret("test"),)


def test_a_copied_plan_keeps_the_reference() -> None:
    source = KnownAfterApply(NEW_ENDPOINT, of=ENDPOINT, output="signing_secret")
    copied = copy.deepcopy({"source": source})["source"]
    assert isinstance(copied, KnownAfterApply)
    assert (copied, copied.of, copied.output) == (NEW_ENDPOINT, ENDPOINT, "signing_secret")


def test_a_plan_file_keeps_the_reference_in_its_text(tmp_path: Path) -> None:
    """The plan JSON shows the label only; read back, the unit still knows where the value
    comes from."""
    ctx = plan_all(context(config(tmp_path), state()))
    plan = Plan("proj_x", ["test"], list(ctx.resources), fingerprints=dict(ctx.fingerprints))
    text = json.dumps(plan_to_dict(plan))
    assert f'"source": "{NEW_ENDPOINT}"' in text
    read = plan_from_json(text).change_at(SECRET)
    assert read is not None and not isinstance((read.after or {})["source"], KnownAfterApply)
    assert SecretKind().inputs(read) == (signing_secret("test"),)


def test_the_webhook_is_written_endpoint_first() -> None:
    assert EndpointKind().phase(ResourceChange(at=ENDPOINT, action="create")) == 0
    assert SecretKind().phase(ResourceChange(at=SECRET, action="create")) == 1


@pytest.mark.parametrize(
    ("before", "after", "classification"),
    [
        (["a"], ["a", "b"], "breaking"),
        (["a", "b"], ["a"], "benign"),
        (["*"], ["a"], "benign"),
    ],
)
def test_events_drift_by_what_was_lost(before: Any, after: Any, classification: str) -> None:
    change = ResourceChange(
        at=ENDPOINT, action="update", changes=(FieldChange("enabled_events", before, after),)
    )
    [verdict] = EndpointKind().drift(change, Plan("proj_x", ["test"], [change]))
    assert verdict.classification == classification


def test_a_secret_stored_for_a_new_endpoint_is_one_difference_not_two() -> None:
    secret = ResourceChange(at=SECRET, action="create", reason="r")
    alone = Plan("proj_x", ["test"], [secret])
    with_endpoint = Plan(
        "proj_x", ["test"], [ResourceChange(at=ENDPOINT, action="create"), secret]
    )
    assert [v.classification for v in SecretKind().drift(secret, alone)] == ["breaking"]
    assert list(SecretKind().drift(secret, with_endpoint)) == []


# Several projects on one Stripe account, and endpoints made by hand.

OTHER = endpoint_markers("proj_other", "test")
WH_SECRET = {"WH_SECRET": Secret("whsec_unit_wxyz", "WH_SECRET")}
SHORT = tuple(e for e in REQUIRED_EVENTS if e not in ("refund.created", "refund.updated"))


@pytest.mark.parametrize("ours", [[], [endpoint()]])
def test_another_projects_endpoint_is_never_touched_and_is_named(
    tmp_path: Path, ours: list[Any]
) -> None:
    theirs = endpoint("we_other", metadata=OTHER, events=("charge.failed",), last4="wxyz")
    ctx = plan_all(context(config(tmp_path), state(endpoints=[theirs, *ours])))
    change = ctx.change_at(ENDPOINT)
    assert change is not None
    assert change.action == ("no-op" if ours else "create")
    assert "the endpoint of proj_other on this Stripe account is left alone" in change.reason
    assert "we_other" not in json.dumps(plan_to_dict(Plan("proj_x", ["test"], ctx.resources)))
    assert ctx.findings == []


def test_an_unstamped_managed_endpoint_whose_secret_licenzy_holds_is_adopted(
    tmp_path: Path,
) -> None:
    legacy = endpoint(metadata=MARKED, last4="abcd")
    ctx = plan_all(context(config(tmp_path), state(endpoints=[legacy], licenzy=connection())))
    change = ctx.change_at(ENDPOINT)
    assert change is not None
    assert (change.action, change.reason) == ("update", LEGACY_REASON)
    assert [c.field for c in change.changes] == ["metadata"]
    assert (change.after or {})["metadata"] == STAMPED


def test_an_unstamped_managed_endpoint_of_another_licenzy_is_left_alone(
    tmp_path: Path,
) -> None:
    legacy = endpoint(metadata=MARKED, last4="wxyz")
    ctx = plan_all(context(config(tmp_path), state(endpoints=[legacy], licenzy=connection())))
    assert _changes(ctx) == {
        "webhook_endpoint": ("create", "no endpoint delivers to Licenzy"),
        "webhook_secret": ("create", "Licenzy holds a different signing secret"),
    }
    assert [(f.rule_id, f.severity) for f in ctx.findings] == [
        (r.ENDPOINT_ORPHANED.id, Severity.WARNING)
    ]


def test_a_hand_made_endpoint_under_manage_is_reported_with_its_defects(tmp_path: Path) -> None:
    hand_made = replace(endpoint(metadata={}, last4=None, events=SHORT), status="disabled")
    remote = state(endpoints=[hand_made], licenzy=connection(None))
    ctx = plan_all(context(config(tmp_path), remote))
    assert ctx.resources == []
    [finding] = ctx.findings
    assert finding.rule_id == r.ENDPOINT_UNOWNED.id
    assert finding.message.endswith(
        "without licenzy-sync's marker, and is disabled, and misses 2 event(s): "
        "refund.created, refund.updated, and Licenzy holds no signing secret for it"
    )


@pytest.mark.parametrize(("stored", "secret_action"), [("wxyz", None), (None, "create")])
def test_a_hand_made_endpoint_is_adopted_with_its_configured_secret(
    tmp_path: Path, stored: str | None, secret_action: str | None
) -> None:
    hand_made = endpoint(metadata={}, last4=None, events=SHORT)
    remote = state(endpoints=[hand_made], licenzy=connection(stored))
    ctx = plan_all(context(config(tmp_path, adopt=True), remote, secrets=WH_SECRET))
    change = ctx.change_at(ENDPOINT)
    assert change is not None
    assert change.action == "update"
    assert change.reason == (
        "adopted: made by hand, it keeps its signing secret ${WH_SECRET}; it misses 2 "
        "event(s): refund.created, refund.updated"
    )
    assert {c.field for c in change.changes} == {"enabled_events", "metadata"}
    assert (change.after or {})[KEPT_SECRET] == "${WH_SECRET}"
    assert adopted_id(Plan("proj_x", ["test"], ctx.resources), "test") == "we_1"
    stored_change = ctx.change_at(SECRET)
    assert (stored_change and stored_change.action) == secret_action
    assert list(ctx.secret_bindings) == ["WH_SECRET"]
    assert ctx.findings == []


def test_two_hand_made_endpoints_are_not_adopted(tmp_path: Path) -> None:
    two = [endpoint(metadata={}, last4=None), endpoint("we_2", metadata={}, last4=None)]
    ctx = plan_all(context(config(tmp_path, adopt=True), state(endpoints=two), secrets=WH_SECRET))
    assert ctx.resources == []
    assert [f.rule_id for f in ctx.findings] == [r.ENDPOINT_DUPLICATE.id, r.ENDPOINT_UNOWNED.id]


def test_a_checked_endpoint_is_no_duplicate_of_another_projects(tmp_path: Path) -> None:
    theirs = endpoint("we_other", metadata=OTHER)
    remote = state(endpoints=[endpoint(metadata={}, last4=None), theirs], licenzy=connection())
    ctx = plan_all(context(config(tmp_path, manage=False), remote, secrets=WH_SECRET))
    assert [f.rule_id for f in ctx.findings] == []


def test_an_unstamped_endpoint_no_licenzy_was_given_is_replaced(tmp_path: Path) -> None:
    unfinished = endpoint(metadata=MARKED, last4=None)
    ctx = plan_all(context(config(tmp_path), state(endpoints=[unfinished])))
    assert {c.type: c.action for c in ctx.resources} == REPLACED | {"webhook_secret": "update"}
    assert ctx.findings == []
