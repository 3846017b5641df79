"""Stripe products: the objects prices hang off.

licenzy-sync never writes products, but prices need one, and users seed and inspect them
through the sandbox with the real SDK, so the surface follows Stripe's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from licenzy_sync.sandbox.stripe_errors import (
    StripeError,
    invalid_param,
    parameter_missing,
    resource_missing,
)
from licenzy_sync.sandbox.stripe_ids import new_id
from licenzy_sync.sandbox.stripe_lists import Obj, created_filter, equal_to, paginate
from licenzy_sync.sandbox.stripe_params import (
    Ctx,
    check_params,
    expand_paths,
    metadata_update,
    nullable_str,
    opt_bool,
    opt_str,
    str_list,
)

KIND = "product"
PRICE_KIND = "price"

_NULLABLE_TEXT = {"description": 40000, "statement_descriptor": 22, "unit_label": 12, "url": 5000}
_WRITABLE = {
    "active",
    "description",
    "expand",
    "images",
    "metadata",
    "name",
    "shippable",
    *_NULLABLE_TEXT,
}
_CREATE = _WRITABLE | {"id"}
_UPDATE = _WRITABLE | {"default_price"}
_WRITE_NOT_EMULATED = {"default_price_data", "package_dimensions", "tax_code"}
_LIST = {
    "active",
    "created",
    "ending_before",
    "expand",
    "ids",
    "limit",
    "shippable",
    "starting_after",
    "url",
}
MAX_IMAGES = 8


def new_product(ctx: Ctx, product_id: str, name: str) -> Obj:
    """A product as Stripe returns it right after creation, before optional fields apply."""
    return {
        "id": product_id,
        "object": "product",
        "active": True,
        "created": ctx.now,
        "default_price": None,
        "description": None,
        "images": [],
        "livemode": ctx.livemode,
        "marketing_features": [],
        "metadata": {},
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": ctx.now,
        "url": None,
    }


def load(ctx: Ctx, product_id: str, *, param: str = "id", status: int = 404) -> Obj:
    product = ctx.tx.get(KIND, ctx.scope, product_id)
    if product is None:
        raise resource_missing("product", product_id, param, status)
    return product


def render(ctx: Ctx, product: Obj, expand: set[str]) -> Obj:
    if "default_price" in expand and product["default_price"]:
        product = {
            **product,
            "default_price": ctx.tx.get(PRICE_KIND, ctx.scope, product["default_price"]),
        }
    return product


def create(ctx: Ctx, params: Mapping[str, Any]) -> Obj:
    check_params(params, _CREATE, _WRITE_NOT_EMULATED)
    expand = expand_paths(params, {"default_price"})
    name = opt_str(params, "name")
    if not name:
        raise parameter_missing("name")
    product_id = opt_str(params, "id") or new_id("prod")
    if ctx.tx.get(KIND, ctx.scope, product_id) is not None:
        raise StripeError(
            400, "Product already exists.", code="resource_already_exists", param="id"
        )
    product = new_product(ctx, product_id, name)
    _apply(product, params)
    ctx.tx.put(KIND, ctx.scope, product_id, product)
    return render(ctx, product, expand)


def retrieve(ctx: Ctx, params: Mapping[str, Any], product_id: str) -> Obj:
    check_params(params, {"expand"})
    return render(ctx, load(ctx, product_id), expand_paths(params, {"default_price"}))


def update(ctx: Ctx, params: Mapping[str, Any], product_id: str) -> Obj:
    check_params(params, _UPDATE, _WRITE_NOT_EMULATED)
    expand = expand_paths(params, {"default_price"})
    product = load(ctx, product_id)
    if "name" in params and not opt_str(params, "name"):
        raise invalid_param(
            "name",
            "You passed an empty string for 'name'. We assume empty values are an "
            "attempt to unset a parameter; however 'name' cannot be unset.",
            "parameter_invalid_empty",
        )
    if "default_price" in params:
        product["default_price"] = _default_price(ctx, product_id, params)
    _apply(product, params)
    product["updated"] = ctx.now
    ctx.tx.put(KIND, ctx.scope, product_id, product)
    return render(ctx, product, expand)


def list_(ctx: Ctx, params: Mapping[str, Any]) -> Obj:
    check_params(params, _LIST)
    expand = expand_paths(params, {"data.default_price"})
    active = opt_bool(params, "active")
    ids = set(str_list(params, "ids") or [])
    shippable = opt_bool(params, "shippable")
    url = opt_str(params, "url")
    where = equal_to(active=active, shippable=shippable, url=url)
    if ids:
        where["id"] = sorted(ids)
    inner = {path.removeprefix("data.") for path in expand}
    return paginate(
        ctx,
        KIND,
        params,
        url="/v1/products",
        label="product",
        match=created_filter(params) if "created" in params else None,
        render=(lambda product: render(ctx, product, inner)) if inner else None,
        where=where,
    )


def _apply(product: Obj, params: Mapping[str, Any]) -> None:
    """Write the optional fields create and update share."""
    name = opt_str(params, "name")
    if name:
        product["name"] = name
    active = opt_bool(params, "active")
    if active is not None:
        product["active"] = active
    shippable = opt_bool(params, "shippable")
    if "shippable" in params:
        product["shippable"] = shippable
    for field, max_len in _NULLABLE_TEXT.items():
        if field in params:
            product[field] = nullable_str(params, field, max_len=max_len)
    if "images" in params:
        images = [] if params["images"] == "" else str_list(params, "images") or []
        if len(images) > MAX_IMAGES:
            raise invalid_param("images", f"You can pass at most {MAX_IMAGES} images.")
        product["images"] = images
    product["metadata"] = metadata_update(product["metadata"], params)


def _default_price(ctx: Ctx, product_id: str, params: Mapping[str, Any]) -> str | None:
    price_id = opt_str(params, "default_price")
    if not price_id:
        return None
    price = ctx.tx.get(PRICE_KIND, ctx.scope, price_id)
    if price is None:
        raise resource_missing("price", price_id, "default_price", status=400)
    if price["product"] != product_id:
        raise StripeError(
            400,
            f"The price {price_id} does not belong to product {product_id}.",
            param="default_price",
        )
    if not price["active"]:
        raise StripeError(
            400,
            "An inactive price cannot be set as the default price of a product.",
            param="default_price",
        )
    return price_id
