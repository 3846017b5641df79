"""licenzy.yaml as typed models: the one definition the loader, the schema and the planner share.

Structure and types are enforced here (unknown fields are errors, nothing is coerced); the
checks that deserve a rule id and a fix hint live in ``licenzy_sync.rules``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)
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
    """Each model's validator is built when it is first needed (``defer_build``): a file is
    validated through `Config` alone, so building every nested model's own validator at import
    would cost each start of the CLI for nothing."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


PortalMode = Literal["api", "none"]


class LicenzySettings(_Model):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        json_schema_extra={  # editors: the token is required unless `portal: none`
            "if": {"properties": {"portal": {"const": "none"}}, "required": ["portal"]},
            "else": {"required": ["token"]},
        },
    )

    url: str | None = Field(
        None,
        description="Licenzy base URL, default https://licenzy.app. Another URL is used only "
        "when LICENZY_URL names it too (a loopback one needs no confirmation); LICENZY_URL "
        "alone overrides it.",
    )
    portal: PortalMode = Field(
        "api",
        description="api: read and write Licenzy through its portal API with `token`. none: "
        "no portal access; plan and apply show what to enter in the Licenzy portal by hand, "
        "and verify proves it was done.",
    )
    token: SecretRef | None = Field(
        None,
        description="Portal token reference, e.g. ${LICENZY_PORTAL_TOKEN}; required unless "
        "`portal: none`.",
    )

    @model_validator(mode="after")
    def _token_for_portal(self) -> LicenzySettings:
        """Without portal access there is nothing to authenticate; with it, nothing works
        without a token."""
        if self.portal == "api" and self.token is None:
            raise PydanticCustomError(
                "missing",
                "required field is missing unless `portal: none` is set",
                {"field": "token"},
            )
        return self


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


class ModeLicenzySettings(_Model):
    api_key: SecretRef = Field(
        description="Licenzy runtime API key reference (lz_test_ or lz_live_, the mode of the "
        "block), e.g. ${LICENZY_TEST_API_KEY}; `verify` creates checkouts with it."
    )


class ModeSettings(_Model):
    stripe: StripeSettings
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    licenzy: ModeLicenzySettings | None = Field(
        None, description="Licenzy's runtime API for this mode (needed by `verify`)."
    )


class Modes(_Model):
    test: ModeSettings | None = None
    live: ModeSettings | None = None

    def get(self, mode: Mode) -> ModeSettings | None:
        return self.test if mode == "test" else self.live

    def declared(self) -> list[Mode]:
        return [mode for mode in MODES if self.get(mode) is not None]


class PriceIds(_Model):
    """Existing Stripe prices, one id per mode, made by hand in the Dashboard."""

    test: str | None = Field(None, description="Stripe price id (price_...) in test mode.")
    live: str | None = Field(None, description="Stripe price id (price_...) in live mode.")

    def get(self, mode: Mode) -> str | None:
        return self.test if mode == "test" else self.live


Interval = Literal["day", "week", "month", "year"]
TaxBehavior = Literal["exclusive", "inclusive", "unspecified"]
MAX_INTERVAL_COUNT: dict[Interval, int] = {"day": 1095, "week": 156, "month": 36, "year": 3}
"""Stripe's longest billing period is three years, in whichever unit it is written."""
LOOKUP_KEY_MAX = 200
"""Stripe's limit on a price's lookup key."""
LOOKUP_KEY_PREFIX = "licenzy_sync"


def _lower_case(value: str) -> str:
    """ISO 4217 codes are usually written upper case (EUR); Stripe stores them lower case."""
    return value.lower()


def _distinct_modes(value: list[Mode]) -> list[Mode]:
    if len(set(value)) != len(value):
        raise PydanticCustomError("modes_repeated", "a mode is listed twice")
    return value


