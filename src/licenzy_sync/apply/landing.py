"""What an apply that stopped early leaves behind, said in one screen.

An apply stops early when a write fails or a signal asks it to. Either way the user
needs the same three things: what was written (it stays written), what was not, and how to
converge. Failures are grouped by reason, so a Licenzy that answers 500 to forty product
writes is one line with a count, not forty.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.plan.model import ResourceChange
from licenzy_sync.render.text import SYMBOLS

SHOWN_ADDRESSES = 8
"""Addresses listed per group before "and N more"."""
SHOWN_REASONS = 3
"""Distinct failure reasons shown; the rest are counted."""
SHOWN_FAILED = 3
"""Addresses named under each failure reason."""
CONVERGE = "run `licenzy-sync apply` again: it is idempotent and converges from here"


@dataclass
class Landing:
    """The changes an apply wrote (over every round) and, of the plan it was executing when
    it stopped, the ones that failed and the ones it never started."""

    written: list[ResourceChange] = field(default_factory=list)
    failed: list[tuple[ResourceChange, LicenzySyncError]] = field(default_factory=list)
    not_tried: list[ResourceChange] = field(default_factory=list)

    def counts(self) -> str:
        return (
            f"{len(self.written)} written, {len(self.failed)} failed, "
            f"{len(self.not_tried)} not tried"
        )


class ApplyStopped(LicenzySyncError):
    """An apply ended before its plan was carried out; the message is the whole report."""

    def __init__(self, landing: Landing, *, signal: str | None = None) -> None:
        self.landing = landing
        self.signal = signal
        super().__init__(report(landing, signal))


def report(landing: Landing, signal: str | None) -> str:
    """The counts first (what CI logs get searched for), then the reasons, then the lists."""
    if signal is not None:
        head = (
            f"apply interrupted by {signal}: {landing.counts()} (the writes in flight were "
            "let finish; none was started after the signal)"
        )
    else:
        head = f"apply stopped: {landing.counts()}"
    lines = [head]
    if landing.failed:
        lines.append("failed:")
        lines.extend(_reasons(landing.failed))
    lines.extend(_listed("written", landing.written))
    lines.extend(_listed("not tried", landing.not_tried))
    advice = "fix the cause, then " if landing.failed else ""
    lines.append(f"What was written stays written; {advice}{CONVERGE}.")
    return "\n".join(lines)


def _listed(title: str, resources: Sequence[ResourceChange]) -> list[str]:
    if not resources:
        return []
    shown = [
        f"  {SYMBOLS.get(resource.action, ' '):>3} {resource.address}"
        for resource in resources[:SHOWN_ADDRESSES]
    ]
    more = _and_more(len(resources), SHOWN_ADDRESSES)
    return [f"{title}:", *shown, *([f"      ...{more}"] if more else [])]


def _reasons(failed: Sequence[tuple[ResourceChange, LicenzySyncError]]) -> list[str]:
    groups: dict[str, list[str]] = {}
    for resource, error in failed:
        groups.setdefault(_reason(resource, error), []).append(resource.address)
    lines: list[str] = []
    for reason, addresses in list(groups.items())[:SHOWN_REASONS]:
        lines.append(f"  {len(addresses)} x {reason}")
        more = _and_more(len(addresses), SHOWN_FAILED)
        lines.append(f"      {', '.join(addresses[:SHOWN_FAILED])}{more}")
    hidden = list(groups.values())[SHOWN_REASONS:]
    if hidden:
        count = sum(len(addresses) for addresses in hidden)
        lines.append(f"  {count} more failure(s) for {len(hidden)} other reason(s)")
    return lines


def _reason(resource: ResourceChange, error: LicenzySyncError) -> str:
    """The error's first line with the resource's own name taken out of paths, so the same
    failure of many products reads as one reason."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    segment = re.escape(quote(resource.name, safe=""))
    return re.sub(rf"/{segment}(?=[/\s:?]|$)", "/{name}", text)


def _and_more(count: int, shown: int) -> str:
    return f" and {count - shown} more" if count > shown else ""
