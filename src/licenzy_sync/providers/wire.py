"""One HTTP exchange, the same for Stripe, Licenzy and GitHub: bounded in time and size.

Every socket operation is cut to what is left of the attempt (see `deadline`), so a server
that trickles one byte a second or never answers cannot hold a run; answers are capped before
and after decompression; a redirect to another host is an error, never followed (the answer
of another host must not pass for the system's); and a body that is not JSON is reported as
such. httpx is imported here at module level: this module is only imported where a client is
made, never by the CLI's startup path; httpcore (with h11) only when a client reaches the
network, which an in-process sandbox never does.
"""

from __future__ import annotations

import functools
import json
import urllib.request
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from licenzy_sync.endpoints import is_loopback
from licenzy_sync.lean_imports import httpx
from licenzy_sync.providers import ProviderError, deadline, safe_text
from licenzy_sync.providers.network import connect_timeout, request_timeout

if TYPE_CHECKING:
    import ssl

MAX_BODY = 16 * 1024 * 1024
"""Bytes an answer may have, as sent and decompressed: the largest real page (100 prices,
100 GitHub comments) is a few MiB at most."""
ACCEPT_ENCODING = "gzip, deflate"
"""The codings we decode ourselves, under the cap."""
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class WireError(ProviderError):
    """An answer that cannot be used: too large, badly encoded, a redirect, not JSON."""


