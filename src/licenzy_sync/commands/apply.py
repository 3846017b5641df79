"""`licenzy-sync apply [PLANFILE]`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from licenzy_sync.cli_options import configs_option, console_options, sandbox_option
from licenzy_sync.commands.targeting import target_option
from licenzy_sync.errors import EXIT_ERROR, EXIT_INVALID, EXIT_OK, LicenzySyncError
from licenzy_sync.output import Console

if TYPE_CHECKING:
    from collections.abc import Sequence

    from licenzy_sync.apply.converge import Session
    from licenzy_sync.apply.interrupts import StopRequest
    from licenzy_sync.commands.apply_views import View
    from licenzy_sync.plan.model import Plan
    from licenzy_sync.projects import Outcome
    from licenzy_sync.providers.retry import Channels
    from licenzy_sync.runtime import Emulators, Run

    Planned = Sequence[Outcome[tuple[Plan, Run]]]


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
@target_option("Apply")
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
    targets: tuple[str, ...],
    sandbox: Emulators | None,
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

    A plan with errors (or a key that may not make a write it needs) is shown and refused:
    "nothing written" on stderr, exit 3. With --target, only the named addresses, what they
    depend on and the writes that take a value they produce are applied, and the final check
    covers only them; errors elsewhere are shown as not targeted and do not block. A PLANFILE
    saved with --target applies exactly its own targets.

    On SIGINT/SIGTERM the writes in flight finish and no new one starts; a failing write stops
    the same way. Either way one summary says what was written and what was not (exit 1), and
    running apply again converges. A second signal stops at once.

    Exit 0 when a fresh plan afterwards has no changes; 3 for rule violations, a stale plan (or
    one whose secret variable changed since) or missing approval; 1 for errors, an early stop
    or changes that remain.
    """
    from licenzy_sync.apply.converge import ROUNDS
    from licenzy_sync.commands.targeting import parsed
    from licenzy_sync.projects import expand_configs, raise_alone
    from licenzy_sync.providers.retry import Channels

    console = Console(no_color, verbose)
    if planfile is not None and targets:
        raise LicenzySyncError(
            "--target cannot be given with PLANFILE: a saved plan applies exactly the targets "
            "it was planned with (give --target to `plan --out`)"
        )
    options = _Options(prune, sandbox, auto_approve, Channels(), console)
    explicit = ctx.get_parameter_source("config_paths") is not click.core.ParameterSource.DEFAULT
    configs = expand_configs(config_paths)
    if planfile is not None:
        outcomes = _check_saved(planfile, configs if explicit else None, options)
    else:
        outcomes = _planned(configs, mode, parsed(targets, console), options)
    raise_alone(outcomes)
    _apply_outcomes(outcomes, 1 if planfile is not None else ROUNDS, options)


def _planned(
    configs: list[Path], mode: str, wanted: tuple[str, ...], options: _Options
) -> Planned:
    """Every project planned, and narrowed to the targets when --target names any."""
    from licenzy_sync.commands.targeting import narrowed
    from licenzy_sync.projects import plan_projects

    planned = plan_projects(
        configs,
        mode,
        sandbox=options.sandbox,
        prune=options.prune,
        console=options.console,
        channels=options.channels,
    )
    return narrowed(planned, wanted, lambda pair: pair[0], lambda pair, p: (p, pair[1]))


class _Options:
    """What every project of one apply shares: the flags, the rate limits, the console."""

    def __init__(
        self,
        prune: bool,
        sandbox: Emulators | None,
        auto_approve: bool,
        channels: Channels,
        console: Console,
    ) -> None:
        self.prune = prune
        self.sandbox = sandbox
        self.auto_approve = auto_approve
        self.channels = channels
        self.console = console

    def session(self, config: Path) -> Session:
        from licenzy_sync.apply.converge import Session

        return Session(config, self.sandbox, self.prune, self.channels, self.console)


