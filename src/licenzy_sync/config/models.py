"""licenzy.yaml as typed models: the one definition the loader, the schema and the planner share.

Structure and types are enforced here (unknown fields are errors, nothing is coerced); the
checks that deserve a rule id and a fix hint live in ``licenzy_sync.rules``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from licenzy_sync.keys import MODES, Mode, looks_like_secret

ProductKind = Literal["subscription", "time_pass", "usage_pack"]
KINDS: tuple[ProductKind, ...] = ("subscription", "time_pass", "usage_pack")

REQUIRED_EVENTS: tuple[str, ...] = (
    "checkout.session.completed",
    "checkout.session.expired",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
    "refund.created",
    "refund.updated",
)
"""The Stripe events Licenzy's tenant webhook must receive (Licenzy's public docs)."""

SECRET_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
SECRET_REF_PATTERN = SECRET_REF.pattern


LITERAL_SECRET = "literal_secret"
"""Error type of a credential written into the file; its message never repeats the value."""


def _secret_ref(value: str) -> str:
    if SECRET_REF.match(value):
        return value
    if looks_like_secret(value):
        raise PydanticCustomError(
            LITERAL_SECRET,
            "a literal secret is not allowed here; reference an environment variable "
            "instead, e.g. ${STRIPE_TEST_SECRET_KEY}",
        )
    raise PydanticCustomError(
        "secret_ref", "expected an environment variable reference like ${NAME}"
    )


SecretRef = Annotated[
    str,
    AfterValidator(_secret_ref),
    Field(
        json_schema_extra={"pattern": SECRET_REF_PATTERN},
        description="A reference to an environment variable, `${NAME}`; never a literal secret.",
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LicenzySettings(_Model):
    url: str | None = Field(
        None,
        description="Licenzy base URL, default https://licenzy.app. Another URL is used only "
        "when LICENZY_URL names it too (a loopback one needs no confirmation); LICENZY_URL "
        "alone overrides it.",
    )
    token: SecretRef = Field(description="Portal token reference, e.g. ${LICENZY_PORTAL_TOKEN}.")


class StripeSettings(_Model):
    secret_key: SecretRef = Field(
        description="Stripe secret (sk_) or restricted (rk_) key reference for this mode."
    )
    api_base: str | None = Field(
        None,
        description="Stripe API base URL, default https://api.stripe.com. Another URL is used "
        "only when LICENZY_SYNC_STRIPE_API_BASE names it too (a loopback one needs no "
        "confirmation); the variable alone overrides it.",
    )


class WebhookSettings(_Model):
    manage: bool = Field(
        False,
        description="true: licenzy-sync creates/updates the Stripe endpoint and stores its "
        "signing secret in Licenzy. false: it only verifies.",
    )
    url: str | None = Field(
        None,
        description="Endpoint URL override; default {licenzy url}/v1/webhooks/stripe/tenant.",
    )
    events: Literal["required"] | list[str] = Field(
        "required",
        description="'required' for the 12 events Licenzy needs, or an explicit superset.",
    )
    secret: SecretRef | None = Field(
        None,
        description="Signing secret reference (whsec_) of an endpoint you manage by hand; "
        "apply stores it in Licenzy when it is missing there.",
    )

    def event_list(self) -> list[str]:
        return list(REQUIRED_EVENTS) if self.events == "required" else list(self.events)


class ModeSettings(_Model):
    stripe: StripeSettings
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)


class Modes(_Model):
    test: ModeSettings | None = None
    live: ModeSettings | None = None

    def get(self, mode: Mode) -> ModeSettings | None:
        return self.test if mode == "test" else self.live

    def declared(self) -> list[Mode]:
        return [mode for mode in MODES if self.get(mode) is not None]


class PriceIds(_Model):
    test: str | None = Field(None, description="Stripe price id (price_...) in test mode.")
    live: str | None = Field(None, description="Stripe price id (price_...) in live mode.")

    def get(self, mode: Mode) -> str | None:
        return self.test if mode == "test" else self.live


class Product(_Model):
    kind: ProductKind
    name: str | None = None
    price: PriceIds = Field(description="Stripe price id per mode; omit a mode to skip it.")
    units: int | None = Field(None, gt=0, description="usage_pack only: units per purchase.")
    duration_days: int | None = Field(None, gt=0, description="time_pass only: days of access.")
    protect: bool = Field(False, description="Never archive this product, even with --prune.")
    metadata: dict[str, str] = Field(default_factory=dict)


class Config(_Model):
    version: int = Field(description="Config format version; 1.")
    project: str = Field(min_length=1, description="Licenzy project id (proj_...) or exact name.")
    licenzy: LicenzySettings
    modes: Modes
    products: dict[str, Product] = Field(
        default_factory=dict, description="The catalog, keyed by Licenzy product code."
    )
