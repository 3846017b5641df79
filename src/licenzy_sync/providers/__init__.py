"""The only modules that talk to Stripe and Licenzy; everything else works on `state`.

Shared here: the error every provider failure becomes, text scrubbing for anything a remote
system wrote, and the small fan-out helper the readers use (the fingerprint of a normalised
object is `state.Fingerprinted`). Only `wire` and `stripe_http` import httpx and the stripe
SDK at module level, and they are imported where a client is made, so the CLI starts without
them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from licenzy_sync import redact
from licenzy_sync.errors import LicenzySyncError

if TYPE_CHECKING:
    from concurrent.futures import Future

    import httpx

T = TypeVar("T")

_KEY_SHAPED = re.compile(
    r"\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9*]+|\b(?:whsec|lzp)_[A-Za-z0-9*]+"
)
"""Credential-shaped tokens, masked or not: Stripe quotes keys as ``sk_test_****abcd``."""


class ProviderError(LicenzySyncError):
    """Stripe or Licenzy could not be read (or written): bad credentials, an unexpected answer,
    or failures that outlasted the retry budget. The message names the system, the mode and
    the credential's variable, never a credential."""


class DeadlineExceeded(ProviderError):
    """The command's deadline (LICENZY_SYNC_DEADLINE) ran out; whatever was in flight was
    abandoned. Callers that can say what was done (apply) catch it to add that."""


class HttpOwner:
    """A client that owns one httpx client: closing it closes that, and a ``with`` block
    closes it at the end."""

    _http: httpx.Client

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def safe_text(text: str) -> str:
    """Remote text (an SDK or server message) made fit to show: registered secrets and
    anything shaped like a credential are removed, and it is kept to one line."""
    cleaned = _KEY_SHAPED.sub("[redacted]", redact.redact(text))
    return " ".join(cleaned.split())


def parallel(calls: Sequence[Callable[[], T]], *, workers: int) -> list[T]:
    """Run ``calls`` concurrently and return their results in order, failing like
    `raise_failures` once every call has finished."""
    if len(calls) <= 1:
        return [call() for call in calls]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(calls)))) as pool:
        futures = [pool.submit(call) for call in calls]
    raise_failures(futures)
    return [future.result() for future in futures]


def raise_failures(futures: Iterable[Future[Any]]) -> None:
    """Wait for every future; report all provider failures of a run together.

    A single failure is re-raised as is (its type may carry detail, e.g. an error code);
    several are joined into one `ProviderError`, one message per line, so a run with a bad
    Stripe key and a bad portal token says both at once; when one of them is the deadline, the
    joined error is a `DeadlineExceeded`. Any other exception is a bug and is re-raised as is.
    """
    failures: list[ProviderError] = []
    for future in futures:
        error = future.exception()
        if error is None:
            continue
        if not isinstance(error, ProviderError):
            raise error
        failures.append(error)
    if len(failures) == 1:
        raise failures[0]
    if failures:
        messages: list[str] = []
        for failure in failures:
            messages.extend(line for line in str(failure).splitlines() if line not in messages)
        stopped = any(isinstance(failure, DeadlineExceeded) for failure in failures)
        raise (DeadlineExceeded if stopped else ProviderError)("\n".join(messages))
