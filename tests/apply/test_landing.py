"""The report of an apply that stopped early: one screen, however many writes failed."""

from __future__ import annotations

from licenzy_sync.apply.landing import Landing, report
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.model import Action, ResourceChange
from licenzy_sync.providers import ProviderError

WHERE = "Licenzy (https://licenzy.example)"


def _product(code: str, action: Action = "update") -> ResourceChange:
    return ResourceChange(at=Address("licenzy", "test", "product", code), action=action)


def _patch_failed(code: str) -> ProviderError:
    return ProviderError(
        f"{WHERE}: PATCH /projects/proj_a/products/test/{code} failed after 5 attempts: HTTP 503"
    )


def test_the_same_failure_of_many_products_is_one_reason() -> None:
    codes = [f"P{n:03}" for n in range(50)]
    landing = Landing(
        written=[_product("DONE", "create")],
        failed=[(_product(code), _patch_failed(code)) for code in codes],
        not_tried=[_product("LATER", "archive")],
    )
    text = report(landing, None)
    assert text.splitlines()[0] == "apply stopped: 1 written, 50 failed, 1 not tried"
    assert (
        f"  50 x {WHERE}: PATCH /projects/proj_a/products/test/{{name}} failed after 5 "
        "attempts: HTTP 503"
    ) in text
    assert "licenzy.test.product[P000], licenzy.test.product[P001], " in text
    assert "and 47 more" in text
    assert "failed after" in text and text.count("failed after") == 1
    assert "  + licenzy.test.product[DONE]" in text
    assert "  - licenzy.test.product[LATER]" in text
    assert text.endswith(
        "fix the cause, then run `licenzy-sync apply` again: it is idempotent and converges "
        "from here."
    )
    assert len(text.splitlines()) < 12


def test_distinct_reasons_beyond_the_first_few_are_counted() -> None:
    failed = [
        (_product(f"P{n}"), ProviderError(f"{WHERE}: reason number {n}")) for n in range(6)
    ]
    text = report(Landing(failed=failed), None)
    assert text.count(" x ") == 3
    assert "  3 more failure(s) for 3 other reason(s)" in text


def test_an_interrupted_apply_lists_what_landed_and_what_did_not() -> None:
    landing = Landing(
        written=[_product(f"W{n:02}", "create") for n in range(12)],
        not_tried=[_product(f"N{n:02}", "create") for n in range(3)],
    )
    text = report(landing, "SIGTERM")
    lines = text.splitlines()
    assert lines[0].startswith("apply interrupted by SIGTERM: 12 written, 0 failed, 3 not tried")
    assert lines[1] == "written:"
    assert "      ... and 4 more" in lines
    assert "    + licenzy.test.product[N02]" in lines
    assert "failed:" not in lines
    assert lines[-1] == (
        "What was written stays written; run `licenzy-sync apply` again: it is idempotent and "
        "converges from here."
    )
