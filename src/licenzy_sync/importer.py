"""`import`: write the licenzy.yaml that describes what Licenzy and Stripe hold now.

Adopting an existing setup must not change it: the file is built so that `plan` on it reports
no changes for everything licenzy-sync can express, and what it cannot express (a value that
looks like a credential, test and live disagreeing about one product code) is left out or
resolved one documented way, with a comment at the spot. Problems of the setup itself (an
archived price, a kind on the wrong price shape) are imported as they are: hiding them would
hide them from `plan` too, which reports each with its rule.

Three steps: `read_existing` (the only I/O, through the providers), `adopt` (remote state ->
the file's content, pure) and `to_yaml` (content -> commented YAML text, pure).
"""

from __future__ import annotations

import tempfile
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from licenzy_sync.config.load import LoadedConfig, load_config
from licenzy_sync.config.models import REQUIRED_EVENTS, Config, ProductKind
from licenzy_sync.errors import ConfigInvalid, LicenzySyncError
from licenzy_sync.import_prices import declaration
from licenzy_sync.keys import MODES, Mode, looks_like_secret
from licenzy_sync.kinds.endpoint_owners import sort_endpoints
from licenzy_sync.output import Console
from licenzy_sync.plan.ownership import MANAGED_BY_KEY, PROTECT_KEY, is_managed, is_protected
from licenzy_sync.providers import ProviderError, parallel, safe_text
from licenzy_sync.providers.stripe_catalog import StripePriceDetail
from licenzy_sync.redact import redact
from licenzy_sync.render.findings_text import format_findings, printable
from licenzy_sync.rules.static import static_findings
from licenzy_sync.runtime import Emulators, Run, prepare
from licenzy_sync.scaffold import MODELINE, replace_file, schema_note, write_schema
from licenzy_sync.state import LicenzyModeSnapshot, LicenzyProduct, StripePrice, StripeSnapshot
from licenzy_sync.yamlsource import SourceMap

if TYPE_CHECKING:
    from licenzy_sync.providers.stripe_reader import StripeReader

TOKEN_REF = "${LICENZY_PORTAL_TOKEN}"
KEY_REFS: dict[Mode, str] = {
    "test": "${STRIPE_TEST_SECRET_KEY}",
    "live": "${STRIPE_LIVE_SECRET_KEY}",
}
WEBHOOK_SECRET_REFS: dict[Mode, str] = {
    "test": "${STRIPE_TEST_WEBHOOK_SECRET}",
    "live": "${STRIPE_LIVE_WEBHOOK_SECRET}",
}
SOURCE = "(import)"
COMMENT_COLUMN = 35
LINE_WIDTH = 100
PREFERRED: Mode = "live"
"""When test and live disagree about a product, live (what customers buy) is written."""
COMPARED = ("kind", "name", "units", "duration_days", "metadata")


# Reading.


@dataclass(frozen=True)
class Existing:
    """Everything import reads: one Licenzy project and the Stripe side of each mode."""

    project_id: str
    project_name: str
    licenzy: dict[Mode, LicenzyModeSnapshot]
    stripe: dict[Mode, StripeSnapshot]
    tenant_url: str
    details: dict[Mode, dict[str, StripePriceDetail]] | None = None
    """With `--declare-prices`: each mode's prices that hold a lookup key, by id."""


def modes_of(requested: str) -> list[Mode]:
    return list(MODES) if requested == "all" else [m for m in MODES if m == requested]


def skeleton(project: str, modes: list[Mode]) -> LoadedConfig:
    """The credential part of the file import writes, as a config, so that credentials,
    endpoints, the sandbox and the key-prefix mode guard work exactly as for every command."""
    config = Config.model_validate(
        {
            "version": 1,
            "project": project,
            "licenzy": {"token": TOKEN_REF},
            "modes": {mode: {"stripe": {"secret_key": KEY_REFS[mode]}} for mode in modes},
        }
    )
    return LoadedConfig(Path(SOURCE), config, SourceMap(SOURCE))


def _prepared(project: str, modes: list[Mode], sandbox: Emulators | None) -> Run:
    """The run of a skeleton file for the project, or the error that stops the import."""
    loaded = skeleton(project, modes)
    problems = [f for f in static_findings(loaded) if f.is_error]
    try:
        if problems:
            raise ConfigInvalid(problems)
        return prepare(loaded, modes, sandbox=sandbox)
    except ConfigInvalid as error:
        raise LicenzySyncError(
            "cannot import:\n" + "\n".join(format_findings(error.findings))
        ) from None


