"""Every rule id licenzy-sync reports, in one table; the README's table is tested against it."""

from __future__ import annotations

from dataclasses import dataclass

from licenzy_sync.findings import Finding, Position, Severity


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    hint: str

    def finding(
        self,
        message: str,
        field: str = "",
        position: Position | None = None,
        *,
        address: str = "",
        hint: str | None = None,
    ) -> Finding:
        return Finding(
            self.id,
            self.severity,
            message,
            field,
            position,
            self.hint if hint is None else hint,
            address,
        )


RULES: dict[str, Rule] = {}


def _rule(id_: str, severity: Severity, title: str, hint: str) -> Rule:
    rule = Rule(id_, severity, title, hint)
    RULES[id_] = rule
    return rule


E, W = Severity.ERROR, Severity.WARNING

UNSUPPORTED_VERSION = _rule("LZ001", E, "unsupported config version", "set `version: 1`")
CODE_FORMAT = _rule(
    "LZ002",
    E,
    "product code does not match ^[A-Z][A-Z0-9_]{1,63}$",
    "use upper-case letters, digits and underscores, starting with a letter, e.g. PRO_MONTHLY",
)
CODE_LOOKS_LIKE_STRIPE_ID = _rule(
    "LZ003",
    E,
    "product code looks like a Stripe id",
    "runtime checkout takes a Licenzy product code; put the Stripe id under `price:`",
)
PRICE_ID_FORMAT = _rule(
    "LZ004",
    E,
    "price id is not a Stripe price id (price_...)",
    "copy the price id (price_...) from the Stripe dashboard, not the product id (prod_...)",
)
KIND_FIELD_MISSING = _rule(
    "LZ005",
    E,
    "field required by the product kind is missing",
    "usage_pack needs `units`, time_pass needs `duration_days`",
)
KIND_FIELD_UNEXPECTED = _rule(
    "LZ006",
    E,
    "field does not apply to the product kind",
    "`units` is for usage_pack only, `duration_days` for time_pass only",
)
MODE_NOT_DECLARED = _rule(
    "LZ007",
    E,
    "product priced in a mode that has no `modes` block",
    "add the mode under `modes:` or remove the price for it",
)
EVENTS_MISSING = _rule(
    "LZ008",
    E,
    "webhook event list misses events Licenzy requires",
    "use `events: required`, or add the missing events to the list",
)
PRICE_SHARED = _rule(
    "LZ009",
    W,
    "one price id is mapped to several product codes in a mode",
    "give each product its own Stripe price unless the duplication is intended",
)
NO_PRICE = _rule(
    "LZ010",
    E,
    "product has no price in any mode",
    "add `price: {test: price_...}` (and live when ready)",
)
PRICE_IN_BOTH_MODES = _rule(
    "LZ011",
    E,
    "the same price id is used in test and live",
    "a Stripe price lives in exactly one mode; test and live need different price ids",
)
NO_MODES = _rule(
    "LZ012",
    E,
    "no mode is declared",
    "add `modes: {test: ...}`",
)
SECRET_IGNORED = _rule(
    "LZ013",
    W,
    "with `manage: true`, the webhook secret serves only to adopt an endpoint made by hand",
    "keep it until apply has adopted the hand-made endpoint whose signing secret it is, then "
    "remove it: a managed endpoint's secret comes from Stripe when apply creates one",
)
LIVE_WEBHOOK_NOT_HTTPS = _rule(
    "LZ014",
    E,
    "live webhook endpoint URL is not https",
    "Stripe only delivers live events to https URLs",
)
RESERVED_METADATA = _rule(
    "LZ015",
    E,
    "metadata key is reserved for licenzy-sync's ownership markers",
    "rename the key; licenzy-sync writes `managed_by` and `protect` itself",
)
LITERAL_SECRET = _rule(
    "LZ020",
    E,
    "a literal secret is written in the file",
    "move it to an environment variable and write ${NAME}; rotate it if it was committed",
)
KEY_MODE_MISMATCH = _rule(
    "LZ021",
    E,
    "a credential's mode does not match the block it is used in",
    "use the test key in `modes.test` and the live key in `modes.live`",
)
WRONG_CREDENTIAL = _rule(
    "LZ022",
    E,
    "a credential of the wrong kind is referenced",
    "secret_key takes sk_/rk_ keys, webhook secrets start with whsec_, licenzy.token is a "
    "portal token (not an lz_ API key)",
)
ENV_MISSING = _rule(
    "LZ023",
    E,
    "a referenced environment variable is not set",
    "export the variable where the command runs (in CI, from the job's secrets)",
)
ENDPOINT_UNUSABLE = _rule(
    "LZ024",
    E,
    "an endpoint URL may not receive credentials",
    "use https:// (http:// only for 127.0.0.0/8, ::1 and localhost), without user:password@, "
    "query or fragment",
)
ENDPOINT_UNCONFIRMED = _rule(
    "LZ025",
    E,
    "an endpoint named in the file is not confirmed by the environment",
    "set the same URL in LICENZY_URL or LICENZY_SYNC_STRIPE_API_BASE where the job's secrets "
    "are set, or remove it from the file",
)
RUNTIME_KEY_MODE = _rule(
    "LZ030",
    E,
    "a Licenzy runtime API key of the other mode is referenced",
    "use the lz_test_ key in `modes.test.licenzy.api_key` and the lz_live_ key in "
    "`modes.live.licenzy.api_key`",
)
RUNTIME_KEY_KIND = _rule(
    "LZ031",
    E,
    "licenzy.api_key does not hold a Licenzy runtime API key (lz_test_/lz_live_)",
    "copy the API key from the Licenzy portal's API keys page of the same mode",
)
DECLARED_PRICE_KIND = _rule(
    "LZ032",
    E,
    "declared price does not fit the product kind",
    "a subscription declares an `interval`; a time_pass or usage_pack declares none (one-time)",
)
INTERVAL_COUNT_RANGE = _rule(
    "LZ033",
    E,
    "interval_count is outside Stripe's range or has no interval",
    "at most three years: 1095 days, 156 weeks, 36 months or 3 years; a one-time price has "
    "no `interval_count`",
)
LOOKUP_KEY_TOO_LONG = _rule(
    "LZ034",
    E,
    "price lookup key is longer than Stripe's 200 characters",
    "set a shorter `lookup_key` (the default is licenzy_sync:<project>:<CODE>)",
)
CURRENCY_FORMAT = _rule(
    "LZ035",
    E,
    "currency is not a three-letter ISO 4217 code",
    "write the currency's code, e.g. eur or usd",
)
LOOKUP_KEY_SHARED = _rule(
    "LZ036",
    E,
    "two declared prices use the same lookup key in a mode",
    "Stripe keeps a lookup key unique per account and mode; give each price its own "
    "`lookup_key`",
)

