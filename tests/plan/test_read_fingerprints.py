"""Fingerprints of what a plan read: computed during the reads for a plan that records them
all (JSON, --out, apply's staleness check), never for one that only shows them as text."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from licenzy_sync.output import Console
from licenzy_sync.plan.codec import plan_to_json
from licenzy_sync.plan.model import Observed
from licenzy_sync.providers.fingerprinter import Fingerprinter
from licenzy_sync.state import Fingerprinted
from licenzy_sync.workflow import make_plan
from tests.world import World


def _hashed(observed: Observed) -> list[str]:
    return [a for a, obj in observed.read.items() if obj and "fingerprint" in vars(obj)]


def test_a_plan_fingerprinted_while_reading_is_the_plan_fingerprinted_later(
    world: World,
) -> None:
    """Same bytes out: early fingerprints are the ones the lazy way computes."""
    world.converge()
    plans = {}
    for early in (False, True):
        plan, _ = make_plan(
            world.config, "all", sandbox=None, prune=False, console=Console(), fingerprint=early
        )
        assert isinstance(plan.fingerprints, Observed)
        read = [obj for obj in plan.fingerprints.read.values() if obj is not None]
        assert len(read) == 13  # 5 products, 5 prices, 2 connections (webhook secrets), 1 endpoint
        assert _hashed(plan.fingerprints) == (list(plan.fingerprints) if early else [])
        plans[early] = plan_to_json(plan)
    assert plans[True] == plans[False]


class _Handed:
    """What the readers of one run handed to a `Fingerprinter` (the real one still works)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.objects: list[Fingerprinted] = []
        add = Fingerprinter.add

        def recorded(fingerprinter: Fingerprinter, objects: Iterable[Fingerprinted]) -> None:
            batch = list(objects)
            self.objects += batch
            add(fingerprinter, batch)

        monkeypatch.setattr(Fingerprinter, "add", recorded)


@pytest.mark.parametrize(
    ("args", "early"),
    [
        ((), False),
        (("--format", "markdown"), False),
        (("--format", "json"), True),
        (("--out", "PLANFILE"), True),
    ],
)
def test_only_a_plan_that_records_fingerprints_computes_them_while_reading(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: tuple[str, ...],
    early: bool,
) -> None:
    world.converge()
    handed = _Handed(monkeypatch)
    planfile = tmp_path / "plan.json"
    args = tuple(str(planfile) if arg == "PLANFILE" else arg for arg in args)
    result = world.run("plan", "-c", str(world.config), *args)
    assert result.code == 0, result.text
    assert bool(handed.objects) is early
    assert all("fingerprint" in vars(obj) for obj in handed.objects)
    if early:
        written = planfile.read_text() if planfile.exists() else result.out
        recorded = json.loads(written)["fingerprints"]
        fingerprinted = {obj.fingerprint for obj in handed.objects}
        assert {f for f in recorded.values() if f != "absent"} <= fingerprinted


def test_observed_items_pair_each_address_with_its_fingerprint_in_order(world: World) -> None:
    """`items()` reads each object once instead of looking every address up again; the pairs
    are those of the mapping itself, absent objects included."""
    world.converge()
    plan, _ = make_plan(
        world.config, "all", sandbox=None, prune=False, console=Console(), fingerprint=True
    )
    observed = plan.fingerprints
    assert isinstance(observed, Observed)
    observed.read["licenzy.test.product[GONE]"] = None
    pairs = list(observed.items())
    assert pairs == [(address, observed[address]) for address in observed]
    assert pairs[-1] == ("licenzy.test.product[GONE]", "absent")
    assert len(observed.items()) == len(observed) and pairs[0] in observed.items()
