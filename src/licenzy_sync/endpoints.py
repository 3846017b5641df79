"""Where each credential may be sent, decided once, before the first request.

licenzy-sync runs in CI with live credentials in its environment, on a `licenzy.yaml` written by
whoever opens the pull request. So every credential has a home (the Stripe keys go to Stripe's
API, the portal token to Licenzy, the GitHub token to GitHub's API) and an endpoint other than
the public default is used only when it is:

- ``https://``, or ``http://`` to loopback (127.0.0.0/8, ::1, localhost: the sandbox, tests);
- without ``user:password@``, query or fragment, with a host and a valid port;
- when named in the file and not on loopback, confirmed by the environment (the same URL in the
  home's variable): the environment belongs to whoever runs the job, the file to whoever wrote
  the last commit. A loopback URL in the file needs no confirmation: it cannot reach the
  author of a pull request.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.findings import Finding, Position
from licenzy_sync.keys import Mode
from licenzy_sync.providers import safe_text
from licenzy_sync.rules import catalog as r

LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
_UNPRINTABLE = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True)
class Home:
    """A service that receives credentials, and the variable that may point elsewhere."""

    env: str
    default: str
    carries: str
    """The credentials it receives, as messages name them."""


LICENZY = Home("LICENZY_URL", "https://licenzy.app", "the Licenzy portal token")
STRIPE = Home("LICENZY_SYNC_STRIPE_API_BASE", "https://api.stripe.com", "the Stripe keys")
GITHUB = Home("GITHUB_API_URL", "https://api.github.com", "the GitHub token")


class EndpointRefused(LicenzySyncError):
    """An endpoint from the environment that may not receive the credentials (exit 1)."""


@dataclass(frozen=True)
class Named:
    """An endpoint written in the config file, and where."""

    url: str
    field: str
    position: Position | None


def in_file(
    loaded: LoadedConfig, modes: Iterable[Mode]
) -> Iterator[tuple[Home, Mode | None, Named | None]]:
    """Every endpoint the file may name: Licenzy's (no mode), then each mode's Stripe API base;
    None where the file names none."""

    def named(url: str | None, *path: str) -> Named | None:
        return None if url is None else Named(url, ".".join(path), loaded.position(*path))

    config = loaded.config
    yield LICENZY, None, named(config.licenzy.url, "licenzy", "url")
    for mode in modes:
        settings = config.modes.get(mode)
        assert settings is not None
        yield STRIPE, mode, named(settings.stripe.api_base, "modes", mode, "stripe", "api_base")


def display(url: str) -> str:
    """The URL as messages may show it: never userinfo, query or fragment, nor anything
    credential-shaped (a key pasted into the wrong variable), never control characters."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host:
        bare = url.rsplit("@", maxsplit=1)[-1].partition("?")[0].partition("#")[0]
        return _UNPRINTABLE.sub("?", safe_text(bare))[:80] or "(empty)"
    host = f"[{host}]" if ":" in host else host
    shown = f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}".rstrip("/")
    return _UNPRINTABLE.sub("?", safe_text(shown))


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost; names other than localhost are not resolved (a DNS
    answer is the very thing an attacker would control)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def on_loopback(url: str) -> bool:
    """True for a well-formed URL whose host is loopback: reached directly, never through a
    proxy from the environment, which could be another machine."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return host is not None and is_loopback(host)


def flaw(url: str) -> tuple[str, str] | None:
    """(what is wrong, how to fix it) when ``url`` may not receive a credential, else None."""
    if _UNPRINTABLE.search(url):
        return "contains spaces or control characters", "remove them"
    if "\\" in url:
        return "contains a backslash", "write the URL with forward slashes only"
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return "is not a valid URL", "give a URL such as https://host[:port][/path]"
    if parts.scheme.lower() not in ("http", "https"):
        return "is not an http(s) URL", "use an https:// URL"
    if "@" in parts.netloc:
        return "carries a user name or password", "remove the user:password@ part"
    if not parts.hostname:
        return "names no host", "give a URL such as https://host[:port][/path]"
    if not port_ok:
        return "has an invalid port", "give a port from 1 to 65535"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "has a query or fragment", "give the base URL only"
    if parts.scheme.lower() == "http" and not is_loopback(parts.hostname):
        return (
            "is plain http to a host outside loopback",
            "use https:// (http:// is only for 127.0.0.0/8, ::1 and localhost)",
        )
    return None


URL_PATTERN = (
    r"^(?:[Hh][Tt][Tt][Pp][Ss]://[^/?#@\\\s]+"
    r"|[Hh][Tt][Tt][Pp]://(?:localhost|127(?:\.[0-9]{1,3}){3}|\[::1\])(?::[0-9]{1,5})?)"
    r"(?:/[^?#\\\s]*)?$"
)
"""`flaw` as far as a regular expression can say it, for the JSON Schema editors check with:
https, or http to loopback; no user:password@, query, fragment, space or backslash."""


def _same(a: str, b: str) -> bool:
    """Equal up to a trailing slash and the case of scheme and host."""
    first, second = urlsplit(a.rstrip("/")), urlsplit(b.rstrip("/"))
    return (first.scheme.lower(), first.netloc.lower(), first.path) == (
        second.scheme.lower(),
        second.netloc.lower(),
        second.path,
    )


def refusal(home: Home, url: str, source: str) -> str | None:
    """The one-line refusal of ``url`` (from ``source``) for ``home``, or None."""
    found = flaw(url)
    if found is None:
        return None
    problem, fix = found
    return (
        f"{source}={display(url)} {problem}: {home.carries} may not be sent there; {fix} "
        f"(default {home.default})"
    )


def from_environment(home: Home, environ: Mapping[str, str]) -> str | None:
    """The home's URL from its variable, None when unset; refused (exit 1) when unusable."""
    value = environ.get(home.env, "").strip()
    if not value:
        return None
    message = refusal(home, value, home.env)
    if message is not None:
        raise EndpointRefused(message)
    return value.rstrip("/")


def unusable(home: Home, named: Named) -> Finding | None:
    """LZ024 when the file names a URL no credential may go to, whatever the environment says:
    found offline, so `validate` reports it too."""
    found = flaw(named.url)
    if found is None:
        return None
    problem, fix = found
    return r.ENDPOINT_UNUSABLE.finding(
        f"'{display(named.url)}' {problem}; {home.carries} may not be sent there",
        named.field,
        named.position,
        hint=fix,
    )


def resolve(home: Home, environ: Mapping[str, str], named: Named | None) -> str | Finding:
    """The URL the home's credentials go to, or the finding that refuses the file's URL.

    The environment wins over the file as ever; a URL the file names is refused when it is
    unusable (LZ024), or when it leaves loopback without the environment naming it too (LZ025).
    """
    from_env = from_environment(home, environ)
    if named is None:
        return from_env or home.default
    refused = unusable(home, named)
    if refused is not None:
        return refused
    if _same(named.url, home.default):
        return from_env or home.default
    if on_loopback(named.url):
        return from_env or named.url.rstrip("/")
    if from_env is not None and _same(from_env, named.url):
        return from_env
    why = "is not set" if from_env is None else f"names {display(from_env)}"
    return r.ENDPOINT_UNCONFIRMED.finding(
        f"'{display(named.url)}' would receive {home.carries}, but {home.env} {why}; "
        f"a URL in the file is used only when {home.env} names it too",
        named.field,
        named.position,
        hint=f"set {home.env}={display(named.url)} where the job's secrets are set, or remove "
        f"`{named.field}` to use {home.default}",
    )
