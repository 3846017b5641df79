"""Options every command shares, so each flag means the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from licenzy_sync.runtime import Emulators

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_CONFIG = "licenzy.yaml"


def config_option(f: F) -> F:
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=DEFAULT_CONFIG,
        show_default=True,
        help="Path to licenzy.yaml.",
    )(f)


def configs_option(f: F) -> F:
    """-c for the commands that take one file per Licenzy project (validate, plan, apply,
    drift); the command receives the values as given and expands them with
    ``projects.expand_configs``."""
    return click.option(
        "-c",
        "--config",
        "config_paths",
        type=click.Path(path_type=Path, dir_okay=False),
        multiple=True,
        default=[DEFAULT_CONFIG],
        show_default=True,
        help="Path to licenzy.yaml (- reads it from stdin). Repeat it, or give a quoted glob "
        "such as 'licenzy/*.yaml', for several projects (one file each).",
        callback=_parse_ahead,
    )(f)


def _parse_ahead(
    ctx: click.Context, param: click.Parameter, value: tuple[Path, ...]
) -> tuple[Path, ...]:
    """The earliest moment the file is known (`parse_ahead`); shell completion only reads
    the command line, so nothing is parsed for it."""
    if not ctx.resilient_parsing:
        from licenzy_sync.parse_ahead import start

        start(value)
    return value


def output_option(what: str) -> Callable[[F], F]:
    """-o for the commands that write a licenzy.yaml (init, import); - is stdout."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
        default=DEFAULT_CONFIG,
        show_default=True,
        help=f"Where to write {what}; - for stdout.",
    )


def console_options(f: F) -> F:
    f = click.option("-v", "--verbose", count=True, help="More detail on stderr.")(f)
    return click.option("--no-color", is_flag=True, help="No colours (NO_COLOR is honoured too).")(
        f
    )


def _emulators(ctx: click.Context, param: click.Parameter, value: bool) -> Emulators | None:
    from licenzy_sync.commands.transports import emulators

    return emulators(value)


def sandbox_option(f: F) -> F:
    """--sandbox; the command receives the chosen `Emulators`, or None for the network."""
    return click.option(
        "--sandbox",
        is_flag=True,
        callback=_emulators,
        help="Run against the local sandbox (LICENZY_SYNC_SANDBOX_DIR, default "
        ".licenzy-sync/sandbox/); unset credentials take the sandbox defaults.",
    )(f)


def modes_to(verb: str) -> Callable[[F], F]:
    """--mode, its help saying what the command does with the modes it selects."""
    return click.option(
        "--mode",
        type=click.Choice(["test", "live", "all"]),
        default="all",
        show_default=True,
        help=f"Which mode blocks to {verb}.",
    )


mode_option = modes_to("plan")


def format_option(markdown_for: str) -> Callable[[F], F]:
    """--format for the commands that report: text, json, or markdown for ``markdown_for``."""

    def decorate(f: F) -> F:
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(["text", "json", "markdown"]),
            default="text",
            show_default=True,
            help=f"text for people, json for machines, markdown for {markdown_for}.",
        )(f)

    return decorate
