"""Saved plans bind the secrets they will write: `apply PLANFILE` writes only reviewed values.

Observation: `plan --out` with a webhook secret to store, then a changed variable, then
`apply plan.json` exited 0 and Licenzy held a value nobody had reviewed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from licenzy_sync.keys import Mode
from tests.world import CONFIG, World

VARIABLE = "LIVE_WEBHOOK_SECRET"
REVIEWED = "whsec_PLANTEDreviewed0006"
SWAPPED = "whsec_PLANTEDswapped0007"
ADDRESS = "licenzy.live.webhook_secret[tenant]"


@pytest.fixture
def bound(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The live block sources its hand-made endpoint's secret from the environment."""
    world.write(
        CONFIG.replace(
            "webhook: {manage: false}",
            f'webhook: {{manage: false, secret: "${{{VARIABLE}}}"}}',
        )
    )
    monkeypatch.setenv(VARIABLE, REVIEWED)
    return world


def _connection(world: World, mode: Mode) -> dict[str, Any]:
    with world.portal() as portal:
        answer = portal.get(f"/stripe-connection/{mode}")
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def _save_plan(world: World, planfile: Path) -> dict[str, Any]:
    run = world.plan("--out", str(planfile))
    assert run.code == 0, run.result.text
    assert run.actions()[ADDRESS] == "update"
    saved: dict[str, Any] = json.loads(planfile.read_text())
    return saved


def test_plan_binds_the_secret_with_a_salted_digest_only(bound: World, tmp_path: Path) -> None:
    planfile = tmp_path / "plan.json"
    saved = _save_plan(bound, planfile)
    binding = saved["secret_bindings"][VARIABLE]
    assert set(binding) == {"salt", "hmac_sha256"}
    assert len(binding["salt"]) == 32 and len(binding["hmac_sha256"]) == 64
    text = planfile.read_text()
    assert REVIEWED not in text and REVIEWED[-4:] not in json.dumps(saved["secret_bindings"])
    assert hashlib.sha256(REVIEWED.encode()).hexdigest() not in text
    again = _save_plan(bound, tmp_path / "again.json")["secret_bindings"][VARIABLE]
    assert again["salt"] != binding["salt"]
    assert again["hmac_sha256"] != binding["hmac_sha256"]


def test_changed_secret_refuses_the_saved_plan_naming_the_variable(
    bound: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planfile = tmp_path / "plan.json"
    _save_plan(bound, planfile)
    before = _connection(bound, "live")
    monkeypatch.setenv(VARIABLE, SWAPPED)
    result = bound.apply(str(planfile), "--auto-approve")
    assert result.code == 3, result.text
    assert f"${{{VARIABLE}}}: holds a different value than when the plan was made" in result.err
    assert REVIEWED not in result.text and SWAPPED not in result.text
    assert _connection(bound, "live") == before


def test_unset_secret_refuses_the_saved_plan(
    bound: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planfile = tmp_path / "plan.json"
    _save_plan(bound, planfile)
    monkeypatch.delenv(VARIABLE)
    result = bound.apply(str(planfile), "--auto-approve")
    assert result.code == 3, result.text
    assert f"${{{VARIABLE}}}: is not set now" in result.err


def test_plan_without_its_binding_is_refused(bound: World, tmp_path: Path) -> None:
    """A plan file stripped of its bindings (or from a version without them) writes nothing."""
    planfile = tmp_path / "plan.json"
    saved = _save_plan(bound, planfile)
    del saved["secret_bindings"]
    planfile.write_text(json.dumps(saved))
    before = _connection(bound, "live")
    result = bound.apply(str(planfile), "--auto-approve")
    assert result.code == 3, result.text
    assert f"${{{VARIABLE}}}: the plan does not bind its value" in result.err
    assert _connection(bound, "live") == before


def test_malformed_binding_is_refused_naming_its_path(bound: World, tmp_path: Path) -> None:
    planfile = tmp_path / "plan.json"
    saved = _save_plan(bound, planfile)
    saved["secret_bindings"][VARIABLE]["salt"] = "not hex"
    planfile.write_text(json.dumps(saved))
    result = bound.apply(str(planfile), "--auto-approve")
    assert result.code == 1, result.text
    assert f"secret_bindings.{VARIABLE}.salt: expected 32 lower-case hex digits" in result.err


def test_unchanged_secret_applies_the_reviewed_value(bound: World, tmp_path: Path) -> None:
    planfile = tmp_path / "plan.json"
    _save_plan(bound, planfile)
    result = bound.apply(str(planfile), "--auto-approve")
    assert result.code in (0, 1), result.text
    assert "would write" not in result.err
    assert _connection(bound, "live")["webhook_secret_last4"] == REVIEWED[-4:]


def test_plans_that_write_no_secret_carry_no_binding(world: World, tmp_path: Path) -> None:
    planfile = tmp_path / "plan.json"
    assert world.plan("--out", str(planfile)).code == 0
    assert "secret_bindings" not in json.loads(planfile.read_text())
    assert world.apply(str(planfile), "--auto-approve").code == 0