def read_existing(
    project: str,
    modes: list[Mode],
    *,
    sandbox: Emulators | None,
    console: Console,
    declare_prices: bool = False,
) -> Existing:
    """Licenzy's catalogs first (they say which prices matter), then every Stripe mode at once.

    Credentials missing or of the wrong mode stop the run before any request, as `plan` does,
    but as an error (exit 1): there is no file yet whose findings could be fixed.
    """
    from licenzy_sync.providers.licenzy_client import LicenzyClient
    from licenzy_sync.providers.retry import Channels
    from licenzy_sync.providers.stripe_reader import StripeReader

    run = _prepared(project, modes, sandbox)
    channels = Channels()
    targets = run.targets
    with LicenzyClient(
        targets.licenzy_url, targets.portal(), channels, run.transports
    ) as licenzy:
        found, catalogs = licenzy.read_project(targets.project, modes)
    readers = [StripeReader(targets.stripe[mode], channels, run.transports) for mode in modes]
    wanted = [
        {p.stripe_price_id for p in catalogs[mode].products.values() if p.status == "active"}
        for mode in modes
    ]
    snapshots = parallel(
        [partial(reader.snapshot, ids) for reader, ids in zip(readers, wanted, strict=True)],
        workers=len(modes),
    )
    details = _details(readers, snapshots) if declare_prices else None
    for system, count in sorted(channels.counter.counts().items()):
        console.debug(f"requests: {system}: {count}")
    for mode, snapshot in zip(modes, snapshots, strict=True):
        if snapshot.key_livemode is not None and snapshot.key_livemode != (mode == "live"):
            other = "live" if snapshot.key_livemode else "test"
            raise ProviderError(
                f"objects fetched with ${{{targets.stripe[mode].key_env}}} are {other}-mode "
                f"objects; use the {mode} key for {mode} mode"
            )
    return Existing(
        found.id,
        found.name,
        catalogs,
        dict(zip(modes, snapshots, strict=True)),
        targets.tenant_webhook_url,
        None if details is None else dict(zip(modes, details, strict=True)),
    )


def _details(
    readers: list[StripeReader], snapshots: list[StripeSnapshot]
) -> list[dict[str, StripePriceDetail]]:
    """What a declaration needs of the prices that hold a lookup key (a price without one
    cannot be declared): read by key, a request pair per ten keys per mode."""
    keys = [
        {price.lookup_key for price in snapshot.prices.values() if price.lookup_key}
        for snapshot in snapshots
    ]
    found = parallel(
        [
            partial(reader.prices_by_lookup_key, wanted)
            for reader, wanted in zip(readers, keys, strict=True)
        ],
        workers=len(readers),
    )
    return [{price.id: price for price in by_key.values()} for by_key in found]


# Adopting: remote state -> the content of the file.


@dataclass(frozen=True)
class ImportedWebhook:
    manage: bool
    events: tuple[str, ...] | None
    """None for `required`; an explicit list only when the endpoint receives more."""
    comment: str
    """Why ``manage`` has its value."""
    notes: tuple[str, ...] = ()
    """What a person should look at."""


@dataclass(frozen=True)
class ImportedPrice:
    price_id: str
    note: str


@dataclass(frozen=True)
class ImportedProduct:
    code: str
    kind: ProductKind
    name: str | None
    prices: dict[Mode, ImportedPrice]
    units: int | None
    duration_days: int | None
    protect: bool
    metadata: dict[str, str]
    notes: tuple[str, ...] = ()
    declared: dict[str, Any] | None = None
    """With `--declare-prices`: the declared price written instead of ``prices``."""


