"""The command line. Thin: parse options, call the layer that does the work, map exit codes.

Heavy modules (the stripe SDK, httpx, jinja2, the sandbox) are imported inside the commands
that need them, so `--help` and `validate` start fast.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import click
from click.shell_completion import CompletionItem

from licenzy_sync import __version__
from licenzy_sync.cli_options import configs_option, console_options
from licenzy_sync.errors import (
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_OK,
    ConfigInvalid,
    LicenzySyncError,
)
from licenzy_sync.output import Console
from licenzy_sync.redact import redact

if TYPE_CHECKING:
    from licenzy_sync.config.load import LoadedConfig
    from licenzy_sync.findings import Finding

DEBUG_ENV = "LICENZY_SYNC_DEBUG"


class LazyGroup(click.Group):
    """Subcommands that live in heavy modules are imported only when invoked."""

    lazy: ClassVar[dict[str, tuple[str, str]]] = {
        "apply": (
            "licenzy_sync.commands.apply:apply",
            "Make Stripe and Licenzy match licenzy.yaml, then prove it.",
        ),
        "drift": (
            "licenzy_sync.commands.drift:drift",
            "Compare Stripe and Licenzy with licenzy.yaml; classify drift breaking or benign.",
        ),
        "github": ("licenzy_sync.commands.github:github", "Post plan comments and drift issues."),
        "import": (
            "licenzy_sync.commands.import_:import_",
            "Write a licenzy.yaml from what Licenzy and Stripe hold now.",
        ),
        "init": (
            "licenzy_sync.commands.init:init",
            "Write a commented starter licenzy.yaml (and its schema) here.",
        ),
        "plan": (
            "licenzy_sync.commands.plan:plan",
            "Read Stripe and Licenzy, check the rules, show what apply would change.",
        ),
        "sandbox": ("licenzy_sync.sandbox.cli:sandbox", "Local Stripe + Licenzy emulators."),
        "verify": (
            "licenzy_sync.commands.verify:verify",
            "Prove the setup end to end: a checkout per product, the webhook per mode.",
        ),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name][0].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Start the command's deadline (LICENZY_SYNC_DEADLINE) as the command begins; it
        ends with the command, so commands run one after another in a process each get theirs."""
        from licenzy_sync.providers import deadline

        name, command, rest = super().resolve_command(ctx, args)
        if name is not None:
            deadline.start(name)
            ctx.call_on_close(deadline.stop)
        return name, command, rest

    def _short_help(self, ctx: click.Context, name: str, limit: int) -> str | None:
        """From the table for lazy commands: listing them must not import them."""
        if name in self.lazy:
            return self.lazy[name][1]
        command = super().get_command(ctx, name)
        return None if command is None or command.hidden else command.get_short_help_str(limit)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        rows = [
            (name, short)
            for name in self.list_commands(ctx)
            if (short := self._short_help(ctx, name, limit)) is not None
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        names = [
            CompletionItem(name, help=self._short_help(ctx, name, 45))
            for name in self.list_commands(ctx)
            if name.startswith(incomplete)
        ]
        return names + click.Command.shell_complete(self, ctx, incomplete)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="licenzy-sync")
def cli() -> None:
    """Keep a Licenzy + Stripe billing setup in git.

    Exit codes: 0 ok, 1 error (including bad usage), 2 changes or drift where asked for,
    3 invalid configuration or rule violations.
    """


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@configs_option
@click.option("--strict", is_flag=True, help="Fail (exit 3) on warnings too.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github"]),
    default="text",
    show_default=True,
    help="text for people; github prints each finding as a GitHub Actions annotation "
    "(::error file=...,line=...,col=...,title=LZ...::message).",
)
@console_options
@click.pass_context
def validate(
    ctx: click.Context,
    files: tuple[Path, ...],
    config_paths: tuple[Path, ...],
    strict: bool,
    fmt: str,
    no_color: bool,
    verbose: int,
) -> None:
    """Check licenzy.yaml offline: structure, types and the static rules.

    FILES are checked like -c values (so pre-commit can pass the staged files). Secret
    references are not resolved; where a referenced variable is set, its key prefix is
    checked against the mode block it is used in. With several files (-c repeated, a glob
    or FILES), each is checked and two files naming the same project are an error. Exit 0
    valid, 3 invalid, 1 error; with several files the worst of these (1, then 3).
    """
    from licenzy_sync.projects import expand_configs

    console = Console(no_color, verbose)
    explicit = ctx.get_parameter_source("config_paths") is not click.core.ParameterSource.DEFAULT
    given = (*config_paths, *files) if explicit or not files else files
    _validate_files(expand_configs(given), strict, fmt, console)


def _show_findings(findings: Sequence[Finding], path: Path, fmt: str, console: Console) -> None:
    from licenzy_sync.render.annotations import workflow_commands
    from licenzy_sync.render.findings_text import format_findings

    if fmt == "github":
        lines = workflow_commands(findings, str(path))
    else:
        lines = format_findings(findings, console.style)
    for line in lines:
        console.out(line)