PRICE_MISSING = _rule(
    "LZ101",
    E,
    "referenced Stripe price does not exist",
    "check the price id in the Stripe dashboard of the same mode",
)
PRICE_INACTIVE = _rule(
    "LZ102",
    E,
    "referenced Stripe price is inactive (archived in Stripe)",
    "reactivate the price in Stripe or map the product to an active price",
)
PRICE_OTHER_MODE = _rule(
    "LZ103",
    E,
    "referenced Stripe price lives in the other mode",
    "test blocks take test prices and live blocks live prices; copy the id from the right mode",
)
PRICE_SHAPE = _rule(
    "LZ104",
    E,
    "price billing shape does not fit the product kind",
    "subscription needs a recurring price; time_pass and usage_pack need a one-time price",
)
PRICE_METERED = _rule(
    "LZ105",
    W,
    "subscription mapped to a metered recurring price",
    "Licenzy grants access per subscription; use a licensed (per-seat) recurring price",
)
KEY_LIVEMODE = _rule(
    "LZ106",
    E,
    "Stripe says the key of this block belongs to the other mode",
    "use the test key in `modes.test` and the live key in `modes.live`",
)
LOOKUP_KEY_TAKEN = _rule(
    "LZ107",
    E,
    "a declared price's lookup key is held by a price licenzy-sync did not create",
    "give the declaration another `lookup_key`, or remove the key from that price in Stripe",
)
CONNECTION_MISSING = _rule(
    "LZ110",
    E,
    "Licenzy has no Stripe connection for a mode in use",
    "connect Stripe for this mode in the Licenzy portal (Stripe keys page)",
)
CONNECTION_NOT_VALIDATED = _rule(
    "LZ111",
    E,
    "Licenzy's Stripe connection for a mode in use is not validated",
    "re-save the Stripe key in the Licenzy portal so Licenzy validates it",
)
CONNECTION_OTHER_ACCOUNT = _rule(
    "LZ112",
    E,
    "Licenzy is connected to a different Stripe account than the configured key",
    "connect Licenzy to the account whose prices the config references, or fix the key",
)
WEBHOOK_SECRET_MISSING = _rule(
    "LZ114",
    E,
    "no inbound webhook signing secret is stored in Licenzy for a mode in use",
    "set `webhook.manage: true`, or set `webhook.secret` so apply stores it, or store it in the "
    "portal",
)
ENDPOINT_MISSING = _rule(
    "LZ120",
    E,
    "no Stripe webhook endpoint delivers to Licenzy's tenant URL",
    "set `webhook.manage: true` so apply creates it, or create it in the Stripe dashboard",
)
ENDPOINT_DISABLED = _rule(
    "LZ121",
    E,
    "the tenant webhook endpoint is disabled",
    "enable it in Stripe, or set `webhook.manage: true`",
)
ENDPOINT_EVENTS = _rule(
    "LZ122",
    E,
    "the tenant webhook endpoint misses events Licenzy requires",
    "add the events in Stripe, or set `webhook.manage: true`",
)
ENDPOINT_DUPLICATE = _rule(
    "LZ123",
    E,
    "more than one Stripe endpoint delivers to the tenant URL",
    "delete all but one: every event would reach Licenzy twice",
)
ENDPOINT_WRONG_URL = _rule(
    "LZ124",
    E,
    "a tenant webhook endpoint points at the wrong URL",
    "point it at the tenant URL this message names, or set `webhook.manage: true` so apply "
    "creates one there",
)
ENDPOINT_UNOWNED = _rule(
    "LZ125",
    E,
    "the tenant endpoint exists but was not created by licenzy-sync",
    "to adopt it, set `webhook.secret` to its signing secret (Stripe Dashboard, the endpoint, "
    "Reveal): apply marks it and fixes it, keeping that secret; or delete it in Stripe so apply "
    "creates a managed one, or set `webhook.manage: false`",
)
ENDPOINT_ORPHANED = _rule(
    "LZ126",
    W,
    "an endpoint carries licenzy-sync's marker but no project, and Licenzy does not hold its "
    "secret",
    "the project whose Licenzy holds its secret adopts it at its next apply; if none does, "
    "delete it in Stripe",
)
NO_API_KEY = _rule(
    "LZ130",
    W,
    "no active Licenzy API key for a mode in use",
    "create one in the Licenzy portal and put it in your backend's secrets",
)
KIND_CHANGED = _rule(
    "LZ131",
    E,
    "product kind differs from Licenzy's; kind is immutable and a code is never freed",
    "give the new product a new code; the old one stays (archive it with --prune once it "
    "carries licenzy-sync's marker)",
)
UNMANAGED_PRODUCT = _rule(
    "LZ132",
    W,
    "a Licenzy product is not in the config",
    "add it to licenzy.yaml (or `licenzy-sync import`), or archive it; licenzy-sync leaves "
    "products without its marker alone",
)
PRUNABLE_PRODUCT = _rule(
    "LZ133",
    W,
    "a product licenzy-sync created is no longer in the config",
    "run apply with --prune to archive it, or put it back in licenzy.yaml",
)
PROTECTED_PRODUCT = _rule(
    "LZ134",
    W,
    "a protected product is no longer in the config; it is kept",
    "remove the protection in Licenzy first if it really must go",
)

