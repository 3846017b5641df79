"""Portal handlers: projects, the Stripe connection per mode, the product catalog, API keys.

Every check Licenzy documents for setup (key validity and mode, price existence, mode,
activity and billing shape) is made here against the Stripe emulator's state, so a sandbox
run fails exactly where a real setup would.
"""

from __future__ import annotations

import re
from typing import Any

from licenzy_sync.keys import Mode, classify
from licenzy_sync.sandbox.licenzy_base import (
    SCOPE,
    ApiError,
    Call,
    Result,
    get_connection,
    invalid,
    iso,
    json_object,
    mode_scope,
    paginate,
    parse_mode,
    public,
    query,
    reject_unknown,
    require_connection,
)
from licenzy_sync.sandbox.store import Tx
from licenzy_sync.sandbox.stripe_api import KeyAccount, get_price, resolve_key

PRICE_TYPE_FOR_KIND = {
    "subscription": "recurring",
    "time_pass": "one_time",
    "usage_pack": "one_time",
}
CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{1,63}")
CREATE_FIELDS = (
    "code",
    "mode",
    "kind",
    "stripe_price_id",
    "name",
    "units",
    "duration_days",
    "metadata",
)
REQUIRED_FIELDS = ("code", "mode", "kind", "stripe_price_id")
MUTABLE_FIELDS = ("stripe_price_id", "name", "units", "duration_days", "metadata")
IMMUTABLE_FIELDS = ("code", "kind", "mode")
STATUSES = ("active", "archived", "all")
PAGE_PARAMS = ("limit", "cursor")


def list_projects(call: Call) -> Result:
    return 200, paginate(call.tx, "project", SCOPE, query(call.request, PAGE_PARAMS))


def get_stripe_connection(call: Call) -> Result:
    query(call.request, ())
    return 200, public(get_connection(call.tx, call.project, call.mode))


def put_stripe_connection(call: Call) -> Result:
    """Validate the key the way Licenzy does (prefix, then Stripe itself), keep only its
    account, kind and last 4 characters; an omitted webhook secret keeps the stored one."""
    query(call.request, ())
    body = json_object(call.request)
    reject_unknown(body, ("secret_key", "webhook_secret"))
    key = body.get("secret_key")
    if not isinstance(key, str):
        raise invalid("secret_key is required and must be a string.", "secret_key")
    webhook_secret = body.get("webhook_secret")
    if webhook_secret is not None:
        _check_webhook_secret(webhook_secret)
    account = _validate_key(call.tx, key, call.mode)
    connection = {
        **get_connection(call.tx, call.project, call.mode),
        "connected": True,
        "stripe_account_id": account.account_id,
        "key_kind": account.kind,
        "key_last4": key[-4:],
        "validated_at": iso(call.now),
    }
    if webhook_secret is not None:
        connection.update(webhook_secret_fields(webhook_secret))
    call.tx.put("connection", call.project, call.mode, connection)
    return 200, public(connection)


def put_webhook_secret(call: Call) -> Result:
    query(call.request, ())
    body = json_object(call.request)
    reject_unknown(body, ("webhook_secret",))
    if "webhook_secret" not in body:
        raise invalid("webhook_secret is required.", "webhook_secret")
    secret = body["webhook_secret"]
    _check_webhook_secret(secret)
    connection = require_connection(call, "its webhook secret")
    connection.update(webhook_secret_fields(secret))
    call.tx.put("connection", call.project, call.mode, connection)
    return 200, public(connection)


def webhook_secret_fields(secret: str) -> dict[str, Any]:
    """The secret goes in a private field because the tenant webhook verifies with it."""
    return {
        "_webhook_secret": secret,
        "webhook_secret_set": True,
        "webhook_secret_last4": secret[-4:],
    }


