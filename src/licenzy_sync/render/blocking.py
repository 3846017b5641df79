"""What errors stop: the sentence a plan with errors opens with, and the changes they block.

A plan with errors must not read like a plan that will run, in a terminal or a CI log: every
renderer and command says the same sentence, made here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from licenzy_sync.plan.model import Plan
from licenzy_sync.render.findings_text import plural, printable
from licenzy_sync.rules.catalog import WRITE_PERMISSION_MISSING

if TYPE_CHECKING:
    from licenzy_sync.projects import Outcome


def errors_line(plan: Plan) -> str | None:
    """``2 errors: apply will write nothing.`` for a plan with errors, else None."""
    errors = sum(1 for f in plan.findings if f.is_error)
    if not errors:
        return None
    return f"{plural(errors, 'error')}: apply will write nothing."


def targeting_line(plan: Plan) -> str | None:
    """Terraform's warning, atop a plan narrowed by ``--target``: it is not the whole truth."""
    from licenzy_sync.plan.targeting import WARNING

    return WARNING if plan.targets else None


def nothing_written(plan: Plan) -> str:
    """Apply's refusal of a plan that `Plan.blocks_apply`: why, then ``nothing written``."""
    errors = sum(1 for f in plan.findings if f.is_error)
    if errors:
        return f"{plural(errors, 'error')}: nothing written."
    return (
        f"{WRITE_PERMISSION_MISSING.id}: the Stripe key may not make a write this plan needs: "
        "nothing written."
    )


def stop_notes(
    outcomes: Sequence[Outcome[Plan]], sentence: Callable[[Plan], str | None]
) -> list[str]:
    """``sentence`` of every plan that has one, for stderr, where a CI log shows it even when
    the plan itself went to a file or a PR comment; prefixed by the file with several."""
    several = len(outcomes) > 1
    notes = []
    for outcome in outcomes:
        said = None if outcome.result is None else sentence(outcome.result)
        if said:
            notes.append(f"{outcome.config}: {said}" if several else said)
    return notes


def blocked_by(plan: Plan) -> dict[str, tuple[str, ...]]:
    """Address -> the rule ids of the errors found at it: the changes they block by name.

    Every error stops the whole apply; these are the changes an error is about, so a reader
    sees which fix unblocks which change.
    """
    rules: dict[str, set[str]] = {}
    for finding in plan.findings:
        if finding.is_error and finding.address:
            rules.setdefault(finding.address, set()).add(printable(finding.rule_id))
    return {address: tuple(sorted(ids)) for address, ids in rules.items()}


def blocked_note(rule_ids: tuple[str, ...]) -> str:
    return f"(blocked by {', '.join(rule_ids)})" if rule_ids else ""
