"""The apply job applies the plan reviewed on the pull request, or refuses.

A pull request's plan job (`plan --out` + `github pack-plan`) and, after the merge, the apply
job (`github fetch-plan` + `apply PLANFILE`) run for real against the sandbox (Stripe and
Licenzy emulators) and the fake GitHub API with its artifact store, all over loopback HTTP.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from licenzy_sync.reviewed_plan import artifact_key, artifact_name
from tests.cli_runner import Result
from tests.github.conftest import REPOSITORY, TOKEN, run
from tests.github.fake_github import FakeGitHub
from tests.world import CONFIG, World, served

HEAD = "a" * 40
OLDER_HEAD = "b" * 40
MERGE = "c" * 40
PLAN_DIR = Path(".licenzy-plan")


@dataclass
class Repo:
    """A repository with licenzy.yaml, its GitHub (fake) and its billing systems (sandbox)."""

    world: World
    fake: FakeGitHub
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def run(self, *args: str) -> Result:
        result = run(self.capsys, *args)
        self.world.outputs.append(result.text)
        return result

    def plan_job(self, head: str) -> tuple[str, bytes]:
        """The pull request's plan job at ``head``: the artifact name and archive it uploads."""
        event = self.tmp_path / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": 1, "head": {"sha": head}}}))
        self.monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
        PLAN_DIR.mkdir(exist_ok=True)
        out = str(PLAN_DIR / "plan.json")
        planned = self.run("plan", "-c", "licenzy.yaml", "--out", out, "--detailed-exitcode")
        assert planned.code == 2, planned.text
        packed = self.run("github", "pack-plan", "-c", "licenzy.yaml")
        assert packed.code == 0, packed.text
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:  # what upload-artifact makes of the folder
            for path in sorted(PLAN_DIR.iterdir()):
                zipped.write(path, path.name)
        for path in PLAN_DIR.iterdir():  # the apply job runs in a fresh checkout
            path.unlink()
        return packed.out.strip(), archive.getvalue()

    def upload(self, head: str, **kind: bool) -> bytes:
        name, archive = self.plan_job(head)
        self.fake.add_artifact(name, head, archive, **kind)
        return archive

    def merged(self, head: str = HEAD) -> None:
        number = self.fake.add_pull_request()
        self.fake.merge(number, head, MERGE)

    def fetch(self) -> Result:
        self.monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
        self.monkeypatch.setenv("GITHUB_SHA", MERGE)
        return self.run("github", "fetch-plan", "-c", "licenzy.yaml")

    def summary(self) -> str:
        return (self.tmp_path / "summary.md").read_text()


@pytest.fixture
def repo(
    fake: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Repo]:
    monkeypatch.chdir(tmp_path)
    for world in served(World(tmp_path, capsys), monkeypatch, World.seed):
        with fake.serve() as url:
            monkeypatch.setenv("GITHUB_API_URL", url)
            monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
            monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
            monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
            yield Repo(world, fake, tmp_path, monkeypatch, capsys)


def test_the_merged_pull_requests_reviewed_plan_is_applied(repo: Repo) -> None:
    repo.upload(OLDER_HEAD)  # an earlier push to the same pull request: not the reviewed one
    reviewed = repo.upload(HEAD)
    repo.merged()

    fetched = repo.fetch()

    assert fetched.code == 0, fetched.text
    assert fetched.out == f"{PLAN_DIR / 'plan.json'}\n"
    assert "reviewed plan of pull request #" in fetched.err
    with zipfile.ZipFile(io.BytesIO(reviewed)) as zipped:
        assert (PLAN_DIR / "plan.json").read_bytes() == zipped.read("plan.json")
    applied = repo.run("apply", str(PLAN_DIR / "plan.json"), "--auto-approve")
    assert applied.code == 0, applied.text
    repo.world.assert_converged()
    blobs = [r for r in repo.fake.requests if r.path.startswith("/_blobs/")]
    assert [(r.host.split(":")[0], r.authorization) for r in blobs] == [("localhost", None)]


def test_a_config_changed_after_the_plan_refuses_the_apply(repo: Repo) -> None:
    repo.upload(HEAD)
    repo.merged()
    Path("licenzy.yaml").write_text(CONFIG.replace("name: Pro", "name: Pro (merged later)"))

    result = repo.fetch()

    assert result.code == 3, result.text
    assert "licenzy.yaml changed after the plan was made" in result.err
    assert "apply refused" in repo.summary()
    assert result.out == ""
    assert not (PLAN_DIR / "plan.json").exists()


def test_a_stale_reviewed_plan_fails_the_apply_without_writing(repo: Repo) -> None:
    repo.upload(HEAD)
    repo.merged()
    repo.world.create_product("test", "PRO", "subscription", "price_1ProTest", name="By hand")

    assert repo.fetch().code == 0
    applied = repo.run("apply", str(PLAN_DIR / "plan.json"), "--auto-approve")

    assert applied.code == 3, applied.text
    assert "stale" in applied.err
    with repo.world.portal() as portal:
        assert portal.get("/products/test/CREDITS").status_code == 404


@pytest.mark.parametrize(
    "case", ["no artifact", "other head", "from a fork", "expired", "no pull request"]
)
def test_a_missing_reviewed_plan_fails_the_job(repo: Repo, case: str) -> None:
    if case == "other head":
        repo.upload(OLDER_HEAD)
    elif case == "from a fork":
        repo.upload(HEAD, fork=True)
    elif case == "expired":
        repo.upload(HEAD, expired=True)
    if case != "no pull request":
        repo.merged()

    result = repo.fetch()

    assert result.code == 1, result.text
    assert result.out == ""
    expected = "not the merge of a pull request" if case == "no pull request" else "no saved plan"
    assert expected in result.err
    assert "apply refused" in repo.summary()
    assert expected in repo.summary()
    assert not (PLAN_DIR / "plan.json").exists()


def test_an_artifact_name_fits_githubs_rules() -> None:
    name = artifact_name(artifact_key(["licenzy/*.yaml", "billing/eu:prod.yaml"]), HEAD)
    assert name == f"licenzy-plan-licenzy_.yaml+billing_eu_prod.yaml-{HEAD}"
    long = artifact_key([f"configs/{'x' * 200}.yaml"])
    assert len(long) == 80
    assert long != artifact_key([f"configs/{'x' * 201}.yaml"])
