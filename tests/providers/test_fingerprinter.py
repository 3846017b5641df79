"""Fingerprints computed by the thread that waits for the reads, while they go on."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from licenzy_sync.providers import ProviderError
from licenzy_sync.providers.fingerprinter import Fingerprinter
from licenzy_sync.state import LicenzyProduct, StripePrice


def _price(n: int) -> StripePrice:
    return StripePrice(
        f"price_{n}", False, True, "one_time", None, None, "eur", n, f"prod_{n}", None
    )


def _product(n: int) -> LicenzyProduct:
    return LicenzyProduct(
        f"P{n}", "test", "time_pass", f"price_{n}", f"Product {n}", "active", None, 30, {"k": "v"}
    )


def _lazily(obj: StripePrice | LicenzyProduct) -> str:
    """The fingerprint an equal object computes when a plan first asks for it."""
    copy = dataclasses.replace(obj)
    assert "fingerprint" not in vars(copy)
    return copy.fingerprint


def test_what_readers_hand_over_is_fingerprinted_before_the_wait_ends() -> None:
    fingerprinter = Fingerprinter()
    prices = [_price(n) for n in range(250)]
    products = [_product(n) for n in range(250)]
    release = threading.Event()

    def read(objects: list[StripePrice] | list[LicenzyProduct]) -> int:
        release.wait(5)
        for start in range(0, len(objects), 100):  # a page at a time
            fingerprinter.add(objects[start : start + 100])
        return len(objects)

    with ThreadPoolExecutor(max_workers=2) as pool:
        reads = [pool.submit(read, prices), pool.submit(read, products)]
        assert not [obj for obj in (*prices, *products) if "fingerprint" in vars(obj)]
        release.set()
        fingerprinter.wait(reads)
        assert [read.result() for read in reads] == [250, 250]
    for obj in (*prices, *products):
        assert vars(obj)["fingerprint"] == _lazily(obj)


def test_a_failed_read_ends_the_wait_and_keeps_its_error() -> None:
    fingerprinter = Fingerprinter()
    price = _price(1)

    def read() -> None:
        fingerprinter.add([price])
        raise ProviderError("Stripe said no")

    with ThreadPoolExecutor(max_workers=1) as pool:
        failed = pool.submit(read)
        fingerprinter.wait([failed])
    assert isinstance(failed.exception(), ProviderError)
    assert vars(price)["fingerprint"] == _lazily(price)


def test_reads_already_done_and_none_at_all_end_the_wait() -> None:
    fingerprinter = Fingerprinter()
    done: Future[None] = Future()
    done.set_result(None)
    price = _price(2)
    fingerprinter.add([price])
    fingerprinter.add([])
    fingerprinter.wait([done])
    assert vars(price)["fingerprint"] == _lazily(price)
    fingerprinter.wait([])
