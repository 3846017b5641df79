"""What a verify run found, per mode: one result per product and one webhook proof."""

from __future__ import annotations

from dataclasses import dataclass, field

from licenzy_sync.findings import Finding
from licenzy_sync.keys import Mode
from licenzy_sync.state import StripeEndpoint


@dataclass(frozen=True)
class ProductCheck:
    mode: Mode
    code: str
    price_id: str
    """The price the file maps the code to in this mode."""
    session: str | None
    """The shortened Checkout Session id (``cs_test_…abcd``), when Licenzy made one."""
    proven: bool


@dataclass(frozen=True)
class WebhookProof:
    mode: Mode
    session: str
    """Shortened id of the session whose ``checkout.session.expired`` event was followed."""
    endpoints: tuple[str, ...]
    """Every enabled endpoint subscribed to the event (ids)."""
    proven: bool


@dataclass
class ModeResult:
    mode: Mode
    skipped: str | None = None
    """Why the mode was not verified (live without --allow-live), else None."""
    checks: list[ProductCheck] = field(default_factory=list)
    webhook: WebhookProof | None = None
    notes: list[str] = field(default_factory=list)
    endpoints: list[StripeEndpoint] = field(default_factory=list)
    """The mode's Stripe webhook endpoints, as read for the proof (for the checklist)."""


@dataclass
class VerifyReport:
    project: str
    config_file: str
    modes: list[ModeResult]
    findings: list[Finding]
    requests: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(finding.is_error for finding in self.findings)
