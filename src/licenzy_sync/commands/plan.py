"""`licenzy-sync plan`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from licenzy_sync.cli_options import (
    configs_option,
    console_options,
    format_option,
    mode_option,
    sandbox_option,
)
from licenzy_sync.commands.targeting import target_option
from licenzy_sync.errors import EXIT_CHANGES, EXIT_INVALID, EXIT_OK
from licenzy_sync.output import Console

if TYPE_CHECKING:
    from licenzy_sync.plan.model import Plan
    from licenzy_sync.runtime import Emulators


@click.command()
@configs_option
@mode_option
@format_option("PR comments")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also save the plan (JSON, with fingerprints) for `apply PLANFILE`; with several "
    "configs, every project's plan in one file. - writes it to stdout (and the plan shown, "
    "to stderr).",
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes (0 when none)."
)
@click.option(
    "--prune",
    is_flag=True,
    help="Plan archiving products licenzy-sync created that left the file (never protected ones).",
)
@target_option("Plan")
@sandbox_option
@console_options
def plan(
    config_paths: tuple[Path, ...],
    mode: str,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    prune: bool,
    targets: tuple[str, ...],
    sandbox: Emulators | None,
    no_color: bool,
    verbose: int,
) -> None:
    """Read Stripe and Licenzy, check the setup rules, and show what apply would change.

    A plan with errors says so at the top and on stderr ("N errors: apply will write
    nothing"). With --target, only the named addresses and what goes with them are planned;
    errors elsewhere are shown as not targeted and do not block; a saved plan records its
    targets and `apply PLANFILE` applies exactly those.

    With several configs (-c repeated or a glob) the projects are planned concurrently and
    shown one after the other, and the exit code is the worst of theirs (1, then 3, then 2).

    Exit 0 no changes (or changes without --detailed-exitcode), 2 changes with
    --detailed-exitcode, 3 rule violations, 1 error.
    """
    from licenzy_sync.commands.targeting import narrowed, parsed
    from licenzy_sync.plan.manual import manual_section
    from licenzy_sync.planfile import saved_message, to_stdout, write_plans
    from licenzy_sync.projects import alone, combine, exit_code, plans
    from licenzy_sync.render.blocking import errors_line, stop_notes
    from licenzy_sync.render.select import failure_notes, render_plans

    console = Console(no_color, verbose, stdout_taken=to_stdout(out))
    wanted = parsed(targets, console)
    recorded = fmt == "json" or out is not None  # every fingerprint is written
    outcomes = narrowed(
        plans(
            config_paths, mode, sandbox=sandbox, prune=prune, console=console, fingerprint=recorded
        ),
        wanted,
        lambda plan: plan,
        lambda _, plan: plan,
    )
    console.document(render_plans(outcomes, fmt, console))
    single = alone(outcomes)
    for line in [] if single is None else manual_section(single):
        (console.err if fmt == "json" else console.out)(line)
    for note in [*failure_notes(outcomes, fmt), *stop_notes(outcomes, errors_line)]:
        console.err(note)
    failed = [outcome for outcome in outcomes if outcome.error is not None]
    if out is not None and failed:
        console.err(f"plan not saved to {out}: {len(failed)} project(s) could not be planned")
    elif out is not None:
        write_plans(outcomes, out)
        console.err(saved_message(out))
    code = combine(exit_code(o, lambda p: _exit_code(p, detailed_exitcode)) for o in outcomes)
    if code:
        raise click.exceptions.Exit(code)


def _exit_code(plan: Plan, detailed_exitcode: bool) -> int:
    """What `plan` exits with for one project's plan."""
    if plan.has_errors:
        return EXIT_INVALID
    return EXIT_CHANGES if detailed_exitcode and plan.changes else EXIT_OK