def list_products(call: Call) -> Result:
    params = query(call.request, ("mode", "status", *PAGE_PARAMS))
    mode = parse_mode(params.get("mode"), "mode")
    status = params.get("status", "all")
    if status not in STATUSES:
        raise invalid("status must be one of: active, archived, all.", "status")
    page = paginate(
        call.tx,
        "product",
        mode_scope(call.project, mode),
        params,
        where=None if status == "all" else {"status": [status]},
        list_id=f"status={status}",
    )
    return 200, page


def get_product(call: Call) -> Result:
    query(call.request, ())
    return 200, _stored_product(call)


def create_product(call: Call) -> Result:
    query(call.request, ())
    body = json_object(call.request)
    reject_unknown(body, CREATE_FIELDS)
    for name in REQUIRED_FIELDS:
        if name not in body:
            raise invalid(f"{name} is required.", name)
    code = body["code"]
    if not isinstance(code, str):
        raise invalid("code must be a string.", "code")
    mode = parse_mode(body["mode"], "mode")
    kind = body["kind"]
    if kind not in PRICE_TYPE_FOR_KIND:
        raise invalid("kind must be one of: subscription, time_pass, usage_pack.", "kind")
    now = iso(call.now)
    product: dict[str, Any] = {
        "code": code,
        "mode": mode,
        "kind": kind,
        "stripe_price_id": None,
        "name": None,
        "status": "active",
        "units": None,
        "duration_days": None,
        "metadata": {},
        "created_at": now,
        "updated_at": now,
    }
    _apply(product, {name: body[name] for name in MUTABLE_FIELDS if name in body})
    if not CODE_PATTERN.fullmatch(code):
        raise ApiError(
            422,
            "product_code_invalid",
            "A product code is an upper-case letter, then 1 to 63 upper-case letters, digits "
            "or underscores; Stripe ids such as price_... are not codes.",
            "code",
        )
    _check_shape(product)
    scope = mode_scope(call.project, mode)
    if call.tx.get("product", scope, code) is not None:
        raise ApiError(
            409, "product_exists", f"Product {code} already exists in {mode} mode.", "code"
        )
    _check_price(call.tx, call.project, product)
    call.tx.put("product", scope, code, product)
    return 201, product


def patch_product(call: Call) -> Result:
    """Only a changed price is re-checked against Stripe: renaming a product must not fail
    because its price was archived in Stripe later."""
    query(call.request, ())
    body = json_object(call.request)
    for name in IMMUTABLE_FIELDS:
        if name in body:
            raise ApiError(400, "field_immutable", f"{name} cannot be changed.", name)
    reject_unknown(body, MUTABLE_FIELDS)
    stored = _stored_product(call)
    product = dict(stored)
    _apply(product, body)
    _check_shape(product)
    if "stripe_price_id" in body:
        _check_price(call.tx, call.project, product)
    if product != stored:
        product["updated_at"] = iso(call.now)
        call.tx.put("product", mode_scope(call.project, call.mode), product["code"], product)
    return 200, product


def archive_product(call: Call) -> Result:
    return _set_status(call, "archived")


def unarchive_product(call: Call) -> Result:
    return _set_status(call, "active")


def list_api_keys(call: Call) -> Result:
    params = query(call.request, ("mode", *PAGE_PARAMS))
    mode = parse_mode(params.get("mode"), "mode")
    return 200, paginate(call.tx, "api_key", mode_scope(call.project, mode), params)


def _set_status(call: Call, status: str) -> Result:
    """Archiving twice (or unarchiving an active product) is a no-op, so retries are safe."""
    query(call.request, ())
    reject_unknown(json_object(call.request, allow_empty=True), ())
    product = _stored_product(call)
    if product["status"] != status:
        product.update(status=status, updated_at=iso(call.now))
        call.tx.put("product", mode_scope(call.project, call.mode), product["code"], product)
    return 200, product


def _stored_product(call: Call) -> dict[str, Any]:
    code = call.params["code"]
    product = call.tx.get("product", mode_scope(call.project, call.mode), code)
    if product is None:
        raise ApiError(404, "product_not_found", f"No product {code} in {call.mode} mode.", "code")
    return product