class PriceDeclaration(_Model):
    """A price licenzy-sync creates and owns in Stripe, one per mode it exists in.

    The Stripe ids are not in the file: each mode's price is found by its lookup key and
    ownership metadata, and its id is known only after apply.
    """

    amount: int = Field(
        ge=0, description="Price in the currency's minor unit (cents): 1900 is 19.00 EUR."
    )
    currency: Annotated[str, AfterValidator(_lower_case)] = Field(
        description="ISO 4217 currency code, e.g. eur or EUR (stored lower case)."
    )
    interval: Interval | None = Field(
        None,
        description="Billing period of a subscription (day, week, month, year); omit it for "
        "a one-time price (time_pass, usage_pack).",
    )
    interval_count: int | None = Field(
        None, gt=0, description="Periods between bills, default 1; at most three years."
    )
    lookup_key: str | None = Field(
        None,
        min_length=1,
        description="Stripe lookup key, unique per account and mode; default "
        "licenzy_sync:<project>:<CODE>.",
    )
    nickname: str | None = Field(None, description="Internal name shown in the Dashboard.")
    tax_behavior: TaxBehavior | None = Field(
        None,
        description="Whether the amount includes tax: exclusive, inclusive or unspecified. "
        "Stripe lets it be set only once.",
    )
    modes: Annotated[list[Mode], AfterValidator(_distinct_modes)] | None = Field(
        None, description="The modes the price exists in; default: every mode in `modes`."
    )

    def get(self, mode: Mode) -> None:
        """No price id is written in the file: the id is known only after apply. Mirrors
        ``PriceIds.get`` so code that reads mapped ids skips a declaration."""
        return None

    @property
    def recurring(self) -> bool:
        return self.interval is not None

    @property
    def period(self) -> tuple[Interval, int] | None:
        """The billing period as Stripe stores it, the count 1 when omitted; None for a
        one-time price. Compared as a whole: Stripe cannot change it on a price."""
        if self.interval is None:
            return None
        return self.interval, self.interval_count or 1

    def in_modes(self, declared: Sequence[Mode]) -> list[Mode]:
        """The modes the price exists in, in the order of ``MODES``; ``declared`` are the
        modes the file declares, the default."""
        wanted = declared if self.modes is None else self.modes
        return [mode for mode in MODES if mode in wanted]

    def lookup_key_for(self, project: str, code: str) -> str:
        """The lookup key in use: the written one, or one derived from the project and the
        product code. Stripe keeps lookup keys unique per account and mode, so the project
        is part of it: two projects sharing a Stripe account never claim each other's price."""
        if self.lookup_key is not None:
            return self.lookup_key
        return f"{LOOKUP_KEY_PREFIX}:{project}:{code}"


DECLARATION_FIELDS = frozenset(PriceDeclaration.model_fields)
ID_FIELDS = frozenset(PriceIds.model_fields)


def _price_form(value: Any) -> str:
    """Which form a `price` mapping is written in: any declaration field makes it one."""
    if isinstance(value, dict) and DECLARATION_FIELDS & value.keys():
        return "declared"
    if isinstance(value, PriceDeclaration):
        return "declared"
    return "ids"


Price = Annotated[
    Annotated[PriceIds, Tag("ids")] | Annotated[PriceDeclaration, Tag("declared")],
    Discriminator(_price_form),
]


class Product(_Model):
    kind: ProductKind
    name: str | None = None
    price: Price = Field(
        description="Either the existing Stripe price id per mode (omit a mode to skip it), "
        "or a declared price (amount, currency, interval, ...) that licenzy-sync creates."
    )
    units: int | None = Field(None, gt=0, description="usage_pack only: units per purchase.")
    duration_days: int | None = Field(None, gt=0, description="time_pass only: days of access.")
    protect: bool = Field(False, description="Never archive this product, even with --prune.")
    metadata: dict[str, str] = Field(default_factory=dict)

    @field_validator("price", mode="before")
    @classmethod
    def _one_form(cls, value: Any) -> Any:
        """A mapping of ids with declaration fields beside them is neither form; say so at
        the first declaration field instead of reporting each as unknown."""
        if isinstance(value, dict) and ID_FIELDS & value.keys():
            declared = [key for key in value if key in DECLARATION_FIELDS]
            if declared:
                raise PydanticCustomError(
                    "price_form",
                    "a price maps existing price ids (test, live) or declares a price "
                    "(amount, currency, ...), not both",
                    {"field": declared[0]},
                )
        return value

    @property
    def declared_price(self) -> PriceDeclaration | None:
        """The declaration when the price is declared rather than mapped."""
        return self.price if isinstance(self.price, PriceDeclaration) else None

    def priced_in(self, mode: Mode, declared: Sequence[Mode]) -> bool:
        """Whether the product is sold in ``mode``: a mapped id for it, or a declared price
        existing in it (``declared`` are the modes the file declares)."""
        if isinstance(self.price, PriceDeclaration):
            return mode in self.price.in_modes(declared)
        return bool(self.price.get(mode))

    @property
    def price_ids(self) -> PriceIds | None:
        """The mapped ids when the price maps existing Stripe prices."""
        return self.price if isinstance(self.price, PriceIds) else None


class Config(_Model):
    version: int = Field(description="Config format version; 1.")
    project: str = Field(min_length=1, description="Licenzy project id (proj_...) or exact name.")
    licenzy: LicenzySettings
    modes: Modes
    products: dict[str, Product] = Field(
        default_factory=dict, description="The catalog, keyed by Licenzy product code."
    )

    @cached_property
    def declared_prices(self) -> dict[str, PriceDeclaration]:
        """The declared prices by product code. Several steps of every plan look for them,
        and a catalog of thousands of products mostly maps existing ids: found in one pass."""
        return {
            code: product.price
            for code, product in self.products.items()
            if isinstance(product.price, PriceDeclaration)
        }
