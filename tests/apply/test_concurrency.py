"""Five `apply` processes started together on the same file end in one correct state, and
the race never makes more than one tenant endpoint: runs that see the same object send the
same Idempotency-Key for the same write, so Stripe's replay hands them all one endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from licenzy_sync.sandbox.stripe_api import IDEMPOTENCY_KIND
from tests.world import World

PROCESSES = 5
ROUNDS = 3
"""Each round is a fresh setup and a new race; a design that only usually wins shows here."""


def endpoints_created(world: World) -> set[str]:
    """Every endpoint id a create ever answered with, deleted ones included: the sandbox keeps
    each keyed write's first answer (as Stripe does for 24 h), and apply keys every write.
    Licenzy's records share the kind but name no method."""
    created: set[str] = set()
    with world.sandbox.store.transaction() as tx:
        for scope in tx.scopes(IDEMPOTENCY_KIND):
            for _, record in tx.iter(IDEMPOTENCY_KIND, scope):
                if (record.get("method"), record.get("path"), record["status"]) == (
                    "POST",
                    "/v1/webhook_endpoints",
                    200,
                ):
                    created.add(json.loads(record["body"])["id"])
    return created


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_applies_end_in_one_correct_state(world: World, round_: int) -> None:
    started = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "licenzy_sync",
                "apply",
                "-c",
                str(world.config),
                "--auto-approve",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for _ in range(PROCESSES)
    ]
    results = [(process.wait(timeout=120), *process.communicate()) for process in started]
    for code, out, err in results:
        assert code == 0, out + err
        assert "Traceback" not in out + err
        world.outputs.append(out + err)
    world.assert_converged()
    assert len(endpoints_created(world)) == 1, "\n".join(out + err for _, out, err in results)
    with world.portal() as portal:
        for mode in ("test", "live"):
            listed = portal.get("/products", params={"mode": mode, "limit": 100}).json()
            codes = [product["code"] for product in listed["data"]]
            assert sorted(codes) == sorted(set(codes))