WRITE_PERMISSION_MISSING = _rule(
    "LZ140",
    W,
    "the restricted Stripe key may not make a write the plan needs; apply refuses to start",
    "fine for a read-only plan key; give apply's key the named permission (Dashboard, API "
    "keys, edit the restricted key); the README lists what each command needs",
)

RUNTIME_KEY_MISSING = _rule(
    "LZ300",
    E,
    "a mode to verify has no Licenzy runtime API key",
    "add `licenzy: {api_key: ${LICENZY_TEST_API_KEY}}` under the mode, holding an API key from "
    "the Licenzy portal of that mode",
)
VERIFY_UNKNOWN_PRODUCT = _rule(
    "LZ301",
    E,
    "Licenzy does not know the product code in this mode",
    "run apply, or create the product in the Licenzy portal of the same mode",
)
VERIFY_OTHER_PRICE = _rule(
    "LZ302",
    E,
    "Licenzy's checkout for the code charges another price than the file",
    "run apply, or map the product to the file's price in the Licenzy portal",
)
VERIFY_OTHER_MODE = _rule(
    "LZ303",
    E,
    "Licenzy answered in the other mode",
    "the runtime API key belongs to the other mode: use the lz_test_ key for test and the "
    "lz_live_ key for live",
)
VERIFY_CHECKOUT_REFUSED = _rule(
    "LZ304",
    E,
    "Licenzy refused the checkout",
    "read Licenzy's code and message: a revoked key, a missing or unvalidated Stripe "
    "connection, or a live plan Licenzy does not allow (plan_mode_not_allowed)",
)
VERIFY_NO_SESSION = _rule(
    "LZ305",
    E,
    "Licenzy's checkout URL carries no Stripe Checkout Session of the mode",
    "Licenzy must answer with Stripe's hosted checkout URL; check its Stripe connection",
)
VERIFY_WEBHOOK_UNACKNOWLEDGED = _rule(
    "LZ306",
    E,
    "Stripe's event for the verification checkout was not acknowledged by every endpoint",
    "the signing secret in Licenzy may be another endpoint's (re-store it, or run apply for a "
    "managed endpoint), or an endpoint is disabled or points elsewhere",
)
VERIFY_NO_ENDPOINT = _rule(
    "LZ307",
    E,
    "no enabled Stripe endpoint receives checkout.session.expired",
    "create the tenant endpoint with the 12 events Licenzy needs (`webhook.manage: true` and "
    "apply), or enable it in Stripe",
)
VERIFY_NO_EVENT = _rule(
    "LZ308",
    E,
    "Stripe emitted no event for the expired verification checkout in time",
    "raise --webhook-timeout; Stripe may be slow to emit events",
)
