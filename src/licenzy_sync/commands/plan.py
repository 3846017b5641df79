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
from licenzy_sync.errors import EXIT_CHANGES, EXIT_INVALID, EXIT_OK
from licenzy_sync.output import Console

if TYPE_CHECKING:
    from licenzy_sync.plan.model import Plan


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
@sandbox_option
@console_options
def plan(
    config_paths: tuple[Path, ...],
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

    With several configs (-c repeated or a glob) the projects are planned concurrently and
    shown one after the other, and the exit code is the worst of theirs (1, then 3, then 2).

    Exit 0 no changes (or changes without --detailed-exitcode), 2 changes with
    --detailed-exitcode, 3 rule violations, 1 error.
    """
    from licenzy_sync.plan.manual import manual_section
    from licenzy_sync.planfile import saved_message, to_stdout, write_plan
    from licenzy_sync.projects import expand_configs
    from licenzy_sync.render.select import render
    from licenzy_sync.workflow import make_plan

    configs = expand_configs(config_paths)
    console = Console(no_color, verbose, stdout_taken=to_stdout(out))
    if len(configs) > 1:
        _plan_projects(configs, mode, fmt, out, detailed_exitcode, prune, sandbox, console)
        return
    result, _ = make_plan(configs[0], mode, sandbox=sandbox, prune=prune, console=console)
    console.out(render(result, fmt, console).rstrip("\n"))
    for line in manual_section(result):
        (console.err if fmt == "json" else console.out)(line)
    if out is not None:
        write_plan(result, out)
        console.err(saved_message(out))
    if result.has_errors:
        raise click.exceptions.Exit(EXIT_INVALID)
    if detailed_exitcode and result.changes:
        raise click.exceptions.Exit(EXIT_CHANGES)


def _exit_code(plan: Plan, detailed_exitcode: bool) -> int:
    """What `plan` exits with for this plan alone (the rule of the single-project path)."""
    if plan.has_errors:
        return EXIT_INVALID
    return EXIT_CHANGES if detailed_exitcode and plan.changes else EXIT_OK


def _plan_projects(
    configs: list[Path],
    mode: str,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    prune: bool,
    sandbox: bool,
    console: Console,
) -> None:
    from licenzy_sync.planfile import saved_message, write_plans
    from licenzy_sync.projects import combine, exit_code, plan_projects, results
    from licenzy_sync.providers.retry import Channels
    from licenzy_sync.render.projects import failure_lines, render_plans

    outcomes = results(
        plan_projects(
            configs, mode, sandbox=sandbox, prune=prune, console=console, channels=Channels()
        )
    )
    console.out(render_plans(outcomes, fmt, console).rstrip("\n"))
    failed = [outcome for outcome in outcomes if outcome.error is not None]
    if fmt != "text":
        for outcome in failed:
            assert outcome.error is not None
            console.err(f"{outcome.config}: " + "\n".join(failure_lines(outcome.error)))
    if out is not None and failed:
        console.err(f"plan not saved to {out}: {len(failed)} project(s) could not be planned")
    elif out is not None:
        write_plans(outcomes, out)
        console.err(saved_message(out))
    code = combine(exit_code(o, lambda p: _exit_code(p, detailed_exitcode)) for o in outcomes)
    if code:
        raise click.exceptions.Exit(code)
