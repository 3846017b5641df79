"""`licenzy-sync validate`: licenzy.yaml checked offline, one file or several."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from licenzy_sync.cli_options import configs_option, console_options
from licenzy_sync.errors import EXIT_ERROR, EXIT_INVALID, EXIT_OK, ConfigInvalid
from licenzy_sync.output import Console
from licenzy_sync.redact import redact

if TYPE_CHECKING:
    from licenzy_sync.config.load import LoadedConfig
    from licenzy_sync.findings import Finding


@click.command()
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

