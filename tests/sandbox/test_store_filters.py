"""Lists narrowed in the store: only the objects a page can hold are decoded."""

from __future__ import annotations

import pytest

from licenzy_sync.sandbox.store import Store


@pytest.fixture
def store() -> Store:
    opened = Store()
    with opened.transaction() as tx:
        for index in range(6):
            body = {"id": f"price_{index}", "active": index % 3 != 0, "lookup_key": f"k{index}"}
            tx.put("price", "acct/test", body["id"], body)
        tx.put("product", "acct/test", "prod_1", {"id": "prod_1", "active": False})
    return opened


def ids(
    store: Store,
    where: dict[str, list[str | int | bool]] | None = None,
    *,
    newest_first: bool = True,
    below_seq: int | None = None,
    above_seq: int | None = None,
) -> list[str]:
    with store.transaction() as tx:
        rows = tx.iter(
            "price",
            "acct/test",
            newest_first=newest_first,
            below_seq=below_seq,
            above_seq=above_seq,
            where=where,
        )
        return [body["id"] for _, body in rows]


def test_where_keeps_the_objects_whose_field_holds_one_of_the_values(store: Store) -> None:
    assert ids(store, where={"active": [False]}) == ["price_3", "price_0"]
    assert ids(store, where={"active": [True], "lookup_key": ["k1", "k4", "k3"]}) == [
        "price_4",
        "price_1",
    ]
    assert ids(store, where={"active": [True, False]}) == ids(store)


def test_where_combines_with_the_cursor_and_the_order(store: Store) -> None:
    assert ids(store, {"active": [True]}, below_seq=5) == ["price_2", "price_1"]
    assert ids(store, {"active": [True]}, newest_first=False, above_seq=2) == [
        "price_2",
        "price_4",
        "price_5",
    ]


def test_a_field_name_that_could_change_the_query_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="not a field name"):
        ids(store, where={"active') OR (1": [True]})
