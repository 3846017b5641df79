"""Checks that need nothing but the file (and the names of the environment's variables)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.config.models import (
    LOOKUP_KEY_MAX,
    MAX_INTERVAL_COUNT,
    REQUIRED_EVENTS,
    PriceDeclaration,
    Product,
)
from licenzy_sync.config.secrets import Secret, lookup
from licenzy_sync.endpoints import in_file, unusable
from licenzy_sync.findings import Finding
from licenzy_sync.keys import KeyKind, Mode, classify
from licenzy_sync.rules import catalog as r

SUPPORTED_VERSIONS = (1,)
CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
STRIPE_ID = re.compile(r"^(price|prod|plan|sku|sub|cus|acct|pi|cs|whsec|we)_[A-Za-z0-9]")
"""What can really be a Stripe id: its prefix is lower case, so an upper-case code such as
SUB_MONTHLY or PI_DAY is a valid Licenzy code; LZ003 only says why a code failed LZ002."""
PRICE_ID = re.compile(r"^price_[A-Za-z0-9_]+$")
RESERVED_METADATA_KEYS = ("managed_by", "protect")
CURRENCY = re.compile(r"^[A-Za-z]{3}$")


def static_findings(
    loaded: LoadedConfig, environ: Mapping[str, str] | None = None
) -> list[Finding]:
    """All offline findings; credentials are checked only where their variable is set."""
    return [
        *_version(loaded),
        *_modes(loaded),
        *_products(loaded),
        *_declared_prices(loaded),
        *_credentials(loaded, environ),
        *_endpoints(loaded),
    ]


def _version(loaded: LoadedConfig) -> Iterator[Finding]:
    version = loaded.config.version
    if version not in SUPPORTED_VERSIONS:
        yield r.UNSUPPORTED_VERSION.finding(
            f"version {version} is not supported (this licenzy-sync reads version 1)",
            "version",
            loaded.position("version"),
        )


def _modes(loaded: LoadedConfig) -> Iterator[Finding]:
    modes = loaded.config.modes
    if not modes.declared():
        yield r.NO_MODES.finding(
            "`modes` declares neither test nor live", "modes", loaded.position("modes")
        )
    for mode in modes.declared():
        settings = modes.get(mode)
        assert settings is not None
        webhook = settings.webhook
        base = ("modes", mode, "webhook")
        if webhook.events != "required":
            missing = [event for event in REQUIRED_EVENTS if event not in webhook.events]
            if missing:
                yield r.EVENTS_MISSING.finding(
                    f"missing {len(missing)} required event(s): {', '.join(missing)}",
                    f"modes.{mode}.webhook.events",
                    loaded.position(*base, "events"),
                )
        if webhook.manage and webhook.secret is not None:
            yield r.SECRET_IGNORED.finding(
                "`secret` is set but the endpoint is managed: it only adopts a hand-made one",
                f"modes.{mode}.webhook.secret",
                loaded.position(*base, "secret"),
            )
        if mode == "live" and webhook.url and urlsplit(webhook.url).scheme != "https":
            yield r.LIVE_WEBHOOK_NOT_HTTPS.finding(
                f"'{webhook.url}' is not an https URL",
                f"modes.{mode}.webhook.url",
                loaded.position(*base, "url"),
            )


def _products(loaded: LoadedConfig) -> Iterator[Finding]:
    """Each product's own checks, then prices mapped to more than one product."""
    declared = loaded.config.modes.declared()
    owners: dict[tuple[Mode, str], list[str]] = {}
    for code, product in loaded.config.products.items():
        at = ("products", code)
        if CODE.match(code):  # the common case first: a valid code cannot match STRIPE_ID
            pass
        elif STRIPE_ID.match(code):
            yield r.CODE_LOOKS_LIKE_STRIPE_ID.finding(
                f"'{code}' looks like a Stripe id, not a product code",
                f"products.{code}",
                loaded.position(*at),
            )
        else:
            yield r.CODE_FORMAT.finding(
                f"'{code}' is not a valid product code", f"products.{code}", loaded.position(*at)
            )
        yield from _kind_fields(loaded, code, product)
        yield from _mapped_prices(loaded, code, product, declared, owners)
        for key in RESERVED_METADATA_KEYS:
            if key in product.metadata:
                yield r.RESERVED_METADATA.finding(
                    f"metadata key '{key}' is reserved",
                    f"products.{code}.metadata.{key}",
                    loaded.position(*at, "metadata", key),
                )
    for (mode, price_id), codes in owners.items():
        for code in codes[1:]:
            yield r.PRICE_SHARED.finding(
                f"{price_id} ({mode}) is mapped to {', '.join(codes)}",
                f"products.{code}.price.{mode}",
                loaded.position("products", code, "price", mode),
            )


