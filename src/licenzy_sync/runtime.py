"""Turning a loaded config into a run: which modes, which endpoints, which credentials.

Missing credentials and endpoints that may not receive them are reported all at once, before
any request is made.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.config.secrets import Secret, env_name, lookup
from licenzy_sync.endpoints import in_file, resolve
from licenzy_sync.errors import ConfigInvalid, LicenzySyncError
from licenzy_sync.findings import Finding
from licenzy_sync.keys import MODES, Mode
from licenzy_sync.rules import catalog as r
from licenzy_sync.targets import StripeTarget, Targets, Transports

TOKEN_PATH = ("licenzy", "token")


class Emulators(Protocol):
    """Stand-ins for Stripe and Licenzy that the command layer may choose instead of the
    network (the sandbox of `--sandbox`): how a run reaches them, and the credential an unset
    variable takes there."""

    portal_token: str

    def reach(self) -> tuple[Transports, str, str]:
        """The transports, the Licenzy URL and the Stripe API base of every mode."""
        ...

    def require_ready(self, loaded: LoadedConfig, modes: Sequence[Mode]) -> None:
        """Refuses (LicenzySyncError) a plan of ``loaded`` they were never set up for."""
        ...

    def stripe_key(self, mode: Mode) -> str: ...

    def runtime_key(self, mode: Mode, project: str) -> str:
        """The Licenzy runtime key of ``project`` (an id, or a config's project name)."""
        ...


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
    sandbox: Emulators | None,
    environ: Mapping[str, str] | None = None,
    runtime_keys: bool = False,
) -> Run:
    """Resolve every credential the run needs; with ``sandbox``, unset ones take its defaults.

    ``runtime_keys`` also resolves each mode's Licenzy runtime API key (for `verify`); the
    portal token is resolved only when the file uses the portal API.
    """
    env = os.environ if environ is None else environ
    config = loaded.config
    problems: list[Finding] = []

    def secret(ref: str, default: str | None, *path: str) -> Secret | None:
        """The variable's value; unset, ``default`` (the sandbox's) or a finding."""
        found = lookup(ref, env)
        if found is None and default is not None:
            return Secret(default, env_name(ref))
        if found is None:
            problems.append(
                r.ENV_MISSING.finding(
                    f"${{{env_name(ref)}}} is not set", ".".join(path), loaded.position(*path)
                )
            )
        return found

    token_ref = config.licenzy.token if config.licenzy.portal == "api" else None
    portal = None if sandbox is None else sandbox.portal_token
    token = None if token_ref is None else secret(token_ref, portal, *TOKEN_PATH)
    keys: dict[Mode, Secret | None] = {}
    lz_keys: dict[Mode, Secret | None] = {}
    for mode in modes:
        settings = config.modes.get(mode)
        assert settings is not None
        path = ("modes", mode, "stripe", "secret_key")
        stripe_key = None if sandbox is None else sandbox.stripe_key(mode)
        keys[mode] = secret(settings.stripe.secret_key, stripe_key, *path)
        if runtime_keys:
            lz_keys[mode] = _runtime_key(loaded, mode, secret, problems, sandbox)
    transports, licenzy_url, stripe_bases = _reach(loaded, modes, env, sandbox, problems)
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


def _reach(
    loaded: LoadedConfig,
    modes: list[Mode],
    environ: Mapping[str, str],
    sandbox: Emulators | None,
    refusals: list[Finding],
) -> tuple[Transports, str, dict[Mode, str]]:
    """How the run reaches Stripe and Licenzy: the sandbox the command chose, or the network
    at the endpoints the file and the environment name (see `endpoints`)."""
    if sandbox is not None:
        transports, licenzy_url, stripe_base = sandbox.reach()
        return transports, licenzy_url, dict.fromkeys(modes, stripe_base)
    licenzy_url, stripe_bases = endpoints(loaded, modes, environ, refusals)
    return Transports(), licenzy_url, stripe_bases


def _runtime_key(
    loaded: LoadedConfig,
    mode: Mode,
    secret: Callable[..., Secret | None],
    missing: list[Finding],
    sandbox: Emulators | None,
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
    default = None if sandbox is None else sandbox.runtime_key(mode, loaded.config.project)
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
