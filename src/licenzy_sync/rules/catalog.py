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
    "webhook secret reference is ignored when `manage: true`",
    "a managed endpoint's secret comes from Stripe at creation; remove `secret:` or set "
    "`manage: false`",
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
    "export the variable, or run with --sandbox to use the sandbox's defaults",
)
