"""`licenzy-sync apply [PLANFILE]`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from licenzy_sync.cli_options import configs_option, console_options, sandbox_option
from licenzy_sync.errors import EXIT_ERROR, EXIT_INVALID, EXIT_OK, LicenzySyncError
from licenzy_sync.output import Console

if TYPE_CHECKING:
    from licenzy_sync.apply.interrupts import StopRequest
    from licenzy_sync.plan.model import Plan
    from licenzy_sync.projects import Outcome
    from licenzy_sync.providers.retry import Channels
    from licenzy_sync.runtime import Run

ROUNDS = 5
"""Plan-execute rounds when reality moves during an apply (another writer racing us); a saved
plan is executed exactly once."""


@click.command()
@click.argument("planfile", required=False, type=click.Path(path_type=Path, dir_okay=False))
@configs_option
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
    config_paths: tuple[Path, ...],
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

    With several configs (-c repeated or a glob), or a PLANFILE saved from several: every
    project is planned (or checked for staleness) first, and nothing is written unless all of
    them can be; one approval covers them all, then each project is applied in turn. The exit
    code is the worst of theirs.

    On SIGINT/SIGTERM the writes in flight finish and no new one starts; a failing phase stops
    the same way. Either way one summary says what was written and what was not (exit 1), and
    running apply again converges. A second signal stops at once.

    Exit 0 when a fresh plan afterwards has no changes; 3 for rule violations, a stale plan (or
    one whose secret variable changed since) or missing approval; 1 for errors, an early stop
    or changes that remain.
    """
    from licenzy_sync.projects import expand_configs
    from licenzy_sync.providers.retry import Channels
    from licenzy_sync.workflow import make_plan

    console = Console(no_color, verbose)
    channels = Channels()
    explicit = ctx.get_parameter_source("config_paths") is not click.core.ParameterSource.DEFAULT
    configs = expand_configs(config_paths)
    options = _Options(prune, sandbox, auto_approve, channels, console)
    if planfile is not None:
        _apply_planfile(planfile, configs if explicit else None, options)
    elif len(configs) > 1:
        _apply_projects(configs, mode, options)
    else:
        plan, run = make_plan(
            configs[0], mode, sandbox=sandbox, prune=prune, console=console, channels=channels
        )
        _apply_one(plan, run, configs[0], ROUNDS, options)


class _Options:
    """What every project of one apply shares: the flags, the rate limits, the console."""

    def __init__(
        self,
        prune: bool,
        sandbox: bool,
        auto_approve: bool,
        channels: Channels,
        console: Console,
    ) -> None:
        self.prune = prune
        self.sandbox = sandbox
        self.auto_approve = auto_approve
        self.channels = channels
        self.console = console


def _requests(channels: Channels) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(channels.counter.counts().items()))


def _apply_planfile(planfile: Path, configs: list[Path] | None, options: _Options) -> None:
    """A saved plan, executed exactly once after the staleness check; ``configs`` are the
    files given with -c, if any."""
    from licenzy_sync.planfile import read_plans
    from licenzy_sync.workflow import check_saved_plan

    saved = read_plans(planfile)
    if isinstance(saved, list):
        _apply_saved_projects(planfile, saved, configs, options)
        return
    if configs is not None and len(configs) > 1:
        raise LicenzySyncError(f"{planfile} holds one project's plan; -c names several files")
    plan, run = check_saved_plan(
        saved,
        str(planfile),
        configs[0] if configs else None,
        sandbox=options.sandbox,
        console=options.console,
        channels=options.channels,
    )
    _apply_one(plan, run, configs[0] if configs else Path(plan.config_file), 1, options)


def _apply_one(plan: Plan, run: Run, config_path: Path, rounds: int, options: _Options) -> None:
    """Show the plan, ask, write, prove: one project's apply after its plan was made."""
    from licenzy_sync.apply.approval import approve, live_banner
    from licenzy_sync.apply.interrupts import stop_on_signals
    from licenzy_sync.plan.manual import manual_section
    from licenzy_sync.render.select import render

    console = options.console
    console.out(render(plan, "text", console).rstrip("\n"))
    if plan.blocks_apply:
        raise click.exceptions.Exit(EXIT_INVALID)
    if not plan.changes:
        for line in manual_section(plan):
            console.out(line)
        return
    live_banner(plan, console)
    approve(plan, console, auto_approve=options.auto_approve)
    with stop_on_signals() as stop:
        plan, written = _converge(plan, run, config_path, rounds=rounds, options=options, stop=stop)
    if not plan.changes:
        steps = manual_section(plan)
        matched = "Stripe matches" if steps else "Stripe and Licenzy match"
        console.out(
            f"Apply complete: {written} change(s) written; {matched} {plan.config_file}. "
            f"Requests: {_requests(options.channels)}."
        )
        for line in steps:
            console.out(line)
        return
    console.out(render(plan, "text", console).rstrip("\n"))
    console.err(f"apply did not converge: {len(plan.changes)} change(s) remain (shown above)")
    raise click.exceptions.Exit(EXIT_ERROR)


