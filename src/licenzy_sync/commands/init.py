"""`licenzy-sync init`: the first file of a new setup, with nothing to read or connect."""

from __future__ import annotations

from pathlib import Path

import click

from licenzy_sync.cli_options import DEFAULT_CONFIG, console_options, output_option
from licenzy_sync.output import Console


@click.command("init")
@output_option("the starter")
@console_options
def init(output: Path, no_color: bool, verbose: int) -> None:
    """Write a commented starter licenzy.yaml in the current directory.

    The starter declares the sandbox's project, a test and a live mode and three products of
    the three kinds, so `licenzy-sync sandbox seed` then `licenzy-sync plan --sandbox` work at
    once, without any account; edit it into your own setup from there. The JSON Schema its
    first line names (licenzy.schema.json, for editor completion) is written beside it.

    An existing file is never overwritten. Exit 0 written, 1 error (an existing file included).
    """
    from licenzy_sync.scaffold import create_new, schema_note, starter_text, write_schema

    console = Console(no_color, verbose)
    text = starter_text()
    if str(output) == "-":
        console.out(text.rstrip("\n"))
        schema_note(console)
        return
    create_new(output, text)
    schema = write_schema(output, console)
    written = f"{output} and {schema} (for editor completion)" if schema else f"{output}"
    console.err(f"wrote {written}")
    flag = "" if str(output) == DEFAULT_CONFIG else f" -c {output}"
    console.err(
        f"next, without any account: licenzy-sync sandbox seed{flag} && "
        f"licenzy-sync plan --sandbox{flag}"
    )
    console.err(
        "then put in your project, products and ${VARIABLES}, and check it offline: "
        f"licenzy-sync validate{flag}"
    )
