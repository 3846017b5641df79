"""The shared HTTP exchange on good answers: compressed bodies are decoded, proxies chosen
from the standard variables, loopback never proxied."""

from __future__ import annotations

import gzip
import json
import ssl
import zlib
from typing import Any

import httpx
import pytest

from licenzy_sync.config.secrets import Secret
from licenzy_sync.providers import wire
from licenzy_sync.providers.licenzy_client import LicenzyClient
from licenzy_sync.targets import Transports
from tests.providers.test_hostile_servers import PORTAL_TOKEN, Hostile, answer, channels

PAGE = json.dumps({"data": [{"id": "proj_x", "name": "x"}], "next_cursor": None}).encode()


ENCODED = {"gzip": gzip.compress(PAGE, mtime=0), "deflate": zlib.compress(PAGE), "identity": PAGE}


@pytest.mark.parametrize("coding", list(ENCODED))
def test_a_compressed_answer_is_decoded(coding: str) -> None:
    server = Hostile(answer(200, ENCODED[coding], Content_Encoding=coding))
    try:
        token = Secret(PORTAL_TOKEN, "LICENZY_PORTAL_TOKEN")
        with LicenzyClient(server.base, token, channels(), Transports()) as client:
            assert client.resolve_project("proj_x").name == "x"
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("url", "no_proxy", "expected"),
    [
        ("https://api.stripe.com", "", "http://proxy.internal:3128"),
        ("https://api.stripe.com", "stripe.com", None),
        ("http://127.0.0.1:8000", "", None),
        ("http://localhost:8000", "", None),
        ("http://[::1]:8000", "", None),
    ],
)
def test_proxies_come_from_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch, url: str, no_proxy: str, expected: str | None
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")
    monkeypatch.setenv("http_proxy", "http://proxy.internal:3128")
    monkeypatch.setenv("no_proxy", no_proxy)
    assert wire._proxy_for(httpx.URL(url)) == expected


def test_a_plain_http_endpoint_does_not_load_the_certificate_store() -> None:
    """Loading it costs ~45 ms before a sandbox run's first request, for TLS that never
    happens on loopback HTTP."""
    wire._tls.cache_clear()
    wire.client("Licenzy", "http://127.0.0.1:9/licenzy", {}).close()
    assert wire._tls.cache_info().currsize == 0
    wire.client("Stripe", "https://api.stripe.com", {}).close()
    assert wire._tls.cache_info().currsize == 1


def test_the_context_of_a_plain_http_endpoint_trusts_no_certificate() -> None:
    """Were TLS ever negotiated on it, no certificate would pass: it fails closed."""
    context = wire.tls_for(httpx.URL("http://127.0.0.1:9"))
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
    assert wire.tls_for(httpx.URL("https://api.stripe.com")).cert_store_stats()["x509_ca"] > 0


def test_a_client_that_follows_no_redirect_sends_straight_to_its_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`httpx.Client.send`'s bookkeeping (auth flow, redirect loop, hooks) is a quarter of a
    millisecond a request that such a client never needs; a cookie the answer sets is still
    sent back."""
    seen: list[str | None] = []

    def serve(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "session=1; Path=/"}, content=PAGE)

    def not_sent(*args: object, **kwargs: object) -> None:
        raise AssertionError("sent through httpx.Client.send")

    client = wire.client("Licenzy", "http://127.0.0.1:9", {}, transport=httpx.MockTransport(serve))
    monkeypatch.setattr(httpx.Client, "send", not_sent)
    for _ in range(2):
        response = wire.exchange(client, client.build_request("GET", "/p"), system="Licenzy")
        assert (response.status_code, response.content) == (200, PAGE)
    assert seen == [None, "session=1"]


def test_a_client_that_follows_redirects_still_sends_through_httpx() -> None:
    """Its hook refuses a redirect to another origin; `httpx.Client.send` runs it."""
    sent: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "http://127.0.0.2:9/new"})
        return httpx.Response(200, content=PAGE)

    client = wire.client(
        "GitHub",
        "http://127.0.0.1:9",
        {},
        transport=httpx.MockTransport(serve),
        follow_same_origin=True,
    )
    with pytest.raises(wire.WireError, match="redirected to another host"):
        wire.exchange(client, client.build_request("GET", "/old"), system="GitHub")
    assert sent == ["http://127.0.0.1:9/old"]


def test_the_straight_path_needs_no_private_transport_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The client keeps its one transport itself: an httpx release that renames its private
    lookup (`httpx.Client.send` uses it) still gets the straight path."""
    client = wire.client("Licenzy", "http://127.0.0.1:9", {}, transport=_serving(PAGE))
    monkeypatch.delattr(httpx.Client, "_transport_for_url")

    response = wire.exchange(client, client.build_request("GET", "/p"), system="Licenzy")

    assert (response.status_code, response.content) == (200, PAGE)


def test_without_httpx_s_private_redirect_check_a_redirect_is_still_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The straight path checks a Location as `send` does, with httpx's private method; a
    release without it gets the redirect refused as such, never a crash."""
    moved = _serving(b"", 302, Location="http://127.0.0.1:9/new")
    client = wire.client("Licenzy", "http://127.0.0.1:9", {}, transport=moved)
    monkeypatch.delattr(httpx._client.BaseClient, "_build_redirect_request")

    with pytest.raises(wire.WireError, match="redirects are not followed"):
        wire.exchange(client, client.build_request("GET", "/p"), system="Licenzy")


def test_an_httpcore_that_keeps_its_network_backend_elsewhere_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every read is bounded by the attempt's deadline through the backend set on httpcore's
    pool, a private attribute: in a release that renamed it, setting it would only add an
    attribute nothing reads, and reads would wait unbounded. Refusing is the safe way."""
    from licenzy_sync.lean_imports import httpcore

    made = httpcore.ConnectionPool.__init__

    def renamed(pool: httpcore.ConnectionPool, *args: Any, **kwargs: Any) -> None:
        made(pool, *args, **kwargs)
        pool._backend = vars(pool).pop("_network_backend")

    monkeypatch.setattr(httpcore.ConnectionPool, "__init__", renamed)

    with pytest.raises(wire.WireError, match=r"httpcore .* not supported"):
        wire.client("Stripe", "https://api.stripe.com", {})


def _serving(content: bytes, status: int = 200, **headers: str) -> httpx.MockTransport:
    return httpx.MockTransport(lambda _: httpx.Response(status, headers=headers, content=content))


@pytest.mark.parametrize("follow_same_origin", [False, True])
def test_a_redirect_to_an_unusable_location_is_a_failed_exchange_either_way(
    follow_same_origin: bool,
) -> None:
    """As `httpx.Client.send` reports it: no answer, so another attempt may fare better."""

    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://[::1"})

    client = wire.client(
        "Licenzy",
        "http://127.0.0.1:9",
        {},
        transport=httpx.MockTransport(serve),
        follow_same_origin=follow_same_origin,
    )
    with pytest.raises(wire.Unanswered, match="connection failed"):
        wire.exchange(client, client.build_request("GET", "/p"), system="Licenzy", redirects=True)
