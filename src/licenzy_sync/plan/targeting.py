"""`--target`: a plan narrowed to the named addresses, as Terraform's ``-target`` narrows one.

An error on one product must not hold an unrelated fix hostage (a deleted tenant endpoint
stops every customer's access), so a user may apply just that fix. The narrowed plan keeps
the named changes, what they depend on, and every change that takes a value one of them
produces (a new endpoint's signing secret exists only in the apply that created it, so the
write that stores it in Licenzy must go with it). Findings on managed objects left out no
longer block: they stay in the plan as warnings marked "not targeted".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.findings import Finding, Severity
from licenzy_sync.keys import Mode
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.bindings import written_variables
from licenzy_sync.plan.model import Plan

GRAMMAR = "<system>.<mode>.<kind>[<name>], e.g. stripe.test.webhook_endpoint[tenant]"
WARNING = (
    "Warning: resource targeting is in effect: only the --target addresses and what they "
    "need are planned, not every change licenzy.yaml asks for. Targeting is for exceptional "
    "situations such as recovering from errors or mistakes, not for routine use."
)
NOT_TARGETED = "not targeted: "


class BadTarget(LicenzySyncError):
    """A --target that is not an address, or names nothing in the plan (exit 1)."""


def parse_targets(texts: Iterable[str]) -> tuple[str, ...]:
    """The --target values as canonical addresses, each once, in the order given; refused
    before any request when one is not an address."""
    found: dict[str, None] = {}
    for text in texts:
        at = Address.parse(text.strip())
        if at is None:
            raise BadTarget(f"--target {text!r} is not an address; the grammar is {GRAMMAR}")
        found[str(at)] = None
    return tuple(found)


def require_known(plans: Sequence[Plan], targets: Sequence[str]) -> None:
    """Refuse a target that names nothing in any of ``plans``, listing the near matches: a
    typo must not become an apply that silently does nothing."""
    known = sorted({address for plan in plans for address in _addresses(plan)})
    unknown = [target for target in targets if target not in known]
    if not unknown or not plans:
        return
    import difflib

    lines = []
    for target in unknown:
        near = difflib.get_close_matches(target, known, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        lines.append(f"--target {target} names nothing in the plan{hint}")
    raise BadTarget("\n".join(lines))


def narrow(plan: Plan, targets: Sequence[str]) -> Plan:
    """``plan`` reduced to ``targets`` and what goes with them; ``plan`` itself without
    targets. Pure, so the converge loop narrows every fresh plan the same way."""
    if not targets:
        return plan
    selected = _closure(plan, set(targets))
    modes = {at.mode for at in map(Address.parse, selected) if at is not None}

    def outside(address: str) -> bool:
        return _outside(address, selected, modes)

    resources = [r for r in plan.resources if r.address in selected]
    written = set(written_variables(resources))
    return replace(
        plan,
        resources=resources,
        findings=[_context(f) if outside(f.address) else f for f in plan.findings],
        fingerprints={a: f for a, f in plan.fingerprints.items() if not outside(a)},
        secret_bindings={n: b for n, b in plan.secret_bindings.items() if n in written},
        targets=list(targets),
    )


def _addresses(plan: Plan) -> Iterable[str]:
    yield from (resource.address for resource in plan.resources)
    yield from (finding.address for finding in plan.findings if finding.address)
    yield from plan.fingerprints


def _closure(plan: Plan, named: set[str]) -> set[str]:
    """``named``, plus the changes they take values from, plus the changes that take values
    from them, until nothing more joins."""
    from licenzy_sync.kinds.registry import unit_of

    edges = [
        (change.address, str(output.of))
        for change in plan.changes
        if (unit := unit_of(change)) is not None
        for output in unit.inputs(change)
    ]
    selected = set(named)
    grown = True
    while grown:
        grown = False
        for taker, giver in edges:
            if (taker in selected) != (giver in selected):
                selected |= {taker, giver}
                grown = True
    return selected


def _outside(address: str, selected: set[str], modes: set[Mode]) -> bool:
    """Whether a finding or fingerprint at ``address`` is left out: a managed object not
    selected, or the wiring (connection, account, keys) of a mode no selected object is in.
    The wiring of a targeted mode stays in, since the targeted writes rely on it."""
    from licenzy_sync.kinds.registry import KINDS

    at = Address.parse(address)
    if at is None or address in selected:
        return False
    return at.kind in {unit.name for unit in KINDS} or at.mode not in modes


def _context(finding: Finding) -> Finding:
    """A finding outside the targets, kept as context: shown, never blocking."""
    if finding.message.startswith(NOT_TARGETED):
        return finding
    return replace(finding, severity=Severity.WARNING, message=NOT_TARGETED + finding.message)
