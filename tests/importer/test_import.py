"""`import` against a served sandbox: adopt what exists, then `plan` on the written file.

The catalog is seeded straight into the sandbox's store (hundreds of products in one
transaction, with the same records the portal would keep), sometimes with what the portal
would refuse, because an existing setup may hold anything: prices archived after mapping,
products made by hand, values that look like credentials.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from licenzy_sync.config.load import load_config
from licenzy_sync.keys import Mode
from licenzy_sync.plan.ownership import endpoint_markers, markers
from licenzy_sync.sandbox import stripe_api
from licenzy_sync.sandbox.faults import FaultSpec
from licenzy_sync.sandbox.licenzy_base import get_connection, iso, mode_scope
from tests.cli_runner import Result, run_cli
from tests.world import PLANTED, PROJECT, World, served

STANDARD_ENV = {
    "LICENZY_PORTAL_TOKEN": PLANTED["LZ_TOKEN"],
    "STRIPE_TEST_SECRET_KEY": PLANTED["STRIPE_TEST_KEY"],
    "STRIPE_LIVE_SECRET_KEY": PLANTED["STRIPE_LIVE_KEY"],
}
KINDS = ("subscription", "usage_pack", "time_pass")


class ImportWorld(World):
    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        super().__init__(tmp_path, capsys)
        self.out = tmp_path / "imported.yaml"

    def import_(self, *args: str) -> Result:
        result = self.run("import", *args)
        if self.out.exists():
            self.outputs.append(self.out.read_text(encoding="utf-8"))
        return result

    def import_all(self, *args: str) -> Result:
        return self.import_("--mode", "all", "--project", PROJECT, "-o", str(self.out), *args)

    def plan_imported(self, *args: str) -> Result:
        return self.run("plan", "-c", str(self.out), *args)

    def product(self, mode: Mode, code: str, kind: str, price_id: str, **fields: Any) -> None:
        """A catalog entry exactly as the portal stores it, bypassing its checks."""
        record = {
            "code": code,
            "mode": mode,
            "kind": kind,
            "stripe_price_id": price_id,
            "name": None,
            "status": "active",
            "units": 100 if kind == "usage_pack" else None,
            "duration_days": 30 if kind == "time_pass" else None,
            "metadata": markers(False),
            "created_at": iso(0),
            "updated_at": iso(0),
            **fields,
        }
        with self.sandbox.store.transaction() as tx:
            tx.put("product", mode_scope(PROJECT, mode), code, record)

    def price(self, mode: Mode, price_id: str, kind: str, **fields: Any) -> None:
        with self.sandbox.store.transaction() as tx:
            stripe_api.put_price(
                tx,
                stripe_api.DEFAULT_ACCOUNT_ID,
                mode,
                price_id=price_id,
                recurring_interval="month" if kind == "subscription" else None,
                **fields,
            )

    def bulk_catalog(self, count: int) -> None:
        """``count`` products in each mode (a few test-only), every kind, some protected, some
        with metadata and names that need quoting, in one transaction."""
        with self.sandbox.store.transaction() as tx:
            for n in range(count):
                kind = KINDS[n % 3]
                code = f"BULK_{n:04d}"
                modes: tuple[Mode, ...] = ("test",) if n % 10 == 0 else ("test", "live")
                for mode in modes:
                    price_id = f"price_1Bulk{mode.capitalize()}{n:04d}"
                    stripe_api.put_price(
                        tx,
                        stripe_api.DEFAULT_ACCOUNT_ID,
                        mode,
                        price_id=price_id,
                        recurring_interval="month" if kind == "subscription" else None,
                    )
                    metadata = {**markers(n % 7 == 0)}
                    if n % 4 == 0:
                        metadata |= {"team": "growth", "tier: #1": "yes"}
                    tx.put(
                        "product",
                        mode_scope(PROJECT, mode),
                        code,
                        {
                            "code": code,
                            "mode": mode,
                            "kind": kind,
                            "stripe_price_id": price_id,
                            "name": None if n % 5 == 0 else f"Bulk #{n}: 'quoted' \"too\"",
                            "status": "active",
                            "units": n + 1 if kind == "usage_pack" else None,
                            "duration_days": n % 30 + 1 if kind == "time_pass" else None,
                            "metadata": metadata,
                            "created_at": iso(0),
                            "updated_at": iso(0),
                        },
                    )

    def patch_name(self, mode: Mode, code: str, name: str) -> None:
        with self.portal() as portal:
            response = portal.patch(f"/products/{mode}/{code}", json={"name": name})
        assert response.status_code == 200, response.text

    def imported(self) -> dict[str, Any]:
        data: dict[str, Any] = yaml.safe_load(self.out.read_text(encoding="utf-8"))
        return data


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ImportWorld]:
    monkeypatch.delenv("LICENZY_PROJECT", raising=False)
    for name, value in STANDARD_ENV.items():
        monkeypatch.setenv(name, value)
    yield from served(ImportWorld(tmp_path, capsys), monkeypatch)


def test_round_trip_of_200_products_plans_no_changes(world: ImportWorld) -> None:
    world.converge()
    world.bulk_catalog(200)
    result = world.import_all()
    assert result.code == 0, result.text
    assert f"wrote {world.out}" in result.err
    text = world.out.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=./licenzy.schema.json\n")
    data = world.imported()
    assert data["project"] == PROJECT
    assert data["licenzy"] == {"token": "${LICENZY_PORTAL_TOKEN}"}
    assert data["modes"]["test"]["stripe"] == {"secret_key": "${STRIPE_TEST_SECRET_KEY}"}
    assert data["modes"]["live"]["stripe"] == {"secret_key": "${STRIPE_LIVE_SECRET_KEY}"}
    assert data["modes"]["test"]["webhook"]["manage"] is True
    assert data["modes"]["live"]["webhook"]["manage"] is False
    products = data["products"]
    assert len(products) == 203
    assert products["BULK_0007"] == {
        "kind": "usage_pack",
        "name": "Bulk #7: 'quoted' \"too\"",
        "units": 8,
        "price": {"test": "price_1BulkTest0007", "live": "price_1BulkLive0007"},
        "protect": True,
    }
    assert products["BULK_0000"]["price"] == {"test": "price_1BulkTest0000"}
    assert "name" not in products["BULK_0000"]
    assert products["BULK_0004"]["metadata"] == {"team": "growth", "tier: #1": "yes"}
    assert "# recurring (month)" in text and "# one-time" in text

    planned = world.plan_imported("--detailed-exitcode")
    assert planned.code == 0, planned.text
    assert "No changes" in planned.out
    drift = run_cli(world.capsys, "drift", "-c", str(world.out))
    world.outputs.append(drift.text)
    assert drift.code == 0, drift.text


def test_stdout_and_reimport_is_byte_identical(world: ImportWorld) -> None:
    world.converge()
    world.bulk_catalog(12)
    assert world.import_all().code == 0
    written = world.out.read_text(encoding="utf-8")
    printed = world.import_("--mode", "all", "--project", PROJECT, "-o", "-")
    assert printed.code == 0, printed.text
    assert printed.out == written
    assert not (Path.cwd() / "-").exists()


def test_existing_file_is_refused_before_any_request_unless_forced(world: ImportWorld) -> None:
    world.converge()
    world.out.write_text("keep me\n", encoding="utf-8")
    world.sandbox.control.clear_request_counts()
    refused = world.import_all()
    assert refused.code == 1
    assert "already exists" in refused.err and "--force" in refused.err
    assert world.out.read_text(encoding="utf-8") == "keep me\n"
    assert world.sandbox.control.request_counts() == {}
    forced = world.import_all("--force")
    assert forced.code == 0, forced.text
    assert world.imported()["products"]["PRO"]["kind"] == "subscription"


def _hand_made_endpoint(world: ImportWorld) -> Any:
    """A test endpoint made in the Dashboard, its secret pasted into the portal."""
    hand_made = world.stripe("test").v1.webhook_endpoints.create(
        params={"url": world.tenant_url, "enabled_events": ["*"]}
    )
    with world.portal() as portal:
        stored = portal.put(
            "/stripe-connection/test/webhook-secret", json={"webhook_secret": hand_made.secret}
        )
    assert stored.status_code == 200
    return hand_made


def test_hand_made_setup_imports_as_verified_and_adopted(world: ImportWorld) -> None:
    """Products made in the portal and an endpoint made in the dashboard: the imported file
    plans no change at all; the endpoint stays hand-made (`manage: false`)."""
    world.seed()
    world.create_product("test", "PRO", "subscription", "price_1ProTest", name="Pro")
    world.create_product("live", "PRO", "subscription", "price_1ProLive", name="Pro")
    hand_made = _hand_made_endpoint(world)
    result = world.import_all()
    assert result.code == 0, result.text
    assert "made outside licenzy-sync" in result.err
    data = world.imported()
    assert data["modes"]["test"]["webhook"] == {"manage": False, "events": "required"}
    assert hand_made.id in world.out.read_text(encoding="utf-8")
    planned = world.plan_imported("--format", "json")
    assert planned.code == 0, planned.text
    plan = json.loads(planned.out)
    changed = {
        r["address"]: [c["field"] for c in r["changes"]]
        for r in plan["resources"]
        if r["action"] != "no-op"
    }
    assert changed == {}
    assert plan["findings"] == []


def test_another_projects_endpoint_on_the_account_is_not_imported_as_this_ones(
    world: ImportWorld,
) -> None:
    world.seed()
    theirs = world.stripe("test").v1.webhook_endpoints.create(
        params={
            "url": world.tenant_url,
            "enabled_events": ["*"],
            "metadata": endpoint_markers("proj_other", "test"),
        }
    )
    result = world.import_all()
    assert result.code == 0, result.text
    assert world.imported()["modes"]["test"]["webhook"]["manage"] is False
    assert theirs.id not in world.out.read_text(encoding="utf-8")


def test_setup_problems_are_imported_and_reported_by_plan(world: ImportWorld) -> None:
    world.converge()
    world.price("test", "price_1OneTimeTest", "usage_pack")
    world.product("test", "WRONG_SHAPE", "subscription", "price_1OneTimeTest")
    world.price("test", "price_1GoneTest", "time_pass", active=False)
    world.product("test", "ARCHIVED_PRICE", "time_pass", "price_1GoneTest")
    world.product("test", "OLD", "subscription", "price_1ProTest", status="archived")
    result = world.import_all()
    assert result.code == 0, result.text
    products = world.imported()["products"]
    assert "OLD" not in products
    assert products["WRONG_SHAPE"]["kind"] == "subscription"
    text = world.out.read_text(encoding="utf-8")
    assert "a subscription needs a recurring price (plan: LZ104)" in text
    assert "inactive in Stripe (plan: LZ102)" in text
    planned = world.plan_imported("--format", "json")
    assert planned.code == 3
    rules = {(f["rule_id"], f["address"]) for f in json.loads(planned.out)["findings"]}
    assert rules == {
        ("LZ104", "licenzy.test.product[WRONG_SHAPE]"),
        ("LZ102", "licenzy.test.product[ARCHIVED_PRICE]"),
    }


def test_test_and_live_disagreeing_writes_live_and_says_so(world: ImportWorld) -> None:
    world.converge()
    world.patch_name("test", "PRO", "Pro (beta)")
    result = world.import_all()
    assert result.code == 0, result.text
    assert world.imported()["products"]["PRO"]["name"] == "Pro"
    assert "products.PRO: test and live differ in name" in result.err
    assert "# test and live differ in name" in world.out.read_text(encoding="utf-8")


def test_values_shaped_like_credentials_are_left_out(world: ImportWorld) -> None:
    world.converge()
    world.product(
        "test",
        "LEAKY",
        "subscription",
        "price_1ProTest",
        name="whsec_PLANTEDname0010",
        metadata={**markers(False), "note": "key sk_live_PLANTEDmeta0011", "ok": "fine"},
    )
    result = world.import_all()
    assert result.code == 0, result.text
    text = world.out.read_text(encoding="utf-8")
    for planted in ("whsec_PLANTEDname0010", "sk_live_PLANTEDmeta0011"):
        assert planted not in text and planted not in result.text
    leaky = world.imported()["products"]["LEAKY"]
    assert leaky["metadata"] == {"ok": "fine"}
    assert "name" not in leaky
    assert "looks like a credential" in result.err
    load_config(world.out)


def test_extra_events_on_the_managed_endpoint_round_trip(world: ImportWorld) -> None:
    world.converge()
    endpoint = world.endpoint("test")
    events = sorted([*endpoint.enabled_events, "customer.created"])
    world.stripe("test").v1.webhook_endpoints.update(endpoint.id, params={"enabled_events": events})
    assert world.import_all().code == 0
    assert world.imported()["modes"]["test"]["webhook"]["events"] == events
    assert world.plan_imported("--detailed-exitcode").code == 0


def test_missing_and_lost_pieces_are_noted(world: ImportWorld) -> None:
    world.seed()
    world.stripe("live").v1.webhook_endpoints.delete(world.endpoint("live").id)
    with world.sandbox.store.transaction() as tx:
        connection = get_connection(tx, PROJECT, "live")
        tx.put(
            "connection",
            PROJECT,
            "live",
            {**connection, "webhook_secret_set": False, "webhook_secret_last4": None},
        )
    result = world.import_all()
    assert result.code == 0, result.text
    assert "modes.live.webhook: no Stripe endpoint delivers" in result.err
    assert "${STRIPE_LIVE_WEBHOOK_SECRET}" in result.err
    assert world.imported()["products"] == {}


def test_one_mode_only(world: ImportWorld) -> None:
    world.converge()
    result = world.import_("--mode", "test", "--project", PROJECT, "-o", str(world.out), "-v")
    assert result.code == 0, result.text
    assert "requests: licenzy:" in result.err and "requests: stripe.test:" in result.err
    assert "stripe.live" not in result.err
    data = world.imported()
    assert list(data["modes"]) == ["test"]
    assert set(data["products"]) == {"PRO", "CREDITS", "PASS"}
    assert data["products"]["PRO"]["price"] == {"test": "price_1ProTest"}
    assert world.plan_imported("--detailed-exitcode").code == 0


def test_project_by_name_and_from_the_environment(
    world: ImportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.converge()
    monkeypatch.setenv("LICENZY_PROJECT", "sandbox")
    result = world.import_("--mode", "test", "-o", str(world.out))
    assert result.code == 0, result.text
    assert world.imported()["project"] == PROJECT
    unknown = world.import_("--mode", "test", "--project", "nope", "-o", "-")
    assert unknown.code == 1
    assert "No Licenzy project has the id or name 'nope'" in unknown.err


def test_a_project_given_by_id_is_read_with_its_catalogs(world: ImportWorld) -> None:
    """Every portal request refused: the catalogs of a project given by id were asked with
    the project list, not after it; the project list's refusal is what is reported."""
    world.converge()
    world.sandbox.control.add_fault(FaultSpec.error("/licenzy/portal/projects", 400, times=None))
    world.sandbox.control.clear_request_counts()
    result = world.import_all()
    assert result.code == 1
    assert "GET /projects was refused: HTTP 400" in result.err
    assert sum(world.sandbox.control.request_counts()["licenzy"].values()) == 1 + 3 * 2
    assert not world.out.exists()


