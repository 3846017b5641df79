"""The scenario world of `verify`: the converged plan world, with a runtime API key per mode
(planted values, registered in the sandbox's Licenzy as the portal would create them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox.licenzy_api import add_api_key
from licenzy_sync.sandbox.stripe_checkout import KIND as SESSION_KIND
from tests.cli_runner import Result
from tests.world import CONFIG, PROJECT, World

RUNTIME_KEYS: dict[str, str] = {
    "LZ_TEST_API_KEY": "lz_test_PLANTEDruntime0005",
    "LZ_LIVE_API_KEY": "lz_live_PLANTEDruntime0006",
}
VERIFY_CONFIG = CONFIG.replace(
    "    webhook: {manage: true}\n",
    "    webhook: {manage: true}\n    licenzy: {api_key: \"${LZ_TEST_API_KEY}\"}\n",
).replace(
    "    webhook: {manage: false}\n",
    "    webhook: {manage: false}\n    licenzy: {api_key: \"${LZ_LIVE_API_KEY}\"}\n",
)
"""The plan world's file with each mode's runtime key referenced (products start at line 15)."""


class VerifyWorld(World):
    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        super().__init__(tmp_path, capsys)
        self.planted.update(RUNTIME_KEYS)
        self.write(VERIFY_CONFIG)

    def issue_runtime_keys(self) -> None:
        with self.sandbox.store.transaction() as tx:
            add_api_key(tx, PROJECT, "test", "backend", raw=RUNTIME_KEYS["LZ_TEST_API_KEY"])
            add_api_key(tx, PROJECT, "live", "backend", raw=RUNTIME_KEYS["LZ_LIVE_API_KEY"])

    def verify(self, *args: str) -> Result:
        return self.run("verify", "-c", str(self.config), *args)

    def verify_json(self, *args: str) -> tuple[Result, dict[str, Any]]:
        result = self.verify("--format", "json", *args)
        assert result.out.strip().startswith("{"), result.text
        report: dict[str, Any] = json.loads(result.out)
        return result, report

    def sessions(self) -> list[dict[str, Any]]:
        """Every Checkout Session the sandbox's Stripe holds, in any account and mode."""
        with self.sandbox.store.transaction() as tx:
            scopes = tx.scopes(SESSION_KIND)
            return [body for scope in scopes for _, body in tx.iter(SESSION_KIND, scope)]

    def assert_no_session_open(self) -> None:
        sessions = self.sessions()
        assert sessions, "the run created no Checkout Session"
        assert [s["id"][:8] for s in sessions if s["status"] != "expired"] == []

    def assert_no_secret_leaked(self) -> None:
        super().assert_no_secret_leaked()
        sessions = self.sessions()
        for text in self.outputs:
            for value in RUNTIME_KEYS.values():
                assert value not in text
            for session in sessions:
                assert session["id"] not in text
                assert "checkout.stripe.com" not in text


def finding(report: dict[str, Any], rule: str) -> dict[str, Any]:
    found = [f for f in report["findings"] if f["rule_id"] == rule]
    assert len(found) == 1, report["findings"]
    return found[0]


def mode_of(report: dict[str, Any], mode: Mode) -> dict[str, Any]:
    return next(m for m in report["modes"] if m["mode"] == mode)