def _converge(
    plan: Plan, run: Run, config_path: Path, *, rounds: int, options: _Options, stop: StopRequest
) -> tuple[Plan, int]:
    """Execute ``plan``, then plan again; while only approved changes remain (another writer
    raced us), up to ``rounds`` times. Returns the last fresh plan and the writes made; raises
    `ApplyStopped` (what was written, what was not) when a phase fails or ``stop`` is set."""
    from licenzy_sync.apply.executor import Executor, Raced
    from licenzy_sync.apply.landing import ApplyStopped, Landing
    from licenzy_sync.workflow import make_plan, mode_of

    approved = {resource.address for resource in plan.changes}
    scope = mode_of(plan)
    landing = Landing()
    round_number = 1
    while True:
        executor = Executor(
            plan, run, options.channels, options.console, landing=landing, stop=stop
        )
        try:
            executor.execute()
        except Raced as raced:
            if round_number == rounds:
                raise
            options.console.err(f"{raced}; planning again")
        plan, run = make_plan(
            config_path,
            scope,
            sandbox=options.sandbox,
            prune=options.prune,
            console=options.console,
            channels=options.channels,
        )
        remaining = {resource.address for resource in plan.changes}
        if remaining and stop.requested:
            landing.not_tried = plan.changes
            raise ApplyStopped(landing, signal=stop.signal)
        done = not remaining or not remaining <= approved or round_number == rounds
        if done or plan.blocks_apply:
            return plan, len(landing.written)
        round_number += 1
        options.console.err(
            "reality moved during apply (another writer?); planning again "
            f"(round {round_number}/{rounds})"
        )


def _apply_projects(configs: list[Path], mode: str, options: _Options) -> None:
    from licenzy_sync.projects import plan_projects

    outcomes = plan_projects(
        configs,
        mode,
        sandbox=options.sandbox,
        prune=options.prune,
        console=options.console,
        channels=options.channels,
    )
    _apply_outcomes(outcomes, ROUNDS, options)


def _apply_saved_projects(
    planfile: Path, saved: list[Plan], configs: list[Path] | None, options: _Options
) -> None:
    """Every saved plan checked for staleness (concurrently) before any is executed."""
    from licenzy_sync.projects import Outcome, then
    from licenzy_sync.workflow import check_saved_plan

    named = [Path(plan.config_file) for plan in saved]
    if configs is not None and set(configs) != set(named):
        raise LicenzySyncError(
            f"{planfile} was made from {', '.join(map(str, named))}; -c names "
            f"{', '.join(map(str, configs))} (give the same files, or no -c)"
        )
    checked = then(
        [
            Outcome(path, plan, project=plan.project)
            for path, plan in zip(named, saved, strict=True)
        ],
        lambda plan: check_saved_plan(
            plan,
            f"{planfile} (project {plan.project})",
            None,
            sandbox=options.sandbox,
            console=options.console,
            channels=options.channels,
        ),
    )
    _apply_outcomes(checked, 1, options)


def _apply_outcomes(
    outcomes: Sequence[Outcome[tuple[Plan, Run]]], rounds: int, options: _Options
) -> None:
    """Show every project; write only when none has an error or a rule violation; ask once."""
    from licenzy_sync.apply.approval import approve_projects, live_banner
    from licenzy_sync.apply.interrupts import stop_on_signals
    from licenzy_sync.projects import combine, exit_code, results
    from licenzy_sync.render.projects import plans_text

    console = options.console
    console.out(plans_text(results(outcomes), console.style).rstrip("\n"))
    blocked = combine(
        exit_code(o, lambda pair: EXIT_INVALID if pair[0].blocks_apply else EXIT_OK)
        for o in outcomes
    )
    if blocked:
        raise click.exceptions.Exit(blocked)
    pending = [o for o in outcomes if o.result is not None and o.result[0].changes]
    if not pending:
        return
    plans = [o.result[0] for o in pending if o.result is not None]
    for plan in plans:
        live_banner(plan, console)
    approve_projects(plans, console, auto_approve=options.auto_approve)
    with stop_on_signals() as stop:
        codes, written = _write_projects(pending, rounds, options, stop)
    code = combine(codes)
    if code:
        raise click.exceptions.Exit(code)
    console.out(
        f"Apply complete: {written} change(s) written in {len(pending)} project(s); Stripe and "
        f"Licenzy match every file. Requests: {_requests(options.channels)}."
    )


def _write_projects(
    pending: Sequence[Outcome[tuple[Plan, Run]]], rounds: int, options: _Options, stop: StopRequest
) -> tuple[list[int], int]:
    """Each approved project applied in turn; after a stop request, none is started. Returns
    every project's exit code and the writes made."""
    from licenzy_sync.render.projects import failure_lines, header
    from licenzy_sync.render.text import render_text

    console = options.console
    codes: list[int] = []
    written = 0
    for index, outcome in enumerate(pending):
        assert outcome.result is not None
        if stop.requested:
            rest = ", ".join(str(later.config) for later in pending[index:])
            console.err(f"not started after {stop.signal}: {rest}")
            codes.append(EXIT_ERROR)
            break
        console.err(console.style(header(outcome), "bold", stream_color=console.err_color))
        try:
            plan, count = _converge(
                *outcome.result, outcome.config, rounds=rounds, options=options, stop=stop
            )
        except LicenzySyncError as error:
            console.err("\n".join(failure_lines(error)))
            codes.append(error.exit_code)
            continue
        written += count
        if plan.changes:
            console.out(header(outcome))
            console.out(render_text(plan, console.style).rstrip("\n"))
            console.err(
                f"{outcome.config}: apply did not converge: {len(plan.changes)} change(s) remain "
                "(shown above)"
            )
            codes.append(EXIT_ERROR)
        else:
            console.out(
                f"{header(outcome)} apply complete: {count} change(s) written; Stripe and "
                f"Licenzy match {outcome.config}."
            )
    return codes, written