@dataclass(frozen=True)
class Imported:
    project_id: str
    project_name: str
    modes: list[Mode]
    webhooks: dict[Mode, ImportedWebhook]
    products: list[ImportedProduct]
    unmarked: list[str] = field(default_factory=list)
    """Codes of products made outside licenzy-sync (no ownership marker)."""

    def notes(self) -> Iterator[str]:
        """Everything a person should look at, one line each, for stderr."""
        if self.unmarked:
            yield (
                f"{len(self.unmarked)} product(s) were made outside licenzy-sync: they are "
                f"adopted as they are; its ownership marker (metadata.{MANAGED_BY_KEY}) is "
                "stamped on the first real change, and --prune never archives them before"
            )
        for mode, webhook in self.webhooks.items():
            yield from (f"modes.{mode}.webhook: {note}" for note in webhook.notes)
        for product in self.products:
            yield from (f"products.{product.code}: {note}" for note in product.notes)


def adopt(existing: Existing) -> Imported:
    modes = list(existing.licenzy)
    by_code: dict[str, dict[Mode, LicenzyProduct]] = {}
    for mode in modes:
        for code, product in existing.licenzy[mode].products.items():
            if product.status == "active":
                by_code.setdefault(code, {})[mode] = product
    products = [
        _declared(_product(code, versions, existing.stripe), versions, existing, modes)
        for code, versions in sorted(by_code.items())
    ]
    unmarked = sorted(
        code
        for code, versions in by_code.items()
        if not all(is_managed(p.metadata) for p in versions.values())
    )
    return Imported(
        existing.project_id,
        existing.project_name,
        modes,
        {mode: _webhook(existing, mode) for mode in modes},
        products,
        unmarked,
    )


def _webhook(existing: Existing, mode: Mode) -> ImportedWebhook:
    """`manage: true` only for an endpoint licenzy-sync created: taking over a hand-made one
    would make apply rewrite (or, its secret unknown, replace) what someone set up. Endpoints
    licenzy-sync manages for other projects on the same Stripe account are not this one's."""
    connection = existing.licenzy[mode].connection
    owners = sort_endpoints(existing.stripe[mode].endpoints, existing.project_id, mode, connection)
    ours = owners.mine
    at_url = [e for e in owners.hand_made if e.url == existing.tenant_url]
    candidates = ours or at_url
    chosen = candidates[0] if candidates else None
    secret_set = connection.webhook_secret_set
    notes: list[str] = []
    if chosen is None:
        comment = "no endpoint to verify yet"
        notes.append(
            "no Stripe endpoint delivers to Licenzy's tenant URL: plan reports LZ120; set "
            "manage: true to let apply create it"
        )
    elif ours:
        comment = f"{_text(chosen.id)} carries licenzy-sync's marker"
        if not secret_set:
            notes.append(
                "Licenzy holds no signing secret for the endpoint licenzy-sync made: apply "
                "replaces the endpoint to get one"
            )
    else:
        comment = f"{_text(chosen.id)} was made by hand: only verified"
    if not ours and not secret_set:
        notes.append(
            "Licenzy holds no signing secret for this mode: plan reports LZ114; set secret: "
            f"{WEBHOOK_SECRET_REFS[mode]} so apply stores it"
        )
    events: tuple[str, ...] | None = None
    if chosen is not None:
        have = set(chosen.enabled_events)
        if "*" not in have and have > set(REQUIRED_EVENTS):
            events = tuple(sorted(have))
    return ImportedWebhook(bool(ours), events, comment, tuple(notes))


def _product(
    code: str, versions: Mapping[Mode, LicenzyProduct], stripe: Mapping[Mode, StripeSnapshot]
) -> ImportedProduct:
    base = versions.get(PREFERRED) or next(iter(versions.values()))
    notes: list[str] = []
    others = [p for p in versions.values() if p is not base]
    for other in others:
        differ = [f for f in COMPARED if _user_view(other, f) != _user_view(base, f)]
        if differ:
            notes.append(
                f"{other.mode} and {base.mode} differ in {', '.join(differ)}: the {base.mode} "
                f"values are written, so plan shows the {other.mode} product changing"
            )
    name = base.name
    if name is not None and _credential_shaped(name):
        name = None
        notes.append("name left out: it looks like a credential (plan keeps the remote name)")
    metadata: dict[str, str] = {}
    for key, value in sorted(_user_metadata(base).items()):
        if _credential_shaped(key) or _credential_shaped(value):
            notes.append("a metadata entry was left out: it looks like a credential")
        else:
            metadata[key] = value
    prices = {
        mode: ImportedPrice(
            product.stripe_price_id,
            _price_note(stripe[mode].prices.get(product.stripe_price_id), mode, product.kind),
        )
        for mode, product in sorted(versions.items(), key=lambda item: MODES.index(item[0]))
    }
    return ImportedProduct(
        code=code,
        kind=base.kind,
        name=name,
        prices=prices,
        units=base.units,
        duration_days=base.duration_days,
        protect=any(is_protected(p.metadata) for p in versions.values()),
        metadata=metadata,
        notes=tuple(notes),
    )


