"""How licenzy-sync presents itself to Stripe: the API version it was tested against and who
is calling.

The version is pinned here, not taken from the SDK, so that a minor SDK upgrade within
``stripe>=16,<17`` cannot silently change the shapes of Stripe's answers; a test fails when
the installed SDK pins another version, which is the moment to re-test and move this pin.
Stripe asks libraries and plugins to identify themselves with app info (name, version, URL),
which it shows in its logs and uses to reach integrators about changes.

The SDK's own telemetry is off: it would write an id to ``~/.config/stripe`` (a CI runner's
home, on a `--sandbox` run too), run ``uname`` in a subprocess before the first request, and
report each request's timing to Stripe. A tool that runs in CI with live keys writes only the
files it is asked to, and the app info above still says who calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from licenzy_sync import __version__

if TYPE_CHECKING:
    import stripe

STRIPE_API_VERSION = "2026-10-28.endive"
"""Sent as ``Stripe-Version`` on every request."""
APP_NAME = "licenzy-sync"
APP_URL = "https://licenzy.app"


def new_client(
    api_key: str, api_base: str, http_client: stripe.HTTPClient
) -> stripe.StripeClient:
    """A client with the pinned version, our app info and the SDK's own retries off (every
    call goes through the run's `Channel`)."""
    from licenzy_sync.lean_imports import stripe

    if stripe.app_info is None or stripe.app_info.get("name") != APP_NAME:
        stripe.set_app_info(APP_NAME, version=__version__, url=APP_URL)
    stripe.enable_telemetry = False
    return sdk_client()(
        api_key,
        base_addresses={"api": api_base},
        http_client=http_client,
        max_network_retries=0,
        stripe_version=STRIPE_API_VERSION,
    )


def sdk_client() -> type[stripe.StripeClient]:
    """The SDK's client class, which the SDK imports the first time it is named: 13-26 ms
    of modules on a 2-core CI machine, spent by the first Stripe reader before its first
    request unless the command has named it earlier, with time to spare
    (`workflow.load_checked`)."""
    from licenzy_sync.lean_imports import stripe

    return stripe.StripeClient