def _check_webhook_secret(secret: object) -> None:
    if not isinstance(secret, str):
        raise invalid("webhook_secret must be a string.", "webhook_secret")
    found = classify(secret)
    if found is None or found.kind != "webhook_secret":
        raise ApiError(
            422,
            "webhook_secret_invalid",
            "A webhook signing secret starts with whsec_.",
            "webhook_secret",
        )


def _validate_key(tx: Tx, key: str, mode: Mode) -> KeyAccount:
    """Ask Stripe (the emulator) which account and mode the key acts in."""
    account = resolve_key(tx, key)
    if account is None:
        raise ApiError(
            422,
            "stripe_key_invalid",
            "Stripe rejected the key; only active secret (sk_) or restricted (rk_) keys work.",
            "secret_key",
        )
    if account.mode != mode:
        raise ApiError(
            422,
            "stripe_key_mode_mismatch",
            f"A {account.mode} Stripe key cannot be stored for {mode} mode.",
            "secret_key",
        )
    return account


def _apply(product: dict[str, Any], changes: dict[str, Any]) -> None:
    """Type-check and copy the mutable fields; metadata is replaced, not merged, so what a
    client sends is exactly what is stored."""
    for name, value in changes.items():
        if name == "stripe_price_id":
            if not isinstance(value, str) or not value:
                raise invalid("stripe_price_id must be a non-empty string.", name)
        elif name == "name":
            if value is not None and not isinstance(value, str):
                raise invalid("name must be a string or null.", name)
        elif name in ("units", "duration_days"):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                raise invalid(f"{name} must be a positive integer or null.", name)
        elif not isinstance(value, dict) or not all(
            isinstance(item, str) for pair in value.items() for item in pair
        ):
            raise invalid("metadata must be an object of string values.", name)
        product[name] = value


def _check_shape(product: dict[str, Any]) -> None:
    kind = product["kind"]
    if kind != "usage_pack" and product["units"] is not None:
        raise invalid("units applies to usage_pack products only.", "units")
    if kind != "time_pass" and product["duration_days"] is not None:
        raise invalid("duration_days applies to time_pass products only.", "duration_days")
    if kind == "usage_pack" and product["units"] is None:
        raise ApiError(422, "units_required", "A usage_pack needs units.", "units")
    if kind == "time_pass" and product["duration_days"] is None:
        raise ApiError(
            422, "duration_required", "A time_pass needs duration_days.", "duration_days"
        )


def _check_price(tx: Tx, project_id: str, product: dict[str, Any]) -> None:
    """The four price rules Licenzy enforces, with the stored connection's Stripe account."""
    mode: Mode = product["mode"]
    price_id: str = product["stripe_price_id"]
    connection = get_connection(tx, project_id, mode)
    if not connection["connected"]:
        raise ApiError(
            422,
            "stripe_not_connected",
            f"Connect Stripe for {mode} mode before mapping prices.",
            "stripe_price_id",
        )
    account_id: str = connection["stripe_account_id"]
    price = get_price(tx, account_id, mode, price_id)
    if price is None:
        other: Mode = "live" if mode == "test" else "test"
        if get_price(tx, account_id, other, price_id) is not None:
            raise ApiError(
                422,
                "price_mode_mismatch",
                f"{price_id} is a {other} price; this product is in {mode} mode.",
                "stripe_price_id",
            )
        raise ApiError(
            422,
            "price_not_found",
            f"Stripe has no price {price_id} in {mode} mode.",
            "stripe_price_id",
        )
    if not price.get("active"):
        raise ApiError(
            422,
            "price_inactive",
            f"{price_id} is inactive (archived in Stripe).",
            "stripe_price_id",
        )
    wanted = PRICE_TYPE_FOR_KIND[product["kind"]]
    if price.get("type") != wanted:
        raise ApiError(
            422,
            "price_type_mismatch",
            f"A {product['kind']} needs a {wanted} price; {price_id} is {price.get('type')}.",
            "stripe_price_id",
        )
