"""The price a verification checkout must charge for each product of a mode.

A mapped price is the id the file names. A declared price has no id in the file: it is the
price holding its lookup key with licenzy-sync's marker, read in one request pair per ten
keys. Until apply made it, the check expects the lookup key itself, so it fails naming it.
"""

from __future__ import annotations

from collections.abc import Sequence

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.keys import Mode
from licenzy_sync.plan.ownership import is_managed
from licenzy_sync.providers.stripe_reader import StripeReader


def expected_prices(
    loaded: LoadedConfig, mode: Mode, reader: StripeReader, codes: Sequence[str]
) -> dict[str, str]:
    config = loaded.config
    keys = {}
    expected: dict[str, str] = {}
    for code in codes:
        product = config.products[code]
        declared = product.declared_price
        if declared is None:
            expected[code] = str(product.price.get(mode))
        else:
            keys[code] = declared.lookup_key_for(config.project, code)
    held = reader.prices_by_lookup_key(keys.values()) if keys else {}
    for code, key in keys.items():
        price = held.get(key)
        ours = price is not None and price.active and is_managed(price.metadata)
        expected[code] = price.id if ours and price is not None else key
    return expected
