"""The command line. Thin: parse options, call the layer that does the work, map exit codes.

Every command lives in a module of its own, imported only when it is invoked, so `--help`
imports click and little else, and each command only what it needs.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, NamedTuple

import click

from licenzy_sync import __version__
from licenzy_sync.collector import one_command_per_process
from licenzy_sync.errors import EXIT_ERROR, EXIT_INVALID, EXIT_OK, ConfigInvalid, LicenzySyncError
from licenzy_sync.redact import redact

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

DEBUG_ENV = "LICENZY_SYNC_DEBUG"


class Lazy(NamedTuple):
    """Where a command lives and what the command list says of it. ``clipped``: the summary is
    its help's first sentence, shortened to the width as click shortens a command's help;
    otherwise it is shown whole."""

    target: str
    summary: str
    clipped: bool = False


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, the width click sizes help to, without
    importing shutil (with bz2, lzma and zlib: a few ms of `--help`): COLUMNS if it is a
    positive number, else the terminal of stdout, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    stdout = sys.__stdout__
    if columns <= 0 and stdout is not None:
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpContext(click.Context):
    """The top-level context: its help formatter is given the width click would compute."""

    def make_formatter(self) -> click.HelpFormatter:
        width = self.terminal_width
        if width is None and click.formatting.FORCED_WIDTH is None:
            width = max(min(terminal_columns(), self.max_content_width or 80) - 2, 50)
        return self.formatter_class(width=width, max_width=self.max_content_width)


class LazyGroup(click.Group):
    """Every subcommand is imported only when it is invoked (or its own help is asked for)."""

    context_class = HelpContext
    lazy: ClassVar[dict[str, Lazy]] = {
        "apply": Lazy(
            "licenzy_sync.commands.apply:apply",
            "Make Stripe and Licenzy match licenzy.yaml, then prove it.",
        ),
        "drift": Lazy(
            "licenzy_sync.commands.drift:drift",
            "Compare Stripe and Licenzy with licenzy.yaml; classify drift breaking or benign.",
        ),
        "github": Lazy(
            "licenzy_sync.commands.github:github", "Post plan comments and drift issues."
        ),
        "import": Lazy(
            "licenzy_sync.commands.import_:import_",
            "Write a licenzy.yaml from what Licenzy and Stripe hold now.",
        ),
        "init": Lazy(
            "licenzy_sync.commands.init:init",
            "Write a commented starter licenzy.yaml (and its schema) here.",
        ),
        "plan": Lazy(
            "licenzy_sync.commands.plan:plan",
            "Read Stripe and Licenzy, check the rules, show what apply would change.",
        ),
        "sandbox": Lazy("licenzy_sync.sandbox.cli:sandbox", "Local Stripe + Licenzy emulators."),
        "schema": Lazy(
            "licenzy_sync.commands.schema:schema",
            "Print the JSON Schema of licenzy.yaml (for editors and CI).",
            clipped=True,
        ),
        "validate": Lazy(
            "licenzy_sync.commands.validate:validate",
            "Check licenzy.yaml offline: structure, types and the static rules.",
            clipped=True,
        ),
        "verify": Lazy(
            "licenzy_sync.commands.verify:verify",
            "Prove the setup end to end: a checkout per product, the webhook per mode.",
        ),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name].target.split(":")
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
            entry = self.lazy[name]
            if entry.clipped:
                return click.Command(name, help=entry.summary).get_short_help_str(limit)
            return entry.summary
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
        from click.shell_completion import CompletionItem

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


def _report_invalid(error: ConfigInvalid) -> None:
    from licenzy_sync.output import Console
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
    if argv is None:  # the program itself, not a call from Python
        one_command_per_process()
    args = list(sys.argv[1:] if argv is None else argv)
    _tolerant_streams()
    try:
        code = _run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_output()
        code = EXIT_ERROR
    status = EXIT_OK if code is None else int(code)
    if argv is None:
        from licenzy_sync.process_exit import end_process

        end_process(status)
    sys.exit(status)


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
            import traceback

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
