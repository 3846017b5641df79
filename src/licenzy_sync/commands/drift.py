"""`licenzy-sync drift`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from licenzy_sync.cli_options import (
    configs_option,
    console_options,
    format_option,
    modes_to,
    sandbox_option,
)
from licenzy_sync.errors import EXIT_CHANGES, EXIT_OK
from licenzy_sync.output import Console

if TYPE_CHECKING:
    from licenzy_sync.drift import FailOn
    from licenzy_sync.runtime import Emulators


@click.command()
@configs_option
@modes_to("check for drift")
@format_option("a GitHub issue body")
@click.option(
    "--fail-on",
    type=click.Choice(["breaking", "any"]),
    default="any",
    show_default=True,
    help="Exit 2 on any drift, or only on breaking drift.",
)
@sandbox_option
@console_options
def drift(
    config_paths: tuple[Path, ...],
    mode: str,
    fmt: str,
    fail_on: str,
    sandbox: Emulators | None,
    no_color: bool,
    verbose: int,
) -> None:
    """Compare Stripe and Licenzy with licenzy.yaml and classify every difference.

    Breaking drift affects purchases, access or event delivery now (a mapped price archived,
    missing or of the wrong shape, the endpoint disabled, deleted, pointing elsewhere or missing
    events, the webhook secret gone, a mapping or kind changed, a product archived, the Stripe
    connection broken). Benign drift does not (names, metadata, products outside the file,
    warnings). Nothing is written.

    With several configs (-c repeated or a glob) the projects are checked concurrently and
    reported one after the other; the exit code is the worst of theirs (1, then 3, then 2).

    Exit 0 no drift (or only benign drift with --fail-on breaking), 2 drift, 3 invalid
    configuration, 1 error.
    """
    from licenzy_sync.drift import detect
    from licenzy_sync.projects import combine, exit_code, plans, raise_alone, then
    from licenzy_sync.render.select import failure_notes, render_reports

    console = Console(no_color, verbose)
    outcomes = then(
        plans(config_paths, mode, sandbox=sandbox, prune=False, console=console), detect
    )
    raise_alone(outcomes)
    console.out(render_reports(outcomes, fmt, console).rstrip("\n"))
    for note in failure_notes(outcomes, fmt):
        console.err(note)
    threshold = cast("FailOn", fail_on)
    code = combine(
        exit_code(o, lambda report: EXIT_CHANGES if report.fails(threshold) else EXIT_OK)
        for o in outcomes
    )
    if code:
        raise click.exceptions.Exit(code)