def _mapped_prices(
    loaded: LoadedConfig,
    code: str,
    product: Product,
    declared: list[Mode],
    owners: dict[tuple[Mode, str], list[str]],
) -> Iterator[Finding]:
    """The ids a product maps, per mode; each is noted in ``owners`` (mode and id: codes)."""
    test, live = product.price.get("test"), product.price.get("live")
    ids: tuple[tuple[Mode, str | None], ...] = (("test", test), ("live", live))
    if not test and not live and product.declared_price is None:
        yield r.NO_PRICE.finding(
            f"{code} has no price for test or live",
            f"products.{code}.price",
            loaded.position("products", code, "price"),
        )
    for mode, price_id in ids:
        if not price_id:
            continue
        if not PRICE_ID.match(price_id):
            yield r.PRICE_ID_FORMAT.finding(
                f"'{price_id}' is not a price id",
                f"products.{code}.price.{mode}",
                loaded.position("products", code, "price", mode),
            )
        if mode not in declared:
            yield r.MODE_NOT_DECLARED.finding(
                f"{code} has a {mode} price but `modes.{mode}` is not declared",
                f"products.{code}.price.{mode}",
                loaded.position("products", code, "price", mode),
            )
        owners.setdefault((mode, price_id), []).append(code)
    if test and test == live:
        yield r.PRICE_IN_BOTH_MODES.finding(
            f"{code} uses '{test}' in both modes",
            f"products.{code}.price.live",
            loaded.position("products", code, "price", "live"),
        )


def _declared_prices(loaded: LoadedConfig) -> Iterator[Finding]:
    """A declared price is checked offline against what Stripe would refuse, so apply never
    stops half-way on a price Stripe cannot create."""
    config = loaded.config
    declared = config.modes.declared()
    holders: dict[tuple[Mode, str], list[str]] = {}
    for code, price in config.declared_prices.items():
        yield from _declaration(loaded, code, config.products[code].kind, price)
        modes = price.in_modes(declared)
        if price.modes is not None:
            for mode in price.modes:
                if mode not in declared:
                    yield r.MODE_NOT_DECLARED.finding(
                        f"{code}'s price is declared for {mode} but `modes.{mode}` is not "
                        "declared",
                        f"products.{code}.price.modes",
                        loaded.position("products", code, "price", "modes"),
                        hint=f"add `modes.{mode}` or remove {mode} from the price's `modes`",
                    )
            if not modes:
                yield r.NO_PRICE.finding(
                    f"{code}'s price is declared for no mode",
                    f"products.{code}.price.modes",
                    loaded.position("products", code, "price", "modes"),
                    hint="list the modes the price exists in, or omit `modes` for all of them",
                )
        key = price.lookup_key_for(config.project, code)
        for mode in modes:
            holders.setdefault((mode, key), []).append(code)
    for (mode, key), codes in holders.items():
        for code in codes[1:]:
            yield r.LOOKUP_KEY_SHARED.finding(
                f"{code}'s {mode} price uses lookup key '{key}', as {codes[0]} does",
                f"products.{code}.price.lookup_key",
                loaded.position("products", code, "price", "lookup_key"),
            )


def _declaration(
    loaded: LoadedConfig, code: str, kind: str, price: PriceDeclaration
) -> Iterator[Finding]:
    at = ("products", code, "price")
    field = f"products.{code}.price"
    if kind == "subscription" and price.interval is None:
        yield r.DECLARED_PRICE_KIND.finding(
            f"{code} is a subscription but its price declares no `interval`",
            f"{field}.interval",
            loaded.position(*at, "interval"),
        )
    elif kind != "subscription" and price.interval is not None:
        yield r.DECLARED_PRICE_KIND.finding(
            f"{code} is a {kind}, sold once, but its price recurs every {price.interval}",
            f"{field}.interval",
            loaded.position(*at, "interval"),
        )
    count = price.interval_count
    if count is not None and price.interval is None:
        yield r.INTERVAL_COUNT_RANGE.finding(
            f"{code}'s price has an `interval_count` but no `interval`",
            f"{field}.interval_count",
            loaded.position(*at, "interval_count"),
        )
    elif count is not None and price.interval is not None:
        most = MAX_INTERVAL_COUNT[price.interval]
        if count > most:
            yield r.INTERVAL_COUNT_RANGE.finding(
                f"{code}'s price bills every {count} {price.interval}s; Stripe allows at most "
                f"{most}",
                f"{field}.interval_count",
                loaded.position(*at, "interval_count"),
            )
    if not CURRENCY.match(price.currency):
        yield r.CURRENCY_FORMAT.finding(
            f"'{price.currency}' is not a currency code",
            f"{field}.currency",
            loaded.position(*at, "currency"),
        )
    key = price.lookup_key_for(loaded.config.project, code)
    if len(key) > LOOKUP_KEY_MAX:
        derived = "" if price.lookup_key is not None else " (derived from the project and code)"
        yield r.LOOKUP_KEY_TOO_LONG.finding(
            f"{code}'s lookup key{derived} has {len(key)} characters; Stripe allows "
            f"{LOOKUP_KEY_MAX}",
            f"{field}.lookup_key",
            loaded.position(*at, "lookup_key"),
        )


