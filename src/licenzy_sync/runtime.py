"""Turning a loaded config into a run: which modes, which endpoints, which credentials.

Missing credentials and endpoints that may not receive them are reported all at once, before
any request is made.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.config.secrets import Secret, env_name, lookup
from licenzy_sync.endpoints import in_file, resolve
from licenzy_sync.errors import ConfigInvalid, LicenzySyncError
from licenzy_sync.findings import Finding
from licenzy_sync.keys import MODES, Mode
from licenzy_sync.rules import catalog as r
from licenzy_sync.targets import StripeTarget, Targets, Transports

SANDBOX_PORTAL_TOKEN = "lzp_sandbox"
SANDBOX_STRIPE_KEYS: dict[Mode, str] = {"test": "sk_test_sandbox", "live": "sk_live_sandbox"}
SANDBOX_PROJECT_ID = "proj_sandbox"
SANDBOX_RUNTIME_KEYS: dict[Mode, str] = {"test": "lz_test_sandbox", "live": "lz_live_sandbox"}
"""Licenzy runtime API keys seeding gives the sandbox's default project."""
TOKEN_PATH = ("licenzy", "token")


def sandbox_project_id(project: str) -> str:
    """The id of a config's ``project`` (an id, or a name) in the sandbox, where seeding a
    project by name derives its id from the name; ``proj_`` alone for a name without letters
    or digits."""
    if project.startswith("proj_"):
        return project
    return "proj_" + re.sub(r"[^a-z0-9]+", "_", project.lower()).strip("_")


def sandbox_runtime_key(mode: Mode, project: str) -> str:
    """The runtime key the sandbox gives a project (an id, or a config's project name): the
    default project has the bare known key, any other one the known key followed by its id
    without ``proj_`` (``lz_test_sandbox_acme`` for ``proj_acme`` or a project named Acme)."""
    project_id = sandbox_project_id(project)
    if project_id == SANDBOX_PROJECT_ID:
        return SANDBOX_RUNTIME_KEYS[mode]
    return f"{SANDBOX_RUNTIME_KEYS[mode]}_{project_id.removeprefix('proj_')}"


@dataclass(frozen=True)
class Run:
    targets: Targets
    transports: Transports
    modes: list[Mode]
    secrets: Mapping[str, Secret] = field(default_factory=dict)
    """The configured secrets the run writes (`webhook.secret`), resolved once, by variable
    name; an unset one is absent (the plan reports what that means)."""


def select_modes(loaded: LoadedConfig, requested: str) -> list[Mode]:
    declared = loaded.config.modes.declared()
    if requested == "all":
        return declared
    if requested not in declared:
        raise LicenzySyncError(
            f"--mode {requested}: {loaded.path} declares no `modes.{requested}` block "
            f"(declared: {', '.join(declared) or 'none'})"
        )
    return [mode for mode in MODES if mode == requested]


def prepare(
    loaded: LoadedConfig,
    modes: list[Mode],
    *,
    sandbox: bool,
    environ: Mapping[str, str] | None = None,
    runtime_keys: bool = False,
) -> Run:
    """Resolve every credential the run needs; with --sandbox, unset ones take its defaults.

    ``runtime_keys`` also resolves each mode's Licenzy runtime API key (for `verify`); the
    portal token is resolved only when the file uses the portal API.
    """
    env = os.environ if environ is None else environ
    config = loaded.config
    problems: list[Finding] = []

    def secret(ref: str, sandbox_default: str, *path: str) -> Secret | None:
        found = lookup(ref, env)
        if found is None and sandbox:
            return Secret(sandbox_default, env_name(ref))
        if found is None:
            problems.append(
                r.ENV_MISSING.finding(
                    f"${{{env_name(ref)}}} is not set", ".".join(path), loaded.position(*path)
                )
            )
        return found

    token_ref = config.licenzy.token if config.licenzy.portal == "api" else None
    token = None if token_ref is None else secret(token_ref, SANDBOX_PORTAL_TOKEN, *TOKEN_PATH)
    keys: dict[Mode, Secret | None] = {}
    lz_keys: dict[Mode, Secret | None] = {}
    for mode in modes:
        settings = config.modes.get(mode)
        assert settings is not None
        path = ("modes", mode, "stripe", "secret_key")
        keys[mode] = secret(settings.stripe.secret_key, SANDBOX_STRIPE_KEYS[mode], *path)
        if runtime_keys:
            lz_keys[mode] = _runtime_key(loaded, mode, secret, problems)
    if sandbox:
        from licenzy_sync.sandbox.inprocess import sandbox_transports

        transports, licenzy_url, stripe_base = sandbox_transports()
        stripe_bases = dict.fromkeys(modes, stripe_base)
    else:
        transports = Transports()
        licenzy_url, stripe_bases = endpoints(loaded, modes, env, problems)
    if problems:
        raise ConfigInvalid(problems)
    stripe_targets = {
        mode: StripeTarget(mode, stripe_bases[mode], key, key.env_name)
        for mode, key in keys.items()
        if key is not None
    }
    resolved = {mode: key for mode, key in lz_keys.items() if key is not None}
    targets = Targets(config.project, licenzy_url, token, stripe_targets, resolved)
    return Run(targets, transports, modes, _webhook_secrets(loaded, modes, env))


def _webhook_secrets(
    loaded: LoadedConfig, modes: list[Mode], environ: Mapping[str, str]
) -> dict[str, Secret]:
    """The set `webhook.secret` values of the modes, by variable name: apply writes them."""
    refs = [settings.webhook.secret for settings in map(loaded.config.modes.get, modes) if settings]
    found = [lookup(ref, environ) for ref in refs if ref]
    return {secret.env_name: secret for secret in found if secret is not None}


def _runtime_key(
    loaded: LoadedConfig,
    mode: Mode,
    secret: Callable[..., Secret | None],
    missing: list[Finding],
) -> Secret | None:
    """The mode's runtime key; a block without ``licenzy.api_key`` is reported like an unset
    variable, at the block, since nothing can be verified without it."""
    settings = loaded.config.modes.get(mode)
    assert settings is not None
    if settings.licenzy is None:
        missing.append(
            r.RUNTIME_KEY_MISSING.finding(
                f"`modes.{mode}` has no `licenzy.api_key`",
                f"modes.{mode}.licenzy.api_key",
                loaded.position("modes", mode),
            )
        )
        return None
    path = ("modes", mode, "licenzy", "api_key")
    default = sandbox_runtime_key(mode, loaded.config.project)
    return secret(settings.licenzy.api_key, default, *path)


def endpoints(
    loaded: LoadedConfig, modes: list[Mode], environ: Mapping[str, str], refusals: list[Finding]
) -> tuple[str, dict[Mode, str]]:
    """The Licenzy URL and each mode's Stripe API base; a URL in the file that may not receive
    the credentials adds its finding to ``refusals`` (the caller raises them all at once)."""
    licenzy_url = ""
    stripe_bases: dict[Mode, str] = {}
    for home, mode, named in in_file(loaded, modes):
        chosen = resolve(home, environ, named)
        if isinstance(chosen, Finding):
            refusals.append(chosen)
            chosen = ""
        if mode is None:
            licenzy_url = chosen
        else:
            stripe_bases[mode] = chosen
    return licenzy_url, stripe_bases
