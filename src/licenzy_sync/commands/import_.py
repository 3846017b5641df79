"""`licenzy-sync import` (the module name avoids the keyword)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from licenzy_sync.cli_options import console_options, output_option, sandbox_option
from licenzy_sync.output import Console

if TYPE_CHECKING:
    from licenzy_sync.runtime import Emulators


@click.command("import")
@click.option(
    "--mode",
    type=click.Choice(["test", "live", "all"]),
    required=True,
    help="Which catalogs to import; each mode needs its Stripe key.",
)
@click.option(
    "--project",
    envvar="LICENZY_PROJECT",
    show_envvar=True,
    help="Licenzy project id (proj_...) or exact name. With --sandbox it defaults to the "
    "sandbox's project.",
)
@output_option("the file")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.option(
    "--declare-prices",
    is_flag=True,
    help="Declare each product's price (amount, currency, interval, lookup key) instead of "
    "writing its ids, when its prices hold one lookup key and agree across modes.",
)
@sandbox_option
@console_options
def import_(
    mode: str,
    project: str | None,
    output: Path,
    force: bool,
    declare_prices: bool,
    sandbox: Emulators | None,
    no_color: bool,
    verbose: int,
) -> None:
    """Write licenzy.yaml from what Licenzy and Stripe hold now, to adopt an existing setup.

    Reads the project's active Licenzy products, the Stripe prices they map and the tenant
    webhook endpoint of each mode. Credentials come from LICENZY_PORTAL_TOKEN,
    STRIPE_TEST_SECRET_KEY and STRIPE_LIVE_SECRET_KEY, and the file references exactly those
    variables, never their values. LICENZY_URL and LICENZY_SYNC_STRIPE_API_BASE point it
    elsewhere (https, or http only to loopback), as for every command.

    webhook.manage is true only for an endpoint licenzy-sync created. Setup problems (an
    archived price, a price of the wrong shape) are imported as they are; `plan` on the file
    reports them and otherwise no changes.

    Exit 0 written, 1 error (an existing file without --force included).
    """
    from licenzy_sync.importer import (
        adopt,
        modes_of,
        read_existing,
        refuse_overwrite,
        to_yaml,
        write_config,
    )

    console = Console(no_color, verbose)
    if project is None:
        if sandbox is None:
            raise click.UsageError("--project is required (or set LICENZY_PROJECT)")
        from licenzy_sync.sandbox.licenzy_api import DEFAULT_PROJECT_ID

        project = DEFAULT_PROJECT_ID
    target = None if str(output) == "-" else output
    refuse_overwrite(target, force)
    modes = modes_of(mode)
    existing = read_existing(
        project, modes, sandbox=sandbox, console=console, declare_prices=declare_prices
    )
    imported = adopt(existing)
    write_config(to_yaml(imported), target, console)
    for note in imported.notes():
        console.err(f"note: {note}")
    if target is not None:
        count = len(imported.products)
        console.err(
            f"wrote {target}: project {imported.project_id}, {count} product"
            f"{'s' * (count != 1)}, modes: {', '.join(modes)}; next: licenzy-sync plan -c {target}"
        )
