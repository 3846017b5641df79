"""`licenzy-sync verify`."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from licenzy_sync.cli_options import (
    configs_option,
    console_options,
    format_option,
    modes_to,
    sandbox_option,
)
from licenzy_sync.errors import EXIT_INVALID, EXIT_OK, LicenzySyncError
from licenzy_sync.keys import Mode
from licenzy_sync.output import Console

if TYPE_CHECKING:
    from licenzy_sync.runtime import Emulators
    from licenzy_sync.verify.checklist import ChecklistItem
    from licenzy_sync.verify.model import VerifyReport

LIVE_SKIPPED = "live Checkout Sessions are real; pass --allow-live to verify live mode"
LIVE_BANNER = (
    "LIVE MODE: verify creates real live Checkout Sessions through Licenzy (nobody is charged) "
    "and expires each one at once."
)


@click.command()
@configs_option
@modes_to("verify")
@click.option(
    "--product",
    "products",
    multiple=True,
    metavar="CODE",
    help="Verify only this product code (repeat for several); default every product.",
)
@format_option("a PR comment or job summary")
@click.option("--allow-live", is_flag=True, help="Also verify live mode (opt-in).")
@click.option(
    "--checklist",
    is_flag=True,
    help="Verify live mode only and end with Licenzy's go-live checklist and 'ready for "
    "live: yes/no' (needs --allow-live).",
)
@click.option(
    "--webhook-timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for Stripe to deliver the webhook proof's event.",
)
@sandbox_option
@console_options
def verify(
    config_paths: tuple[Path, ...],
    mode: str,
    products: tuple[str, ...],
    fmt: str,
    allow_live: bool,
    checklist: bool,
    webhook_timeout: float,
    sandbox: Emulators | None,
    no_color: bool,
    verbose: int,
) -> None:
    """Prove the setup end to end through Licenzy's runtime API and Stripe.

    For every product of each mode (or those named with --product), Licenzy is asked for a
    checkout with the mode's runtime API key (modes.<mode>.licenzy.api_key); the Stripe
    Checkout Session it creates must charge exactly the file's price, and is expired at once.
    Expiring emits checkout.session.expired; one per mode must be acknowledged by every
    subscribed endpoint (Licenzy's tenant endpoint with the right secret). Live mode needs
    --allow-live and is skipped with a note otherwise. Checkout URLs are never shown.

    --checklist verifies live mode only and ends with Licenzy's go-live checklist (live Stripe
    connection, live runtime key, a live product for every live price, the live tenant
    endpoint with its 12 events and its secret, the runtime proof): "ready for live: yes/no".

    Exit 0 everything proven (and ready for live), 3 any check failed (or an invalid file),
    1 error.
    """
    from licenzy_sync.projects import expand_configs

    console = Console(no_color, verbose)
    configs = expand_configs(config_paths)
    options = _Options(mode, products, allow_live, checklist, webhook_timeout, sandbox)
    _verify_files(configs, options, fmt, console)


@dataclass(frozen=True)
class _Options:
    mode: str
    products: tuple[str, ...]
    allow_live: bool
    checklist: bool
    webhook_timeout: float
    sandbox: Emulators | None


def _verify_file(
    config: Path, options: _Options, console: Console
) -> tuple[VerifyReport, list[ChecklistItem] | None]:
    """One file's report (and checklist when asked); refusals raise as for any command."""
    from licenzy_sync.runtime import prepare, select_modes
    from licenzy_sync.verify.checklist import go_live_checklist
    from licenzy_sync.verify.runner import VerifyRequest, verify
    from licenzy_sync.workflow import load_checked

    loaded, _ = load_checked(config)
    _check_products(loaded.config.products, options.products)
    wanted = select_modes(loaded, "live" if options.checklist else options.mode)
    skipped: dict[Mode, str] = {}
    if "live" in wanted and not options.allow_live:
        wanted.remove("live")
        skipped["live"] = LIVE_SKIPPED
    elif "live" in wanted and sys.stderr.isatty():
        console.err(console.style(LIVE_BANNER, "red", "bold", stream_color=console.err_color))
    run = prepare(loaded, wanted, sandbox=options.sandbox, runtime_keys=True)
    request = VerifyRequest(loaded, run, options.products, skipped, options.webhook_timeout)
    report = verify(request)
    for system, count in sorted(report.requests.items()):
        console.debug(f"requests: {system}: {count}")
    if not options.checklist:
        return report, None
    live = loaded.config.modes.live
    assert live is not None
    tenant_url = live.webhook.url or run.targets.tenant_webhook_url
    return report, go_live_checklist(loaded, report, tenant_url)


def _failed(report: VerifyReport, items: list[ChecklistItem] | None) -> bool:
    from licenzy_sync.verify.checklist import ready

    return report.failed or (items is not None and not ready(items))


def _verify_files(configs: list[Path], options: _Options, fmt: str, console: Console) -> None:
    """Each file in turn (their checkouts share nothing); the exit code is the worst of
    theirs."""
    from licenzy_sync.projects import combine
    from licenzy_sync.render.verify import render_verify

    shown = _Shown(len(configs) > 1, fmt, console)
    codes: list[int] = []
    for config in configs:
        shown.start(config)
        try:
            report, items = _verify_file(config, options, console)
        except LicenzySyncError as error:
            shown.failed(config, error)
            codes.append(error.exit_code)
            continue
        codes.append(EXIT_INVALID if _failed(report, items) else EXIT_OK)
        shown.report(render_verify(report, fmt, console.style, items))
    shown.finish()
    code = combine(codes)
    if code:
        raise click.exceptions.Exit(code)


class _Shown:
    """One file's report as it always read (its failure is the command's); several under a
    header each, or in JSON ``{"format_version": 1, "projects": [...], "errors": [...]}``."""

    def __init__(self, several: bool, fmt: str, console: Console) -> None:
        self._several = several
        self._json = several and fmt == "json"
        self._console = console
        self._projects: list[Any] = []
        self._errors: list[dict[str, str]] = []

    def start(self, config: Path) -> None:
        if self._several and not self._json:
            self._console.out(f"==> {config} <==")

    def failed(self, config: Path, error: LicenzySyncError) -> None:
        from licenzy_sync.render.projects import failure_lines

        if not self._several:
            raise error
        lines = failure_lines(error)
        if self._json:
            self._errors.append({"config": str(config), "message": "\n".join(lines)})
        self._console.err(f"{config}: " + "\n".join(lines))

    def report(self, rendered: str) -> None:
        if self._json:
            self._projects.append(json.loads(rendered))
        else:
            self._console.out(rendered.rstrip("\n"))

    def finish(self) -> None:
        if self._json:
            payload = {"format_version": 1, "projects": self._projects, "errors": self._errors}
            self._console.out(json.dumps(payload, indent=2))


def _check_products(declared: Mapping[str, object], named: tuple[str, ...]) -> None:
    unknown = [code for code in named if code not in declared]
    if unknown:
        listing = ", ".join(declared) or "none"
        raise LicenzySyncError(
            f"--product {', '.join(unknown)}: not a product of the file (products: {listing})"
        )