def test_project_is_required_without_the_sandbox(world: ImportWorld) -> None:
    result = world.import_("--mode", "test", "-o", "-")
    assert result.code == 1
    assert "--project is required" in result.err


def test_credentials_are_checked_before_any_request(
    world: ImportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.converge()
    world.sandbox.control.clear_request_counts()
    monkeypatch.delenv("STRIPE_LIVE_SECRET_KEY")
    missing = world.import_all()
    assert missing.code == 1
    assert "${STRIPE_LIVE_SECRET_KEY} is not set" in missing.err
    monkeypatch.setenv("STRIPE_LIVE_SECRET_KEY", PLANTED["STRIPE_LIVE_KEY"])
    monkeypatch.setenv("STRIPE_TEST_SECRET_KEY", "sk_live_PLANTEDwrong0012")
    wrong_mode = world.import_all()
    assert wrong_mode.code == 1
    assert "LZ021" in wrong_mode.err
    assert "sk_live_PLANTEDwrong0012" not in wrong_mode.text
    assert world.sandbox.control.request_counts() == {}
    assert not world.out.exists()


def test_rejected_token_is_a_clean_error(
    world: ImportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.converge()
    monkeypatch.setenv("LICENZY_PORTAL_TOKEN", "lzp_PLANTEDwrong0013")
    result = world.import_all("-v")
    assert result.code == 1
    assert "${LICENZY_PORTAL_TOKEN}" in result.err
    assert "lzp_PLANTEDwrong0013" not in result.text
    assert "Traceback" not in result.text
    assert not world.out.exists()


def test_codes_and_names_yaml_would_misread_round_trip(world: ImportWorld) -> None:
    """`NO` and `ON` are booleans to YAML 1.1 readers, `NULL` is null; names may hold anything."""
    world.converge()
    names = {
        "NO": "line one\nline two",
        "ON": "tab\there, bell\x07, nel\x85, ls\u2028, bidi\u202e",
        "NULL": "- starts like a list: and has # a comment",
        "TRUE": "Émoji 🎟️ « quotes » ' \" \\",
        "Y1": "  padded  ",
    }
    for code, name in names.items():
        world.product("test", code, "subscription", "price_1ProTest", name=name)
    result = world.import_all()
    assert result.code == 0, result.text
    products = world.imported()["products"]
    assert {code: products[code]["name"] for code in names} == names
    assert world.plan_imported("--detailed-exitcode").code == 0


def test_sandbox_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --sandbox, no project and no credentials are needed: the sandbox's defaults apply."""
    monkeypatch.setenv("LICENZY_SYNC_SANDBOX_DIR", str(tmp_path / "sandbox"))
    for name in (*STANDARD_ENV, "LICENZY_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    result = run_cli(capsys, "import", "--sandbox", "--mode", "all", "-o", "-")
    assert result.code == 0, result.text
    data = yaml.safe_load(result.out)
    assert data["project"] == "proj_sandbox"
    assert data["products"] == {}
    assert "lzp_sandbox" not in result.text and "sk_test_sandbox" not in result.text
    assert "note: its first line names ./licenzy.schema.json for editors" in result.err


def _keyed_price(world: ImportWorld, mode: Mode, key: str | None, amount: int) -> str:
    """A price made in the Dashboard, with its own product, as a person would make it."""
    client = world.stripe(mode)
    product = client.v1.products.create(params={"name": "Hand made"})
    params: dict[str, Any] = {
        "product": product.id,
        "unit_amount": amount,
        "currency": "eur",
        "recurring": {"interval": "month"},
    }
    if key is not None:
        params["lookup_key"] = key
    return str(client.v1.prices.create(params=params).id)


def test_declare_prices_writes_declarations_and_the_file_plans_no_change(
    world: ImportWorld,
) -> None:
    """Prices holding one lookup key in both modes become one declaration naming it, adopted
    as they are; a price without a lookup key keeps its ids, with the reason noted."""
    world.seed()
    _hand_made_endpoint(world)
    for mode in ("test", "live"):
        keyed = _keyed_price(world, mode, "pro_monthly", 1900)
        world.create_product(mode, "PRO", "subscription", keyed, name="Pro")
        world.create_product(mode, "TEAM", "subscription", _keyed_price(world, mode, None, 4900))
    result = world.import_all("--declare-prices")
    assert result.code == 0, result.text
    data = world.imported()
    assert data["products"]["PRO"]["price"] == {
        "amount": 1900,
        "currency": "eur",
        "interval": "month",
        "lookup_key": "pro_monthly",
    }
    assert set(data["products"]["TEAM"]["price"]) == {"test", "live"}
    assert "products.TEAM: price ids kept: a price has no lookup key" in result.err
    planned = world.plan_imported("--format", "json")
    assert planned.code == 0, planned.text
    plan = json.loads(planned.out)
    assert [r["address"] for r in plan["resources"] if r["action"] != "no-op"] == []
    assert plan["findings"] == []