def _declared(
    imported: ImportedProduct,
    versions: Mapping[Mode, LicenzyProduct],
    existing: Existing,
    modes: list[Mode],
) -> ImportedProduct:
    """With `--declare-prices`, the product's price as a declaration when it can be one."""
    if existing.details is None:
        return imported
    details = existing.details
    prices = {
        mode: details[mode].get(product.stripe_price_id) for mode, product in versions.items()
    }
    found, why = declaration(imported.kind, prices, modes)
    nickname = (found or {}).get("nickname")
    if found is not None and isinstance(nickname, str) and _credential_shaped(nickname):
        found, why = None, "price ids kept: the nickname looks like a credential"
    if found is None:
        return replace(imported, notes=(*imported.notes, why))
    return replace(imported, declared=found)


def _user_metadata(product: LicenzyProduct) -> dict[str, str]:
    """Metadata without licenzy-sync's own markers, which the file expresses as `protect`."""
    return {k: v for k, v in product.metadata.items() if k not in (MANAGED_BY_KEY, PROTECT_KEY)}


def _user_view(product: LicenzyProduct, name: str) -> object:
    return _user_metadata(product) if name == "metadata" else getattr(product, name)


def _price_note(price: StripePrice | None, mode: Mode, kind: ProductKind) -> str:
    """What the price is, and what plan will say about it; a comment, never a value."""
    if price is None:
        return f"not found in Stripe {mode} mode (plan: LZ101)"
    if price.type == "recurring":
        metered = ", metered" if price.usage_type == "metered" else ""
        notes = [f"recurring ({_text(price.recurring_interval or '?')}{metered})"]
    else:
        notes = ["one-time"]
    if not price.active:
        notes.append("inactive in Stripe (plan: LZ102)")
    needs = "recurring" if kind == "subscription" else "one_time"
    if price.type != needs:
        notes.append(f"a {kind} needs a {needs.replace('_', '-')} price (plan: LZ104)")
    return "; ".join(notes)


def _credential_shaped(text: str) -> bool:
    """A value import must not copy into a file: a credential's prefix, or one inside it."""
    return looks_like_secret(text) or safe_text(text) != " ".join(text.split())


def _text(text: str) -> str:
    """Remote text fit for a one-line comment: no credential-shaped token, no line breaks."""
    return printable(safe_text(text))


# Writing YAML.


