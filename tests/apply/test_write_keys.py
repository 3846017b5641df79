"""One write, one key: a write's Idempotency-Key depends on that write's object and payload
only, so runs that read the rest of the world at other moments still collapse into one write;
an endpoint whose run died before storing its secret is recovered by replaying its create."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from licenzy_sync.apply.idempotency import plan_write_key, secret_digest, write_key
from licenzy_sync.config.secrets import Secret
from licenzy_sync.output import Console
from licenzy_sync.plan import addresses
from licenzy_sync.plan.model import Plan
from licenzy_sync.sandbox.faults import FaultSpec
from licenzy_sync.workflow import make_plan
from tests.apply.test_concurrency import endpoints_created
from tests.world import PROJECT, World

SECRET_PUT = f"/licenzy/portal/projects/{PROJECT}/stripe-connection/test/webhook-secret"


def _plan(world: World) -> Plan:
    plan, _ = make_plan(world.config, "all", sandbox=None, prune=False, console=Console(True))
    return plan


def test_a_write_key_ignores_every_other_object_the_plan_read(world: World) -> None:
    """Observation 8's cause: keys derived from the whole plan differed between two runs as
    soon as one of them saw another run's product write, so both created an endpoint."""
    first = _plan(world)
    world.create_product("test", "PRO", "subscription", "price_1ProTest", name="Pro")
    second = _plan(world)
    endpoint = addresses.webhook_endpoint("test")
    product = addresses.product("test", "PRO")
    payload = {"url": world.tenant_url}
    assert plan_write_key(first, endpoint, "create", payload) == plan_write_key(
        second, endpoint, "create", payload
    )
    assert plan_write_key(first, product, "create", payload) != plan_write_key(
        second, product, "create", payload
    )


def test_a_key_changes_with_the_observation_the_step_and_the_payload() -> None:
    base = write_key("proj", "licenzy.test.product[PRO]", "create", "absent", {"name": "Pro"})
    assert base.startswith("lzs-") and len(base) <= 255
    for other in (
        write_key("proj2", "licenzy.test.product[PRO]", "create", "absent", {"name": "Pro"}),
        write_key("proj", "licenzy.live.product[PRO]", "create", "absent", {"name": "Pro"}),
        write_key("proj", "licenzy.test.product[PRO]", "patch", "absent", {"name": "Pro"}),
        write_key("proj", "licenzy.test.product[PRO]", "create", "f00d", {"name": "Pro"}),
        write_key("proj", "licenzy.test.product[PRO]", "create", "absent", {"name": "Pro 2"}),
    ):
        assert other != base


def test_secrets_enter_key_material_only_as_a_salted_digest() -> None:
    import hashlib

    one = Secret("whsec_PLANTEDsecretONE1", "ONE")
    two = Secret("whsec_PLANTEDsecretTWO2", "TWO")
    assert secret_digest(one) == secret_digest(Secret(one.reveal(), "elsewhere"))
    assert secret_digest(one) != secret_digest(two)
    assert secret_digest(one) != hashlib.sha256(one.reveal().encode()).hexdigest()
    assert one.reveal() not in secret_digest(one)


def test_an_endpoint_left_without_its_secret_is_recovered_not_replaced(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that died after creating the endpoint: the next one replays the create (same
    key, as the endpoint was absent for both) and gets that endpoint and its secret back."""
    monkeypatch.setenv("LICENZY_SYNC_MAX_ATTEMPTS", "1")
    world.sandbox.control.add_fault(FaultSpec.error(SECRET_PUT, 500, method="PUT"))
    assert world.apply("--auto-approve").code == 1
    (created,) = endpoints_created(world)
    monkeypatch.delenv("LICENZY_SYNC_MAX_ATTEMPTS")
    again = world.apply("--auto-approve")
    assert again.code == 0, again.text
    world.assert_converged()
    assert endpoints_created(world) == {created}
    assert [endpoint.id for endpoint in world.managed_endpoints("test")] == [created]


def test_a_run_that_sees_another_run_mid_create_joins_it(world: World) -> None:
    """Run A has created the endpoint and is slow to store its secret; run B plans in that
    window. Before, B replaced A's endpoint (a second one created, the first deleted)."""
    world.sandbox.control.add_fault(FaultSpec.slow(SECRET_PUT, 3.0, method="PUT", times=1))
    first = subprocess.Popen(
        [sys.executable, "-m", "licenzy_sync", "apply", "-c", str(world.config), "--auto-approve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 60
    while world.sandbox.control.faults() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not world.sandbox.control.faults(), "the first run never reached the secret"
    second = world.apply("--auto-approve")
    out, err = first.communicate(timeout=60)
    world.outputs.append(out + err)
    assert first.returncode == 0, out + err
    assert second.code == 0, second.text
    world.assert_converged()
    assert len(endpoints_created(world)) == 1


def test_an_endpoint_deleted_by_hand_is_created_again_within_the_replay_window(
    world: World,
) -> None:
    """The key of a create from "absent" repeats when the endpoint is deleted and apply runs
    again; Stripe then replays the deleted endpoint, and apply makes a new one instead."""
    assert world.apply("--auto-approve").code == 0
    (gone,) = world.managed_endpoints("test")
    world.stripe("test").v1.webhook_endpoints.delete(gone.id)
    again = world.apply("--auto-approve")
    assert again.code == 0, again.text
    world.assert_converged()
    assert world.managed_endpoints("test")[0].id != gone.id
    assert len(endpoints_created(world)) == 2


def test_a_create_answered_409_in_progress_is_retried(world: World) -> None:
    """Stripe answers 409 while another request with the same key is still running, which
    concurrent runs now cause by design."""
    world.sandbox.control.add_fault(
        FaultSpec.error("/stripe/v1/webhook_endpoints", 409, method="POST")
    )
    result = world.apply("--auto-approve")
    assert result.code == 0, result.text
    world.assert_converged()