def _check_saved(planfile: Path, configs: list[Path] | None, options: _Options) -> Planned:
    """The plans of a saved file, each checked for staleness (concurrently) before any is
    executed; ``configs`` are the files given with -c, if any."""
    from licenzy_sync.commands.targeting import warn
    from licenzy_sync.planfile import read_plans
    from licenzy_sync.projects import Outcome, then
    from licenzy_sync.workflow import check_saved_plan

    saved = read_plans(planfile)
    if any(plan.targets for plan in (saved if isinstance(saved, list) else [saved])):
        warn(options.console)
    if not isinstance(saved, list):
        if configs is not None and len(configs) > 1:
            raise LicenzySyncError(f"{planfile} holds one project's plan; -c names several files")
        config = configs[0] if configs else None
        checked = check_saved_plan(
            saved,
            str(planfile),
            config,
            sandbox=options.sandbox,
            console=options.console,
            channels=options.channels,
        )
        return [Outcome(config or Path(saved.config_file), checked, project=saved.project)]
    named = [Path(plan.config_file) for plan in saved]
    if configs is not None and set(configs) != set(named):
        raise LicenzySyncError(
            f"{planfile} was made from {', '.join(map(str, named))}; -c names "
            f"{', '.join(map(str, configs))} (give the same files, or no -c)"
        )
    return then(
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


def _apply_outcomes(outcomes: Planned, rounds: int, options: _Options) -> None:
    """Show every project; write only when none has an error or a rule violation; ask once."""
    from licenzy_sync.apply.interrupts import stop_on_signals
    from licenzy_sync.commands.apply_views import view_of
    from licenzy_sync.commands.approval import approve, live_banner
    from licenzy_sync.projects import combine, exit_code, results
    from licenzy_sync.render.select import render_plans

    console = options.console
    view = view_of(outcomes, options.channels, console)
    console.out(render_plans(results(outcomes), "text", console).rstrip("\n"))
    blocked = combine(
        exit_code(o, lambda pair: EXIT_INVALID if pair[0].blocks_apply else EXIT_OK)
        for o in outcomes
    )
    if blocked:
        _refuse(outcomes, console)
        raise click.exceptions.Exit(blocked)
    pending = [o for o in outcomes if o.result is not None and o.result[0].changes]
    if not pending:
        view.nothing_to_write()
        return
    plans = [o.result[0] for o in pending if o.result is not None]
    for plan in plans:
        live_banner(plan, console)
    approve(plans, console, auto_approve=options.auto_approve)
    with stop_on_signals() as stop:
        codes, written = _write_projects(pending, rounds, options, stop, view)
    code = combine(codes)
    if not code and len(outcomes) > 1:
        code = _check_every_project(outcomes, options, view)
    if code:
        raise click.exceptions.Exit(code)
    view.done(written, len(pending))


def _refuse(outcomes: Planned, console: Console) -> None:
    """Say on stderr, where a CI log shows it, that nothing was written and why."""
    from licenzy_sync.projects import results
    from licenzy_sync.render.blocking import nothing_written, stop_notes

    def refusal(plan: Plan) -> str | None:
        return nothing_written(plan) if plan.blocks_apply else None

    for note in stop_notes(results(outcomes), refusal):
        console.err(note)
    if len(outcomes) > 1:
        console.err("nothing written in any project: every project's plan must be able to run")


def _check_every_project(outcomes: Planned, options: _Options, view: View) -> int:
    """Every project, written or not, planned once more after the last write (at its targets
    only, when targeted): one project's writes can undo another's (several projects may share
    a Stripe account), which the check right after its own writes cannot see. Returns the exit
    code."""
    from licenzy_sync.projects import Outcome, then
    from licenzy_sync.workflow import mode_of

    checked = then(
        [
            Outcome(o.config, (o.config, o.result[0]), project=o.project)
            for o in outcomes
            if o.result is not None
        ],
        lambda planned: options.session(planned[0])
        .replan(mode_of(planned[1]), tuple(planned[1].targets))[0],
    )
    code = EXIT_OK
    for outcome in checked:
        if outcome.error is not None:
            view.failed(outcome.error)
            code = EXIT_ERROR
        elif outcome.result is not None and outcome.result.changes:
            view.remains(outcome, outcome.result)
            code = EXIT_ERROR
    return code


def _write_projects(
    pending: Planned, rounds: int, options: _Options, stop: StopRequest, view: View
) -> tuple[list[int], int]:
    """Each approved project converged in turn; after a stop request, none is started. Returns
    every project's exit code and the writes made."""
    from licenzy_sync.apply.converge import converge

    codes: list[int] = []
    written = 0
    for index, outcome in enumerate(pending):
        assert outcome.result is not None
        if stop.requested:
            rest = ", ".join(str(later.config) for later in pending[index:])
            options.console.err(f"not started after {stop.signal}: {rest}")
            codes.append(EXIT_ERROR)
            break
        view.starting(outcome)
        session = options.session(outcome.config)
        try:
            plan, count = converge(*outcome.result, session, rounds=rounds, stop=stop)
        except LicenzySyncError as error:
            view.failed(error)
            codes.append(error.exit_code)
            continue
        written += count
        if plan.changes:
            view.remains(outcome, plan)
            codes.append(EXIT_ERROR)
        else:
            view.converged(outcome, plan, count)
    return codes, written