class Unanswered(Exception):
    """No (complete) answer within the attempt's time, or the connection failed: another
    attempt may fare better. ``reason`` is fit to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _proxy_for(url: httpx.URL) -> str | None:
    """The proxy the standard variables name for ``url`` (HTTPS_PROXY, NO_PROXY, ...);
    never one for loopback, where the sandbox and tests live."""
    if not url.host or is_loopback(url.host):
        return None
    if urllib.request.proxy_bypass(url.host):
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    return proxy if proxy and proxy.startswith(("http://", "https://")) else None


@functools.cache
def _tls() -> ssl.SSLContext:
    """One certificate store per process: loading it costs about a tenth of a second, and
    a run makes a client per Stripe mode, Licenzy and GitHub."""
    return httpx.create_ssl_context()


def tls_for(url: httpx.URL) -> ssl.SSLContext:
    """The certificate store for an https endpoint. A plain-HTTP one (loopback only, see
    `endpoints`: the sandbox, tests) never negotiates TLS, so it gets a context that trusts
    no certificate instead of the store, which costs ~45 ms to load before the first request;
    if it ever did negotiate, it would fail closed."""
    if url.scheme == "https":
        return _tls()
    import ssl  # only a client that reaches the network needs it: not an in-process sandbox

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _transport(base_url: str) -> httpx.HTTPTransport:
    from licenzy_sync.providers.sockets import Backend

    url = httpx.URL(base_url)
    transport = httpx.HTTPTransport(verify=tls_for(url), proxy=_proxy_for(url))
    # httpx has no public way to hand httpcore a network backend; the pool (direct or
    # through a proxy) creates every connection with this attribute. Set where a release
    # no longer reads it, it would leave every read unbounded: such a release is refused.
    pool = transport._pool
    if not hasattr(pool, "_network_backend"):
        from licenzy_sync.lean_imports import httpcore

        raise WireError(
            f"httpcore {httpcore.__version__} is not supported: its connection pool takes "
            "no network backend, so reads could not be bounded by the deadline"
        )
    pool._network_backend = Backend()
    return transport


def client(
    system: str,
    base_url: str,
    headers: Mapping[str, str],
    *,
    transport: httpx.BaseTransport | None = None,
    follow_same_origin: bool = False,
) -> httpx.Client:
    """An httpx client for ``system`` ("Licenzy"). ``transport`` replaces the network (the
    sandbox's in-process transport, tests); ``follow_same_origin`` follows redirects that stay
    on ``base_url``'s scheme, host and port (GitHub's renamed repositories) and no others."""
    origin = httpx.URL(base_url)

    def same_origin_only(request: httpx.Request) -> None:
        if (request.url.scheme, request.url.host, request.url.port) != (
            origin.scheme,
            origin.host,
            origin.port,
        ):
            raise WireError(
                f"{system}: {request.method} {request.url.path} was redirected to another host "
                f"({_host(str(request.url))}); not following it"
            )

    return _Client(
        base_url=base_url,
        headers={**headers, "Accept-Encoding": ACCEPT_ENCODING},
        transport=transport or _transport(base_url),
        timeout=httpx.Timeout(None, connect=connect_timeout(), pool=request_timeout()),
        follow_redirects=follow_same_origin,
        event_hooks={"request": [same_origin_only]} if follow_same_origin else None,
    )


class _Client(httpx.Client):
    """An httpx client that keeps the one transport it was given, where every request of
    it goes (httpx mounts no proxy of the environment beside a given transport)."""

    def __init__(self, *, transport: httpx.BaseTransport, **settings: Any) -> None:
        super().__init__(transport=transport, **settings)
        self.only_transport = transport


def exchange(
    client: httpx.Client, request: httpx.Request, *, system: str, redirects: bool = False
) -> httpx.Response:
    """Send ``request`` and read its whole answer within the attempt's deadline.

    ``redirects=True`` hands a redirect back to the caller, unfollowed, for one that knows
    where the Location may lead (GitHub's artifact storage); otherwise it is an error.

    Returns the answer with its body read and decoded. Raises `Unanswered` (retry may help),
    `deadline.DeadlineExceeded` when the command's deadline ended the wait, or `WireError`.
    ``httpx.InvalidURL`` and ``httpx.UnsupportedProtocol`` pass through for the caller to
    explain its URL setting.
    """
    label = f"{system}: {request.method} {request.url.path}"
    with deadline.attempt(label) as attempt:
        try:
            response = _sent(client, request, False if redirects else client.follow_redirects)
            try:
                body = _body(response, label)
            finally:
                response.close()
        except httpx.UnsupportedProtocol:
            raise
        except httpx.TimeoutException:
            if attempt.by_command:
                raise deadline.exceeded(f"waiting for {label}") from None
            took = attempt.ends - attempt.started
            raise Unanswered(f"no complete answer within {took:g} s") from None
        except httpx.TransportError:
            raise Unanswered("no answer (connection failed)") from None
    if 300 <= response.status_code < 400 and not redirects:
        raise redirected(label, response)
    kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _BODY_HEADERS]
    return httpx.Response(response.status_code, headers=kept, content=body, request=request)


def _sent(client: httpx.Client, request: httpx.Request, follow: bool) -> httpx.Response:
    """The streamed answer to ``request``: through ``client.send`` when the client has
    something for it to do (follow a redirect, run a hook, authenticate, refuse because it
    is closed), else straight from the client's transport, without its redirect loop, auth
    flow and bookkeeping: ~0.2 ms less a request, on the critical path of sequential paging.
    The timeout is the request's own (`httpx.Client.build_request`), transport errors are
    httpx's either way, and a cookie or redirect is handled as the client would handle it
    (an unusable Location is an error, as in `send`, while httpx's private method that
    checks it is there: a release without it only gets the redirect refused as such)."""
    transport: httpx.BaseTransport | None = getattr(client, "only_transport", None)
    if (
        transport is None
        or follow
        or client.auth is not None
        or any(client.event_hooks.values())
        or client.is_closed
    ):
        return client.send(request, stream=True, follow_redirects=follow)
    response = transport.handle_request(request)
    response.request = request
    try:
        if "set-cookie" in response.headers:
            client.cookies.extract_cookies(response)
        if response.has_redirect_location:
            redirect_for = getattr(client, "_build_redirect_request", None)
            if redirect_for is not None:  # as send does: an unusable Location is an error
                response.next_request = redirect_for(request, response)
    except BaseException:
        response.close()
        raise
    return response


def redirected(label: str, response: httpx.Response) -> WireError:
    """The error a redirect becomes: where it led (the host only), never followed."""
    return WireError(
        f"{label} answered HTTP {response.status_code}, a redirect to "
        f"{_host(response.headers.get('location', ''))}; redirects are not followed"
    )


def _body(response: httpx.Response, label: str) -> bytes:
    """The decoded body. An in-process transport hands over one already read."""
    if response.is_stream_consumed:
        if len(response.content) > MAX_BODY:
            raise _too_large(label, "is")
        return response.content
    raw = _read(response, label)
    return _decode(raw, response.headers.get("content-encoding", ""), label)


def _read(response: httpx.Response, label: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large(label, "is")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        size += len(chunk)
        if size > MAX_BODY:
            raise _too_large(label, "is")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes, coding: str, label: str) -> bytes:
    """The body without its Content-Encoding, never more than `MAX_BODY` bytes of it: a
    small gzip bomb must not become gigabytes in memory."""
    coding = coding.strip().lower()
    if coding in ("", "identity"):
        return raw
    if coding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif coding == "deflate":
        wbits = zlib.MAX_WBITS if raw[:1] == b"\x78" else -zlib.MAX_WBITS
    else:
        raise WireError(f"{label} answered in an encoding not asked for ({safe_text(coding)[:40]})")
    try:
        body = zlib.decompressobj(wbits).decompress(raw, MAX_BODY + 1)
    except zlib.error:
        raise WireError(f"{label} answered with a {coding} body that does not decompress") from None
    if len(body) > MAX_BODY:
        raise _too_large(label, "decompresses to")
    return body


def _too_large(label: str, verb: str) -> WireError:
    return WireError(
        f"{label}: the answer {verb} more than {MAX_BODY // (1024 * 1024)} MiB; not reading it"
    )


def _host(url: str) -> str:
    """Only the host of a URL (no userinfo, path or query), fit to show."""
    try:
        host = httpx.URL(url).host
    except httpx.InvalidURL:
        host = ""
    return safe_text(host)[:100] or "an unreadable location"


def json_body(response: httpx.Response, what: str, hint: str = "") -> Any:
    """The answer's JSON (None when empty); an HTML page or other text is a clear error."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        pass
    html = "html" in response.headers.get("content-type", "").lower() or (
        response.content.lstrip()[:1] == b"<"
    )
    kind = "an HTML page" if html else "a body that is not JSON"
    raise WireError(
        f"{what} answered HTTP {response.status_code} with {kind}" + (f" {hint}" if hint else "")
    )

