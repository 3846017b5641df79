"""`licenzy-sync schema`: the JSON Schema of licenzy.yaml, for editors and CI."""

from __future__ import annotations

import click


@click.command()
def schema() -> None:
    """Print the JSON Schema of licenzy.yaml (for editors and CI)."""
    from licenzy_sync.config.schema import json_schema_text

    click.echo(json_schema_text(), nl=False)
