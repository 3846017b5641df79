"""The sockets every real HTTP exchange uses: each read and write ends by the running
attempt's deadline (`deadline`), however slowly a server trickles. Imported only when a client
reaches the network, as it brings httpcore and h11 along."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from licenzy_sync.lean_imports import httpcore
from licenzy_sync.providers import deadline


class Stream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the attempt's deadline; a read
    that waits long says so on stderr every `deadline.ANNOUNCE_EVERY` seconds."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        attempt = deadline.current()
        if attempt is None:
            return self._inner.read(max_bytes, timeout)
        while True:
            left = attempt.left()
            if left <= 0:
                raise httpcore.ReadTimeout("the attempt's time is up")
            try:
                return self._inner.read(max_bytes, max(0.001, min(left, attempt.announce_due())))
            except httpcore.ReadTimeout:
                if attempt.left() <= 0:
                    raise
                if attempt.announce_due() <= 0:
                    attempt.announce()

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return Stream(self._inner.start_tls(ssl_context, server_hostname, bounded(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.connect_tcp(
            host, port, bounded(timeout), local_address, socket_options
        )
        return Stream(inner)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return Stream(self._inner.connect_unix_socket(path, bounded(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bounded(timeout: float | None) -> float | None:
    """``timeout`` cut to what is left of the running attempt (an already spent attempt
    gets an instant timeout, which httpcore reports as such)."""
    attempt = deadline.current()
    if attempt is None:
        return timeout
    left = max(0.0, attempt.left())
    return left if timeout is None else min(timeout, left)
