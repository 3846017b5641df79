"""`licenzy-sync sandbox ...`: run, inspect, reset and seed the local emulators.

Every command works on the sandbox directory (``--dir``, else ``LICENZY_SYNC_SANDBOX_DIR``,
else ``.licenzy-sync/sandbox/``), which a running `serve` shares with them: seeding or
resetting while it runs is seen by its clients at once.
"""

from __future__ import annotations

import errno
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from licenzy_sync.endpoints import LICENZY
from licenzy_sync.sandbox.app import Sandbox, sandbox_dir
from licenzy_sync.sandbox.defaults import (
    SANDBOX_PORTAL_TOKEN,
    SANDBOX_PROJECT_ID,
    SANDBOX_RUNTIME_KEYS,
    SANDBOX_STRIPE_KEYS,
)
from licenzy_sync.sandbox.inprocess import LICENZY_BASE
from licenzy_sync.sandbox.seed import follow_licenzy, seed, spec_from_config
from licenzy_sync.sandbox.server import LOOPBACK, SandboxServer
from licenzy_sync.stop_signals import on_stop_signals

DEFAULT_PORT = 7421
STARTER_VARIABLES = {
    "LICENZY_PORTAL_TOKEN": SANDBOX_PORTAL_TOKEN,
    "STRIPE_TEST_SECRET_KEY": SANDBOX_STRIPE_KEYS["test"],
    "STRIPE_LIVE_SECRET_KEY": SANDBOX_STRIPE_KEYS["live"],
}
"""What a plan against the served sandbox needs set (`--sandbox` defaults them itself)."""
STOP_POLL_SECONDS = 0.1
"""How often `serve` looks whether Ctrl-C or SIGTERM came: its handler only records it."""

F = TypeVar("F", bound=Callable[..., Any])


def _dir_option(command: F) -> F:
    return click.option(
        "--dir",
        "directory",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Sandbox state directory [default: $LICENZY_SYNC_SANDBOX_DIR or "
        ".licenzy-sync/sandbox].",
    )(command)


def _open(state: Path) -> Sandbox:
    try:
        return Sandbox.open(state)
    except (OSError, sqlite3.Error) as exc:
        raise click.ClickException(f"Cannot open the sandbox state in {state}: {exc}") from None


@click.group("sandbox")
def sandbox() -> None:
    """Local Stripe and Licenzy emulators, for trying licenzy-sync and for tests."""


@sandbox.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port on 127.0.0.1; 0 picks a free one.",
)
@_dir_option
def serve(port: int, directory: Path | None) -> None:
    """Serve both emulators on 127.0.0.1 until Ctrl-C."""
    state = sandbox_dir(directory)
    box = _open(state)
    try:
        server = SandboxServer(box, port)
    except OSError as exc:
        box.store.close()
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"Port {port} on {LOOPBACK} is already in use; choose another with --port "
                "(--port 0 picks a free one)."
            ) from None
        raise click.ClickException(f"Cannot listen on {LOOPBACK}:{port}: {exc.strerror}.") from None
    caught: list[str] = []
    # Handlers and the listener are in place before the banner: whoever reads "Press Ctrl-C"
    # may signal at once.
    with on_stop_signals(caught.append):
        server.start()
        try:
            _banner(server.base_url, state, box)
            while not caught:
                time.sleep(STOP_POLL_SECONDS)
        finally:
            server.stop()
            follow_licenzy(box, LICENZY_BASE)
            box.store.close()
    click.echo("Sandbox stopped.")


def _banner(base: str, state: Path, box: Sandbox) -> None:
    """Where the sandbox listens and how to point licenzy-sync at it."""
    moved = follow_licenzy(box, f"{base}/licenzy")
    click.echo(f"Sandbox listening on {base} (state in {state})")
    for mode, endpoint_id in moved:
        click.echo(f"  the hand-made {mode} endpoint {endpoint_id} (seeded) now delivers here")
    click.echo(f"  Stripe:  {base}/stripe")
    click.echo(f"  Licenzy: {base}/licenzy")
    click.echo(
        "Point licenzy-sync at it, with the sandbox's keys in the variables of the starter "
        "`licenzy-sync init` writes:"
    )
    click.echo(f"  export LICENZY_URL={base}/licenzy")
    click.echo(f"  export LICENZY_SYNC_STRIPE_API_BASE={base}/stripe")
    for name, value in STARTER_VARIABLES.items():
        click.echo(f"  export {name}={value}")
    click.echo(
        f"Defaults: portal token {SANDBOX_PORTAL_TOKEN}, project {SANDBOX_PROJECT_ID} "
        f"(runtime keys once seeded: {SANDBOX_RUNTIME_KEYS['test']}, "
        f"{SANDBOX_RUNTIME_KEYS['live']}); Stripe keys "
        f"{', '.join(SANDBOX_STRIPE_KEYS.values())} (register others: POST /_sandbox/stripe/keys)."
    )
    click.echo("Press Ctrl-C to stop.")


@sandbox.command()
@_dir_option
def reset(directory: Path | None) -> None:
    """Delete everything in the sandbox and restore its defaults."""
    state = sandbox_dir(directory)
    box = _open(state)
    try:
        box.control.reset()
    finally:
        box.store.close()
    click.echo(f"Sandbox in {state} reset to its defaults.")


@sandbox.command()
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@_dir_option
def status(fmt: str, directory: Path | None) -> None:
    """Show how many objects of each kind the sandbox holds."""
    state = sandbox_dir(directory)
    box = _open(state)
    try:
        objects = box.control.object_counts()
    finally:
        box.store.close()
    if fmt == "json":
        click.echo(json.dumps({"directory": str(state), "objects": objects}, indent=2))
        return
    click.echo(f"Sandbox state in {state}")
    rows = [("KIND", "SCOPE", "COUNT")] + [
        (row["kind"], row["scope"], str(row["count"])) for row in objects
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for kind, scope, count in rows:
        click.echo(f"{kind:<{widths[0]}}  {scope:<{widths[1]}}  {count:>5}")


@sandbox.command("seed")
@click.option(
    "-c",
    "--config",
    "config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path, allow_dash=True),
    default=Path("licenzy.yaml"),
    show_default=True,
    help="The licenzy.yaml whose project, modes and prices to create (- reads stdin).",
)
@click.option(
    "--licenzy-url", envvar=LICENZY.env, default=LICENZY_BASE, show_default=True,
    help="Licenzy URL the hand-made (manage: false) tenant endpoints point at; `sandbox "
    "serve` moves them to its own URL while it runs.",
)
@_dir_option
def seed_command(config: Path, licenzy_url: str, directory: Path | None) -> None:
    """Create what a licenzy.yaml refers to: project, Stripe connections, API keys, prices,
    and the endpoints a person would have made by hand for `manage: false` modes."""
    state = sandbox_dir(directory)
    try:
        spec = spec_from_config(config, licenzy_url)
        box = _open(state)
        try:
            report = seed(box, spec)
        finally:
            box.store.close()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for line in report.skipped:
        click.echo(f"  skipped {line}", err=True)
    for line in report.moved:
        click.echo(f"  moved the hand-made {line}")
    if not report.created:
        click.echo(f"The sandbox in {state} already holds everything {config} refers to.")
        return
    click.echo(f"Seeded the sandbox in {state}:")
    for line in report.created:
        click.echo(f"  created {line}")

if __name__ == "__main__":
    sandbox()
