"""`licenzy-sync apply [PLANFILE]`."""

from __future__ import annotations

from pathlib import Path

import click

from licenzy_sync.cli_options import config_option, console_options, sandbox_option
from licenzy_sync.errors import EXIT_ERROR, EXIT_INVALID
from licenzy_sync.output import Console

ROUNDS = 3
"""Plan-execute rounds when reality moves during an apply (another writer racing us); a saved
plan is executed exactly once."""


@click.command()
@click.argument("planfile", required=False, type=click.Path(path_type=Path, dir_okay=False))
@config_option
@click.option(
    "--mode",
    type=click.Choice(["test", "live", "all"]),
    default="all",
    show_default=True,
    help="Which mode blocks to apply (with PLANFILE: the plan's own).",
)
@click.option("--auto-approve", is_flag=True, help="Write without asking (for CI).")
@click.option(
    "--prune",
    is_flag=True,
    help="Archive products licenzy-sync created that left the file (never protected ones).",
)
@sandbox_option
@console_options
@click.pass_context
def apply(
    ctx: click.Context,
    planfile: Path | None,
    config_path: Path,
    mode: str,
    auto_approve: bool,
    prune: bool,
    sandbox: bool,
    no_color: bool,
    verbose: int,
) -> None:
    """Make Stripe and Licenzy match licenzy.yaml, then prove it by planning again.

    Without PLANFILE: plans, shows, asks (live changes need the project id typed back), writes.
    With PLANFILE (from `plan --out`): executes exactly that plan after checking that none of
    the objects it read has changed since (a stale plan is refused, naming each object); the
    config is the one the plan names unless -c is given.

    Exit 0 when a fresh plan afterwards has no changes; 3 for rule violations, a stale plan or
    missing approval; 1 for errors or changes that remain.
    """
    from licenzy_sync.apply.approval import approve, live_banner
    from licenzy_sync.apply.executor import Executor
    from licenzy_sync.providers.retry import Channels
    from licenzy_sync.render.select import render
    from licenzy_sync.workflow import load_saved_plan, make_plan, mode_of

    console = Console(no_color, verbose)
    channels = Channels()
    if planfile is not None:
        explicit = ctx.get_parameter_source("config_path") is not click.core.ParameterSource.DEFAULT
        plan, run = load_saved_plan(
            planfile,
            config_path if explicit else None,
            sandbox=sandbox,
            console=console,
            channels=channels,
        )
        config_path = config_path if explicit else Path(plan.config_file)
    else:
        plan, run = make_plan(
            config_path, mode, sandbox=sandbox, prune=prune, console=console, channels=channels
        )
    console.out(render(plan, "text", console).rstrip("\n"))
    if plan.has_errors:
        raise click.exceptions.Exit(EXIT_INVALID)
    if not plan.changes:
        return
    live_banner(plan, console)
    approve(plan, console, auto_approve=auto_approve)
    approved = {resource.address for resource in plan.changes}
    scope = mode_of(plan)
    rounds = 1 if planfile is not None else ROUNDS
    written = 0
    for round_number in range(1, rounds + 1):
        written += Executor(plan, run, channels, console).execute()
        plan, run = make_plan(
            config_path, scope, sandbox=sandbox, prune=prune, console=console, channels=channels
        )
        remaining = {resource.address for resource in plan.changes}
        if not remaining:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(channels.counter.counts().items()))
            console.out(
                f"Apply complete: {written} change(s) written; Stripe and Licenzy match "
                f"licenzy.yaml. Requests: {counts}."
            )
            return
        if plan.has_errors or not remaining <= approved or round_number == rounds:
            break
        console.err(
            "reality moved during apply (another writer?); planning again "
            f"(round {round_number + 1}/{rounds})"
        )
    console.out(render(plan, "text", console).rstrip("\n"))
    console.err(f"apply did not converge: {len(plan.changes)} change(s) remain (shown above)")
    raise click.exceptions.Exit(EXIT_ERROR)
