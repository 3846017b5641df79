"""What every planning step reads: the config with positions, the remote state, the scope."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.config.models import ModeSettings
from licenzy_sync.config.secrets import Secret
from licenzy_sync.findings import Finding
from licenzy_sync.keys import Mode
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.model import ChangeIndex, Observed, ResourceChange, SecretBinding
from licenzy_sync.rules.catalog import Rule
from licenzy_sync.state import Fingerprinted, RemoteState
from licenzy_sync.targets import Targets


@dataclass
class PlanContext:
    loaded: LoadedConfig
    state: RemoteState
    targets: Targets
    prune: bool
    secrets: Mapping[str, Secret] = field(default_factory=dict)
    """The configured secrets the run resolved, by environment variable name."""
    resources: list[ResourceChange] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    read: dict[str, Fingerprinted | None] = field(default_factory=dict)
    """What the plan read at each address it touches (None: nothing), for its fingerprints."""
    secret_bindings: dict[str, SecretBinding] = field(default_factory=dict)
    _index: ChangeIndex = field(
        default_factory=ChangeIndex, init=False, repr=False, compare=False
    )

    def report(
        self, rule: Rule, message: str, address: Address, *config_path: str | int
    ) -> None:
        """A finding tied to the place in licenzy.yaml a user would edit to fix it."""
        field_name = ".".join(str(part) for part in config_path)
        position = self.loaded.position(*config_path)
        self.findings.append(rule.finding(message, field_name, position, address=str(address)))

    def change_at(self, at: Address) -> ResourceChange | None:
        """The change planned so far for ``at``: units plan in dependency order."""
        return self._index.find(self.resources, at)

    def observed(self, address: Address, found: Fingerprinted | None) -> None:
        """What the plan read of ``address``, so `apply PLANFILE` can tell it moved since."""
        self.read[str(address)] = found

    @property
    def fingerprints(self) -> Observed:
        return Observed(self.read)

    def settings(self, mode: Mode) -> ModeSettings:
        found = self.loaded.config.modes.get(mode)
        if found is None:
            raise ValueError(f"mode {mode} is not declared")
        return found
