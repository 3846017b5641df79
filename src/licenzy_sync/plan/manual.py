"""With `licenzy.portal: none`, what a person must enter in the Licenzy portal by hand.

licenzy-sync cannot read or write Licenzy then, so `plan` and `apply` say exactly what
Licenzy must hold for each mode (the Stripe connection, the tenant endpoint's signing secret,
every product with its kind and price), and `verify` proves it was done. Never a secret:
only where to reveal it.
"""

from __future__ import annotations

from pathlib import Path

from licenzy_sync.config.load import LoadedConfig, load_config
from licenzy_sync.config.models import Product, WebhookSettings
from licenzy_sync.config.secrets import env_name
from licenzy_sync.keys import Mode
from licenzy_sync.plan import addresses
from licenzy_sync.plan.model import Plan

DASHBOARD = "https://dashboard.stripe.com"


def dashboard_link(mode: Mode, endpoint_id: str = "") -> str:
    test = "/test" if mode == "test" else ""
    return f"{DASHBOARD}{test}/webhooks/{endpoint_id}".rstrip("/")


def manual_steps(loaded: LoadedConfig, plan: Plan) -> list[str]:
    """Numbered-free lines, one per step, grouped by mode (test first)."""
    lines: list[str] = []
    config = loaded.config
    for mode in plan.modes:
        settings = config.modes.get(mode)
        assert settings is not None
        portal = f"the Licenzy portal's Stripe settings for {mode} mode"
        lines.append(f"{mode} mode:")
        lines.append(
            f"  - connect the Stripe {mode} key (the account holding the prices below) in "
            f"{portal}"
        )
        lines.append(f"  - {_secret_step(plan, mode, settings.webhook, portal)}")
        declared = config.modes.declared()
        for code, product in config.products.items():
            if not product.priced_in(mode, declared):
                continue
            price_id = _price_of(loaded, plan, mode, code) or str(product.price.get(mode))
            lines.append(f"  - {_product_step(mode, code, product, price_id)}")
    return lines


def _price_of(loaded: LoadedConfig, plan: Plan, mode: Mode, code: str) -> str | None:
    """A declared price as the portal needs it: the id read, or what apply will create."""
    declared = loaded.config.products[code].declared_price
    if declared is None:
        return None
    key = declared.lookup_key_for(loaded.config.project, code)
    change = plan.change_at(addresses.stripe_price(mode, code))
    if change is not None and change.action not in ("create", "replace") and change.before:
        return str(change.before["id"])
    return f"the price apply creates with lookup key {key} (plan again after apply for its id)"


def _secret_step(plan: Plan, mode: Mode, webhook: WebhookSettings, portal: str) -> str:
    if webhook.secret is not None:
        return f"paste the signing secret held in ${env_name(webhook.secret)} into {portal}"
    endpoint_id = _endpoint_id(plan, mode) if webhook.manage else None
    if endpoint_id is not None:
        return (
            f"reveal the signing secret of {endpoint_id} in the Stripe Dashboard for {mode} "
            f"mode ({dashboard_link(mode, endpoint_id)}) and paste it into {portal}"
        )
    which = "the tenant endpoint apply creates" if webhook.manage else "the tenant endpoint"
    return (
        f"reveal the signing secret of {which} in the Stripe Dashboard for {mode} mode "
        f"({dashboard_link(mode)}) and paste it into {portal}"
    )


def _endpoint_id(plan: Plan, mode: Mode) -> str | None:
    address = addresses.webhook_endpoint(mode)
    for resource in plan.resources:
        if resource.at == address and resource.action != "replace" and resource.before:
            found = resource.before.get("id")
            return found if isinstance(found, str) else None
    return None


def _product_step(mode: Mode, code: str, product: Product, price_id: str) -> str:
    extra = ""
    if product.units is not None:
        extra = f", units {product.units}"
    if product.duration_days is not None:
        extra = f", duration {product.duration_days} day(s)"
    name = f", name {product.name!r}" if product.name else ""
    return (
        f"product {code} in {mode} mode: kind {product.kind}, Stripe price {price_id}"
        f"{extra}{name}"
    )


def manual_section(plan: Plan) -> list[str]:
    """The steps under a heading, for a plan of a file with `portal: none`; else nothing."""
    loaded = load_config(Path(plan.config_file))
    if loaded.config.licenzy.portal != "none":
        return []
    return [
        "",
        "Manual steps (licenzy.portal: none): the Licenzy portal must hold, per mode:",
        *manual_steps(loaded, plan),
        "Then run `licenzy-sync verify` to prove it.",
    ]
