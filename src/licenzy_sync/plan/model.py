"""The Plan and its JSON form (``format_version`` 1, documented in docs/plan-format.md)."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from licenzy_sync.findings import Finding, Severity
from licenzy_sync.keys import Mode
from licenzy_sync.plan.addresses import Address, System
from licenzy_sync.rules.catalog import WRITE_PERMISSION_MISSING

if TYPE_CHECKING:
    from licenzy_sync.state import Fingerprinted

__all__ = [
    "ABSENT",
    "ACTIONS",
    "FORMAT_VERSION",
    "PROJECTS_KEY",
    "Action",
    "ChangeIndex",
    "FieldChange",
    "KnownAfterApply",
    "Observed",
    "Plan",
    "ResourceChange",
    "SecretBinding",
    "System",
    "in_address_order",
]

FORMAT_VERSION = 1
PROJECTS_KEY = "projects"
"""Only the JSON of several projects has this key: its presence tells it from a single plan."""

Action = Literal["create", "update", "replace", "archive", "no-op"]
ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "archive", "no-op")
ABSENT = "absent"
"""The fingerprint of an object that does not exist."""


class Observed(Mapping[str, str]):
    """The fingerprint of each object a plan read, by address, computed when first asked for.

    Only a plan written as JSON (``--out``, ``--format json``) and apply's staleness checks
    need them: a text plan of a catalog of thousands would otherwise spend a tenth of its CPU
    hashing objects nothing compares. The objects read are immutable, so a fingerprint
    computed later is the one computed at once. ``None`` stands for nothing at the address.
    """

    __slots__ = ("read",)

    def __init__(self, read: dict[str, Fingerprinted | None]) -> None:
        self.read = read

    def __getitem__(self, address: str) -> str:
        found = self.read[address]
        return ABSENT if found is None else found.fingerprint

    def __iter__(self) -> Iterator[str]:
        return iter(self.read)

    def __len__(self) -> int:
        return len(self.read)

    def items(self) -> ItemsView[str, str]:
        return _ObservedItems(self)


class _ObservedItems(ItemsView[str, str]):
    """Each address with its fingerprint in one step, not a lookup by address: a JSON plan
    writes tens of thousands of them."""

    def __init__(self, observed: Observed) -> None:
        super().__init__(observed)
        self._read = observed.read

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for address, found in self._read.items():
            yield address, ABSENT if found is None else found.fingerprint


def in_address_order(fingerprints: Mapping[str, str]) -> Mapping[str, str]:
    """Fingerprints sorted by address; those of an `Observed` are still not computed."""
    if isinstance(fingerprints, Observed):
        return Observed({a: fingerprints.read[a] for a in sorted(fingerprints.read)})
    return {address: fingerprints[address] for address in sorted(fingerprints)}


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True, kw_only=True)
class ResourceChange:
    at: Address
    """Stable across runs, e.g. ``licenzy.test.product[PRO_MONTHLY]``; system, mode, type and
    name are read off it, so they cannot disagree with it."""
    action: Action
    reason: str = ""
    changes: tuple[FieldChange, ...] = ()
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    """Secret values never appear in before/after, not even masked."""

    @property
    def address(self) -> str:
        return str(self.at)

    @property
    def system(self) -> System:
        return self.at.system

    @property
    def mode(self) -> Mode:
        return self.at.mode

    @property
    def type(self) -> str:
        """The kind: ``product``, ``webhook_endpoint``, ``webhook_secret``."""
        return self.at.kind

    @property
    def name(self) -> str:
        return self.at.name


class KnownAfterApply(str):
    """A value in a change's ``after`` that an earlier write of the same apply produces: the
    output ``output`` of the object at ``of``. Its text is what plans show and what plan
    files store (so their form is unchanged); the unit that planned it recognises that text
    in a plan read back (`Kind.inputs`)."""

    of: Address
    output: str

    def __new__(cls, text: str, *, of: Address, output: str) -> KnownAfterApply:
        made = super().__new__(cls, text)
        made.of = of
        made.output = output
        return made

    def __getnewargs_ex__(self) -> tuple[tuple[str], dict[str, object]]:
        """Copies keep the reference."""
        return (str(self),), {"of": self.of, "output": self.output}


@dataclass(frozen=True)
class SecretBinding:
    """A salted digest of a secret the plan will write (see ``plan.bindings``)."""

    salt: str
    """Hex, random per binding."""
    hmac_sha256: str
    """Hex HMAC-SHA256 of the value, keyed with the salt."""


class ChangeIndex:
    """The first change at each address of a list of changes that only grows.

    Units look up what an earlier unit planned (a product's new price, its endpoint) once per
    object; scanning the list each time made planning and applying declared prices quadratic
    in the catalog. The index catches up with what was appended since the last lookup and
    starts over when given another list.
    """

    def __init__(self) -> None:
        self._of: list[ResourceChange] | None = None
        self._seen = 0
        self._by_at: dict[Address, ResourceChange] = {}

    def find(self, resources: list[ResourceChange], at: Address) -> ResourceChange | None:
        if resources is not self._of or self._seen > len(resources):
            self._of, self._seen, self._by_at = resources, 0, {}
        for resource in resources[self._seen :]:
            self._by_at.setdefault(resource.at, resource)
        self._seen = len(resources)
        return self._by_at.get(at)


@dataclass
class Plan:
    project: str
    modes: list[Mode]
    resources: list[ResourceChange] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    """Fingerprint of each remote object read for a touched address, for `apply PLANFILE`."""
    config_file: str = ""
    secret_bindings: dict[str, SecretBinding] = field(default_factory=dict)
    """Per environment variable whose value apply will store: what binds it to this plan."""
    targets: list[str] = field(default_factory=list)
    """The addresses `--target` named (`plan.targeting`); empty for a whole plan."""
    _index: ChangeIndex = field(
        default_factory=ChangeIndex, init=False, repr=False, compare=False
    )

    @property
    def changes(self) -> list[ResourceChange]:
        return [r for r in self.resources if r.action != "no-op"]

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def blocks_apply(self) -> bool:
        """Errors, or a key that may not make a write the plan needs (LZ140): that one is
        only a warning for plan, whose key may rightly be read-only, but apply must not start
        what it cannot finish."""
        return self.has_errors or any(
            f.rule_id == WRITE_PERMISSION_MISSING.id and self._plans(f.address)
            for f in self.findings
        )

    def _plans(self, address: str) -> bool:
        """Whether this plan may write at ``address``: anywhere for a whole plan, only where
        it holds a change or the target itself once narrowed to targets."""
        if not self.targets or address in self.targets:
            return True
        return any(r.address == address for r in self.resources)

    def change_at(self, at: Address) -> ResourceChange | None:
        return self._index.find(self.resources, at)

    def counts(self) -> dict[Action, int]:
        counted: dict[Action, int] = dict.fromkeys(ACTIONS, 0)
        for resource in self.resources:
            counted[resource.action] += 1
        return counted
