"""What every provider shares: scrubbing remote text, fan-out with all errors; and the
fingerprint every object read carries."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from licenzy_sync.config.secrets import Secret
from licenzy_sync.providers import (
    DeadlineExceeded,
    ProviderError,
    parallel,
    safe_text,
)
from licenzy_sync.providers.fields import Malformed, one_of, opt_int, string_map, strings
from licenzy_sync.state import (
    Fingerprinted,
    LicenzyConnection,
    LicenzyProduct,
    StripeEndpoint,
    StripePrice,
)


def test_safe_text_removes_registered_and_key_shaped_secrets() -> None:
    Secret("sk_test_registered_value_123", "STRIPE_TEST_SECRET_KEY")
    text = (
        "Invalid API Key provided: sk_live_**********************abcd; also "
        "sk_test_registered_value_123 and whsec_abc123 and lzp_tok3n\n  next line"
    )
    assert safe_text(text) == (
        "Invalid API Key provided: [redacted]; also [redacted] and [redacted] and [redacted] "
        "next line"
    )


@dataclass(frozen=True)
class Thing(Fingerprinted):
    name: str
    tags: tuple[str, ...]
    meta: dict[str, str] = field(default_factory=dict)


def test_fingerprint_is_canonical_and_ignores_its_own_value() -> None:
    one = Thing("a", ("x", "y"), {"k": "1", "j": "2"})
    two = Thing("a", ("x", "y"), {"j": "2", "k": "1"})
    assert one.fingerprint == two.fingerprint
    assert one.fingerprint == one.fingerprint  # computed once, then kept out of its own input
    assert len(one.fingerprint) == 64
    assert Thing("a", ("y", "x")).fingerprint != one.fingerprint
    assert Thing("b", ("x", "y"), {"k": "1", "j": "2"}).fingerprint != one.fingerprint


def test_parallel_runs_calls_concurrently_and_keeps_their_order() -> None:
    barrier = threading.Barrier(3, timeout=5)

    def call(value: int) -> int:
        barrier.wait()  # fails unless all three run at the same time
        return value * 10

    assert parallel([lambda: call(1), lambda: call(2), lambda: call(3)], workers=3) == [
        10,
        20,
        30,
    ]


def test_parallel_reports_every_provider_failure_once() -> None:
    def fail(message: str) -> int:
        raise ProviderError(message)

    with pytest.raises(ProviderError) as caught:
        parallel(
            [lambda: fail("first"), lambda: 1, lambda: fail("second"), lambda: fail("first")],
            workers=4,
        )
    assert str(caught.value).splitlines() == ["first", "second"]


def test_parallel_keeps_a_single_failures_type() -> None:
    class Specific(ProviderError):
        pass

    def fail() -> int:
        raise Specific("only one")

    with pytest.raises(Specific):
        parallel([fail, lambda: 2], workers=2)


def test_parallel_says_when_the_deadline_stopped_any_call() -> None:
    """apply catches DeadlineExceeded to say what was written: joining failures keeps it."""

    def fail(error: ProviderError) -> int:
        raise error

    with pytest.raises(DeadlineExceeded) as caught:
        parallel(
            [lambda: fail(ProviderError("refused")), lambda: fail(DeadlineExceeded("late"))],
            workers=2,
        )
    assert str(caught.value).splitlines() == ["refused", "late"]


def test_parallel_lets_bugs_through_unchanged() -> None:
    def bug() -> int:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        parallel([bug, lambda: 2], workers=2)


@pytest.mark.parametrize(
    ("check", "body", "message"),
    [
        (
            lambda b: one_of(b, "kind", ("a", "b")),
            {"kind": "c"},
            "field 'kind' is not one of: a, b",
        ),
        (lambda b: one_of(b, "kind", ("a",)), {}, "field 'kind' is missing"),
        (lambda b: opt_int(b, "units"), {"units": True}, "field 'units' is not an integer or null"),
        (lambda b: string_map(b, "metadata"), {"metadata": {"k": 1}}, "not an object of strings"),
        (lambda b: strings(b, "events"), {"events": "x"}, "field 'events' is not an array"),
    ],
)
def test_fields_name_what_is_wrong(
    check: Callable[[dict[str, Any]], object], body: dict[str, Any], message: str
) -> None:
    with pytest.raises(Malformed, match=message):
        check(body)


def _digest_of_fields(obj: Any) -> str:
    """The definition plans were saved with: sha256 of the sorted compact JSON of the fields."""
    fields = dataclasses.asdict(obj)
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


READ_OBJECTS = [
    StripePrice("price_1", False, True, "recurring", "month", "licensed", "eur", 900, "prod_1",
                None),
    StripeEndpoint("we_1", True, "https://x.example/h", ("a.b", "c.d"), "enabled", None,
                   "Café ✓", {"managed_by": "licenzy-sync", "last4": "abcd"}),
    LicenzyConnection("live", True, "acct_1", "secret", None, True, "wxyz"),
    LicenzyProduct("PRO", "test", "time_pass", "price_1", None, "active", None, 30, {}),
    LicenzyProduct("ODD", "live", "usage_pack", "price_2", 'q"\\\n\t\u2028\x7f 😀', "archived",
                   -7, None, {"é": "\u0000", "z": "", "a": "</script>"}),
]


@pytest.mark.parametrize("obj", READ_OBJECTS, ids=lambda obj: type(obj).__name__)
def test_fingerprints_of_read_objects_are_those_saved_plans_hold(obj: Fingerprinted) -> None:
    assert "fingerprint" not in vars(obj)  # nothing is hashed until a plan asks
    assert obj.fingerprint == _digest_of_fields(obj)
    assert vars(obj)["fingerprint"] == obj.fingerprint