def _validate_loaded(loaded: LoadedConfig, strict: bool, fmt: str, console: Console) -> int:
    """Print the findings and the verdict line of one loaded file; return its exit code."""
    from licenzy_sync.render.findings_text import plural, summary
    from licenzy_sync.rules.static import static_findings

    findings = static_findings(loaded)
    _show_findings(findings, loaded.path, fmt, console)
    failed = any(f.is_error for f in findings) or (strict and bool(findings))
    config = loaded.config
    if failed:
        console.out(f"{loaded.path}: invalid ({summary(findings)})")
        return EXIT_INVALID
    modes = ", ".join(config.modes.declared()) or "none"
    tail = f"; {summary(findings)}" if findings else ""
    products = plural(len(config.products), "product")
    console.out(f"{loaded.path}: valid ({products}; modes: {modes}{tail})")
    return EXIT_OK


def _validate_files(configs: list[Path], strict: bool, fmt: str, console: Console) -> None:
    """Every file checked; one reads as it always did (a file that cannot be read, or an
    invalid one in text, is the command's error), several end with a count of each verdict."""
    from licenzy_sync.config.load import load_config
    from licenzy_sync.projects import Outcome, combine, refuse_duplicates, then
    from licenzy_sync.render.findings_text import summary

    several = len(configs) > 1
    loaded = then([Outcome(path, path) for path in configs], load_config)
    refuse_duplicates(
        Outcome(o.config, o.result, project=o.result.config.project)
        for o in loaded
        if o.result is not None
    )
    codes = []
    for outcome in loaded:
        if outcome.result is not None:
            codes.append(_validate_loaded(outcome.result, strict, fmt, console))
            continue
        error = outcome.error
        assert error is not None
        if not several and (fmt == "text" or not isinstance(error, ConfigInvalid)):
            raise error
        if isinstance(error, ConfigInvalid):
            _show_findings(error.findings, outcome.config, fmt, console)
            verdict = f" ({summary(error.findings)})" if several else ""
            console.out(f"{outcome.config}: invalid{verdict}")
        else:
            console.out(f"error: {redact(str(error))}")
        codes.append(error.exit_code)
    if several:
        unreadable = codes.count(EXIT_ERROR)
        tail = f", {unreadable} unreadable" if unreadable else ""
        console.out(
            f"{len(configs)} files: {codes.count(EXIT_OK)} valid, "
            f"{codes.count(EXIT_INVALID)} invalid{tail}."
        )
    code = combine(codes)
    if code:
        raise click.exceptions.Exit(code)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of licenzy.yaml (for editors and CI)."""
    from licenzy_sync.config.schema import json_schema_text

    click.echo(json_schema_text(), nl=False)


def _report_invalid(error: ConfigInvalid) -> None:
    from licenzy_sync.render.findings_text import format_findings, summary

    console = Console(no_color="--no-color" in sys.argv)
    for line in format_findings(error.findings, console.style):
        console.out(line)
    console.out(f"invalid configuration ({summary(error.findings)})")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: every failure becomes a message and an exit code, never a traceback.

    A reader that stops early (``licenzy-sync plan | head``) ends the run quietly, as
    ``git log | head`` does: nothing more can be shown, and nothing is lost by not trying.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    _tolerant_streams()
    try:
        code = _run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_output()
        code = EXIT_ERROR
    sys.exit(EXIT_OK if code is None else int(code))


def _run(args: list[str]) -> int | None:
    try:
        code: int | None = cli.main(args=args, prog_name="licenzy-sync", standalone_mode=False)
    except ConfigInvalid as error:
        _report_invalid(error)
        code = EXIT_INVALID
    except LicenzySyncError as error:
        sys.stderr.write(f"error: {redact(str(error))}\n")
        code = error.exit_code
    except click.exceptions.Abort:
        sys.stderr.write("aborted\n")
        code = EXIT_ERROR
    except click.ClickException as error:
        error.show()
        code = EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = 130
    except BrokenPipeError:
        raise
    except Exception as error:
        sys.stderr.write(
            f"internal error: {type(error).__name__}: {redact(str(error))}\n"
            f"This is a bug in licenzy-sync; set {DEBUG_ENV}=1 for details when reporting it.\n"
        )
        if os.environ.get(DEBUG_ENV):
            sys.stderr.write(redact(traceback.format_exc()))
        code = EXIT_ERROR
    return code


def _tolerant_streams() -> None:
    """A character no encoder can write (a lone surrogate from a remote name) is shown
    escaped instead of ending the run with an encoding error."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def _discard_output() -> None:
    """Point stdout and stderr at /dev/null so the interpreter's last flush cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):
            continue
    os.close(devnull)