def scalar(value: str | int | bool) -> str:
    """One YAML scalar on one line that reads back as exactly ``value``.

    pyyaml's own choice (plain or single-quoted) is kept when it is one printable line and
    round-trips; anything else (line breaks, control or invisible characters) is written
    double-quoted with escapes, which YAML reads back byte for byte.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    dumped = yaml.safe_dump({"k": value}, allow_unicode=True, width=1 << 30)
    text = dumped.removeprefix("k: ").removesuffix("\n")
    if text.isprintable() and yaml.safe_load(f"k: {text}") == {"k": value}:
        return text
    return _double_quoted(value)


_SHORT_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def _double_quoted(value: str) -> str:
    out = ['"']
    for char in value:
        code = ord(char)
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif 0x20 <= code <= 0x7E or (code >= 0xA0 and char.isprintable()):
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _comments(indent: int, text: str) -> list[str]:
    """A note as comment lines that keep the file within 100 columns."""
    prefix = " " * indent + "# "
    return textwrap.wrap(text, width=LINE_WIDTH, initial_indent=prefix, subsequent_indent=prefix)


def _line(indent: int, text: str, comment: str = "") -> str:
    line = " " * indent + text
    if not comment:
        return line
    return f"{line:<{COMMENT_COLUMN - 1}} # {comment}"


def to_yaml(imported: Imported) -> str:
    """The file, deterministic (no timestamps) so that re-importing diffs cleanly."""
    modes = ", ".join(imported.modes)
    lines = [
        MODELINE,
        "#",
        f"# Written by `licenzy-sync import` (modes: {modes}). Review it, commit it, then run",
        "# `licenzy-sync plan`: it reports no changes for what was imported, and every rule the",
        "# existing setup breaks. Secrets are never written here: `${NAME}` reads the environment",
        "# variable NAME when a command needs it.",
    ]
    if imported.unmarked:
        lines += [
            f"# {len(imported.unmarked)} product(s) were made outside licenzy-sync: adopted as "
            "they are;",
            f"# its ownership marker (metadata.{MANAGED_BY_KEY}) is stamped on the first real "
            "change.",
        ]
    lines += [
        "version: 1",
        _line(0, f"project: {scalar(imported.project_id)}", _text(imported.project_name)),
        "",
        "licenzy:",
        _line(2, f"token: {TOKEN_REF}", "portal token (not an lz_test_/lz_live_ API key)"),
        "",
        "modes:",
    ]
    for mode in imported.modes:
        webhook = imported.webhooks[mode]
        lines += [
            f"  {mode}:",
            "    stripe:",
            f"      secret_key: {KEY_REFS[mode]}",
            "    webhook:",
            *(line for note in webhook.notes for line in _comments(6, note)),
            _line(6, f"manage: {scalar(webhook.manage)}", webhook.comment),
        ]
        if webhook.events is None:
            lines.append(_line(6, "events: required", "the 12 events Licenzy needs"))
        else:
            lines.append(_line(6, "events:", "the 12 Licenzy needs, and more"))
            lines += [f"        - {scalar(event)}" for event in webhook.events]
    lines.append("")
    lines += _products_yaml(imported.products)
    return "\n".join(lines) + "\n"


def _products_yaml(products: list[ImportedProduct]) -> list[str]:
    if not products:
        return ["products: {}"]
    lines = ["products:"]
    for product in products:
        lines += [line for note in product.notes for line in _comments(2, note)]
        lines += [f"  {scalar(product.code)}:", f"    kind: {product.kind}"]
        if product.name is not None:
            lines.append(f"    name: {scalar(product.name)}")
        if product.units is not None:
            lines.append(f"    units: {product.units}")
        if product.duration_days is not None:
            lines.append(f"    duration_days: {product.duration_days}")
        if product.declared is not None:
            lines.append(_line(4, "price:", "declared: adopted by its lookup key"))
            lines += [f"      {k}: {_declared_value(v)}" for k, v in product.declared.items()]
        else:
            lines.append("    price:")
            lines += [
                _line(6, f"{mode}: {scalar(price.price_id)}", price.note)
                for mode, price in product.prices.items()
            ]
        if product.protect:
            lines.append(_line(4, "protect: true", "never archived, even with --prune"))
        if product.metadata:
            lines.append("    metadata:")
            lines += [f"      {scalar(k)}: {scalar(v)}" for k, v in product.metadata.items()]
    return lines


def _declared_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(scalar(item) for item in value) + "]"
    return scalar(value)


# Output.


def refuse_overwrite(target: Path | None, force: bool) -> None:
    """Checked before anything is read, so a refusal costs nothing."""
    if target is not None and target.exists() and not force:
        raise LicenzySyncError(
            f"{target} already exists; pass --force to overwrite it, or -o FILE (or -o -) to "
            "write elsewhere"
        )


def write_config(text: str, target: Path | None, console: Console) -> None:
    """Check the text loads as a config, then write it (``None``: stdout); a file is replaced
    atomically, so an interrupted import never leaves half a licenzy.yaml."""
    if redact(text) != text:
        raise LicenzySyncError("refusing to write: the file would contain a secret value")
    with tempfile.TemporaryDirectory() as scratch:
        probe = Path(scratch) / "licenzy.yaml"
        probe.write_text(text, encoding="utf-8")
        try:
            load_config(probe)
        except ConfigInvalid as error:
            raise LicenzySyncError(
                "refusing to write a licenzy.yaml that does not load (a bug in licenzy-sync, or "
                "an answer it did not expect):\n" + "\n".join(format_findings(error.findings))
            ) from None
    if target is None:
        console.out(text.rstrip("\n"))
        schema_note(console)
        return
    replace_file(target, text)
    write_schema(target, console)
