"""`licenzy-sync plan`."""

from __future__ import annotations

from pathlib import Path

import click

from licenzy_sync.cli_options import config_option, console_options, mode_option, sandbox_option
from licenzy_sync.errors import EXIT_CHANGES, EXIT_INVALID
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
    help="text for people, json for machines, markdown for PR comments.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also save the plan (JSON, with fingerprints) for `apply PLANFILE`.",
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes (0 when none)."
)
@click.option(
    "--prune",
    is_flag=True,
    help="Plan archiving products licenzy-sync created that left the file (never protected ones).",
)
@sandbox_option
@console_options
def plan(
    config_path: Path,
    mode: str,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    prune: bool,
    sandbox: bool,
    no_color: bool,
    verbose: int,
) -> None:
    """Read Stripe and Licenzy, check the setup rules, and show what apply would change.

    Exit 0 no changes (or changes without --detailed-exitcode), 2 changes with
    --detailed-exitcode, 3 rule violations, 1 error.
    """
    from licenzy_sync.planfile import write_plan
    from licenzy_sync.render.select import render
    from licenzy_sync.workflow import make_plan

    console = Console(no_color, verbose)
    result, _ = make_plan(config_path, mode, sandbox=sandbox, prune=prune, console=console)
    console.out(render(result, fmt, console).rstrip("\n"))
    if out is not None:
        write_plan(result, out)
        console.err(f"plan saved to {out}")
    if result.has_errors:
        raise click.exceptions.Exit(EXIT_INVALID)
    if detailed_exitcode and result.changes:
        raise click.exceptions.Exit(EXIT_CHANGES)
