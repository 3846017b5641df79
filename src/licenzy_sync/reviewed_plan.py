"""The plan reviewers saw, carried from the pull request's plan job to the apply job on merge.

The plan job saves the plan (`plan --out`) with a manifest: the pull request's head commit and
a SHA-256 of every config file it planned. It travels as a workflow artifact named after the
configs and that head commit. After the merge, the apply job finds the pull request the merge
commit belongs to, downloads the artifact of its head commit and checks that the configs it
is about to apply are byte for byte the ones planned. A missing artifact or a changed config
refuses the apply: what reaches live billing is what the pull request comment showed, or
nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from licenzy_sync.errors import EXIT_INVALID, LicenzySyncError
from licenzy_sync.providers import safe_text

if TYPE_CHECKING:
    from licenzy_sync.providers.github_client import GitHub, PullRequest

PREFIX = "licenzy-plan"
PLAN_NAME = "plan.json"
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
MAX_ARCHIVE = 20 * 1024 * 1024
"""A saved plan is kilobytes; a bigger archive is not one of ours."""
KEY_LIMIT = 80
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


class PlanMissing(LicenzySyncError):
    """No reviewed plan to apply: no pull request, no plan job run, or its artifact expired."""


class PlanStale(LicenzySyncError):
    """The reviewed plan no longer describes what is being applied."""

    exit_code = EXIT_INVALID


def artifact_key(configs: Sequence[str]) -> str:
    """The -c values as given, made fit for an artifact name (no slashes, colons, ...): the
    plan and the apply job derive the same key from the same inputs."""
    key = _UNSAFE.sub("_", "+".join(configs)).strip("._") or "config"
    if len(key) <= KEY_LIMIT:
        return key
    digest = hashlib.sha256("\n".join(configs).encode()).hexdigest()[:12]
    return f"{key[: KEY_LIMIT - 13]}-{digest}"


def artifact_name(key: str, head_sha: str) -> str:
    return f"{PREFIX}-{key}-{head_sha}"


def check_sha(sha: str, what: str) -> str:
    if not _SHA.fullmatch(sha):
        raise LicenzySyncError(f"{what} {safe_text(sha)[:80]!r} is not a full commit SHA")
    return sha


def digests(configs: Sequence[Path]) -> dict[str, str]:
    """SHA-256 of each config file, keyed by its path as given."""
    found: dict[str, str] = {}
    for path in configs:
        try:
            found[path.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:
            raise LicenzySyncError(f"{path}: cannot read ({type(error).__name__})") from None
    return found


def write_manifest(directory: Path, head_sha: str, configs: Sequence[Path]) -> None:
    """Next to the plan `plan --out` saved in ``directory``: what it was made from."""
    if not (directory / PLAN_NAME).is_file():
        raise LicenzySyncError(
            f"{directory / PLAN_NAME}: no saved plan; run `plan --out {directory / PLAN_NAME}`"
        )
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "head_sha": head_sha,
        "configs": digests(configs),
    }
    (directory / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")


@dataclass(frozen=True)
class Manifest:
    head_sha: str
    configs: Mapping[str, str]


@dataclass(frozen=True)
class Unpacked:
    plan: bytes
    manifest_bytes: bytes
    manifest: Manifest

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / PLAN_NAME).write_bytes(self.plan)
        (directory / MANIFEST_NAME).write_bytes(self.manifest_bytes)


def unpack(archive: bytes, source: str) -> Unpacked:
    """The plan and manifest out of a downloaded artifact; nothing else in it is looked at."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            names = set(zipped.namelist())
            if not {PLAN_NAME, MANIFEST_NAME} <= names:
                raise PlanMissing(f"{source} holds no {PLAN_NAME} and {MANIFEST_NAME}")
            plan, manifest = zipped.read(PLAN_NAME), zipped.read(MANIFEST_NAME)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError):
        raise PlanMissing(f"{source} is not a readable zip archive") from None
    return Unpacked(plan, manifest, _manifest(manifest, source))


def _manifest(data: bytes, source: str) -> Manifest:
    try:
        value: Any = json.loads(data)
    except ValueError:
        value = None
    configs = value.get("configs") if isinstance(value, dict) else None
    head = value.get("head_sha") if isinstance(value, dict) else None
    if (
        not isinstance(value, dict)
        or value.get("manifest_version") != MANIFEST_VERSION
        or not isinstance(head, str)
        or not isinstance(configs, dict)
        or not all(isinstance(v, str) for v in configs.values())
    ):
        raise PlanStale(f"{source}: {MANIFEST_NAME} is not a manifest this version can read")
    return Manifest(head, configs)


def check_fresh(manifest: Manifest, head_sha: str, configs: Sequence[Path]) -> None:
    """Refuse unless the plan was made at ``head_sha`` from exactly these config files."""
    if manifest.head_sha != head_sha:
        raise PlanStale(
            f"the saved plan was made at commit {manifest.head_sha[:12]}, not at the merged "
            f"pull request's head {head_sha[:12]}"
        )
    now = digests(configs)
    if set(now) != set(manifest.configs):
        raise PlanStale(
            f"the saved plan covers {', '.join(sorted(manifest.configs))}; this apply covers "
            f"{', '.join(sorted(now))}"
        )
    changed = sorted(path for path, digest in now.items() if manifest.configs[path] != digest)
    if changed:
        raise PlanStale(
            f"{', '.join(changed)} changed after the plan was made (another merge reached the "
            "branch first?); the reviewed plan no longer describes it. Plan again in a new "
            "pull request, or require branches to be up to date before merging"
        )


def fetch(github: GitHub, sha: str, configs: Sequence[Path], directory: Path) -> PullRequest:
    """Put the reviewed plan of the pull request merged as ``sha`` into ``directory``, once
    checked against ``configs`` in the working tree; the pull request it came from."""
    pull = github.merged_pull_request(sha)
    if pull is None:
        raise PlanMissing(
            f"commit {sha[:12]} is not the merge of a pull request, so nobody reviewed a plan "
            "for it; merge changes through pull requests (or re-plan explicitly)"
        )
    name = artifact_name(artifact_key([str(path) for path in configs]), pull.head_sha)
    found = [
        artifact
        for artifact in github.artifacts(name)
        if artifact.head_sha == pull.head_sha and artifact.same_repository and not artifact.expired
    ]
    missing = (
        f"no saved plan {name} for pull request #{pull.number} (head {pull.head_sha[:12]}): "
        "the plan job did not run or failed on its last commit, or the artifact expired; "
        "plan again in a new pull request"
    )
    if not found:
        raise PlanMissing(missing)
    archive = github.download_artifact(max(found, key=lambda a: a.id).id, MAX_ARCHIVE)
    if archive is None:
        raise PlanMissing(missing)
    unpacked = unpack(archive, f"artifact {name}")
    check_fresh(unpacked.manifest, pull.head_sha, configs)
    unpacked.write(directory)  # only a plan that may be applied is left for apply
    return pull