_KIND_FIELDS = {"usage_pack": "units", "time_pass": "duration_days"}
"""The field each kind needs; the other kinds take neither."""


def _kind_fields(loaded: LoadedConfig, code: str, product: Product) -> Iterator[Finding]:
    needs = _KIND_FIELDS.get(product.kind)
    at = ("products", code)
    for field_name, present in (
        ("units", product.units is not None),
        ("duration_days", product.duration_days is not None),
    ):
        if (field_name == needs) == present:
            continue
        if not present:
            yield r.KIND_FIELD_MISSING.finding(
                f"a {product.kind} needs `{field_name}`",
                f"products.{code}.{field_name}",
                loaded.position(*at),
            )
        else:
            yield r.KIND_FIELD_UNEXPECTED.finding(
                f"`{field_name}` does not apply to a {product.kind}",
                f"products.{code}.{field_name}",
                loaded.position(*at, field_name),
            )


def _credentials(loaded: LoadedConfig, environ: Mapping[str, str] | None) -> Iterator[Finding]:
    """The first mode guard: a set variable's prefix must fit the field and the mode block."""
    config = loaded.config
    token = None if config.licenzy.token is None else lookup(config.licenzy.token, environ)
    if token is not None:
        found = classify(token.reveal())
        if found is not None:
            yield r.WRONG_CREDENTIAL.finding(
                f"${{{token.env_name}}} holds a {found.label}, not a portal token",
                "licenzy.token",
                loaded.position("licenzy", "token"),
            )
    for mode in config.modes.declared():
        settings = config.modes.get(mode)
        assert settings is not None
        credentials = [(("modes", mode, "stripe", "secret_key"), settings.stripe.secret_key)]
        if settings.licenzy is not None:
            credentials.append((("modes", mode, "licenzy", "api_key"), settings.licenzy.api_key))
        for path, ref in credentials:
            key = lookup(ref, environ)
            if key is not None:
                yield from _mode_key(loaded, key, path, _KEY_RULES[path[2]])
        if settings.webhook.secret is not None:
            secret = lookup(settings.webhook.secret, environ)
            if secret is not None and not secret.reveal().startswith("whsec_"):
                yield r.WRONG_CREDENTIAL.finding(
                    f"${{{secret.env_name}}} does not hold a webhook signing secret (whsec_...)",
                    f"modes.{mode}.webhook.secret",
                    loaded.position("modes", mode, "webhook", "secret"),
                )


@dataclass(frozen=True)
class _KeyRules:
    """What a mode block's API credential may hold, and the rules it breaks otherwise."""

    kinds: tuple[KeyKind, ...]
    nothing: str
    needs: str
    wrong_kind: r.Rule
    wrong_mode: r.Rule


_KEY_RULES = {
    "stripe": _KeyRules(
        ("secret", "restricted"),
        "no Stripe key",
        "; the API needs a secret (sk_) or restricted (rk_) key",
        r.WRONG_CREDENTIAL,
        r.KEY_MODE_MISMATCH,
    ),
    "licenzy": _KeyRules(
        ("licenzy_api_key",), "no Licenzy API key", "", r.RUNTIME_KEY_KIND, r.RUNTIME_KEY_MODE
    ),
}
"""Per mode-block section: what its API credential may hold."""


def _mode_key(
    loaded: LoadedConfig, key: Secret, path: tuple[str, ...], rules: _KeyRules
) -> Iterator[Finding]:
    """An API credential must be of its field's kind and of its block's mode (``path[1]``):
    a key of the other mode reads or buys from the other catalog. The field's position is
    looked up only for a finding: a file's positions are made when first asked for."""
    field, found = ".".join(path), classify(key.reveal())
    if found is None or found.kind not in rules.kinds:
        what = f"a {found.label}" if found else rules.nothing
        yield rules.wrong_kind.finding(
            f"${{{key.env_name}}} holds {what}{rules.needs}", field, loaded.position(*path)
        )
    elif found.mode != path[1]:
        yield rules.wrong_mode.finding(
            f"${{{key.env_name}}} holds a {found.mode} {found.label} ({found.prefix}...) "
            f"in the {path[1]} block",
            field,
            loaded.position(*path),
        )


def _endpoints(loaded: LoadedConfig) -> Iterator[Finding]:
    """An endpoint in the file that no credential may go to (whether the environment confirms
    the others is for the commands that send them to decide)."""
    for home, _, named in in_file(loaded, loaded.config.modes.declared()):
        found = None if named is None else unusable(home, named)
        if found is not None:
            yield found
