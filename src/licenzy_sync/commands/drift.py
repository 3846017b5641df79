"""`licenzy-sync drift`."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from licenzy_sync.cli_options import config_option, console_options, mode_option, sandbox_option
from licenzy_sync.errors import EXIT_CHANGES
from licenzy_sync.output import Console


@click.command()
@config_option
@mode_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for people, json for machines (docs/drift-format.md), markdown for a GitHub "
    "issue body.",
)
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
    config_path: Path,
    mode: str,
    fmt: str,
    fail_on: str,
    sandbox: bool,
    no_color: bool,
    verbose: int,
) -> None:
    """Compare Stripe and Licenzy with licenzy.yaml and classify every difference.

    Breaking drift affects purchases, access or event delivery now (a mapped price archived,
    missing or of the wrong shape, the endpoint disabled, deleted, pointing elsewhere or missing
    events, the webhook secret gone, a mapping or kind changed, a product archived, the Stripe
    connection broken). Benign drift does not (names, metadata, products outside the file,
    warnings). Nothing is written.

    Exit 0 no drift (or only benign drift with --fail-on breaking), 2 drift, 3 invalid
    configuration, 1 error.
    """
    from licenzy_sync.drift import FailOn, detect
    from licenzy_sync.render.drift import render_drift
    from licenzy_sync.workflow import make_plan

    console = Console(no_color, verbose)
    plan, _ = make_plan(config_path, mode, sandbox=sandbox, prune=False, console=console)
    report = detect(plan)
    console.out(render_drift(report, fmt, console).rstrip("\n"))
    if report.fails(cast(FailOn, fail_on)):
        raise click.exceptions.Exit(EXIT_CHANGES)
