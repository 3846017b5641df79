"""What a new user meets in the first hour, run as they run it: the README's "Try it" line,
moving to a served sandbox as the README suggests, and a plan before seeding."""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from licenzy_sync.cli import cli
from licenzy_sync.rules.catalog import RULES
from tests.cli_runner import Result, run_cli
from tests.sandbox.test_served import start

ROOT = Path(__file__).resolve().parent.parent
ENDPOINT_ENV = ("LICENZY_URL", "LICENZY_SYNC_STRIPE_API_BASE", "LICENZY_SYNC_SANDBOX_DIR")
EXAMPLE_ENV = ("LICENZY_PORTAL_TOKEN", "STRIPE_TEST_SECRET_KEY", "STRIPE_LIVE_SECRET_KEY")


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh git repository holding the example, as the working directory; no endpoint or
    credential from the surrounding environment."""
    for name in (*ENDPOINT_ENV, *EXAMPLE_ENV, "LICENZY_LIVE_API_KEY", "LICENZY_TEST_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "licenzy.yaml.example").write_bytes((ROOT / "licenzy.yaml.example").read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def try_it_commands() -> list[list[str]]:
    """The licenzy-sync commands of the README's "Try it" line, without the install."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"\*\*Try it\*\*.*?```sh\n(.*?)\n```", readme, re.S)
    assert block is not None
    steps = [shlex.split(step) for step in block.group(1).split("&&")]
    return [step[1:] for step in steps if step[0].endswith("/licenzy-sync")]


def no_rule_error(result: Result) -> bool:
    return result.code == 0 and not re.search(r" error (LZ\d+|schema|yaml) ", result.text)


def test_the_readme_try_it_line_runs_without_a_rule_error_and_leaves_git_clean(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = try_it_commands()
    assert [command[:2] for command in commands] == [["sandbox", "seed"], ["plan", "--sandbox"]]
    for command in commands:
        result = run_cli(capsys, *command)
        assert no_rule_error(result), (command, result.text)
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=checkout, capture_output=True, text=True, check=True
    )
    assert status.stdout == "?? licenzy.yaml.example\n", "the sandbox's state must ignore itself"


def test_seed_then_serve_then_plan_and_apply_over_http_without_a_rule_error(
    checkout: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Observed: `sandbox seed` made the hand-made live endpoint for the in-process URL, so
    moving to `sandbox serve` as the README suggests ended in LZ124. Only what the banner
    says to export is set."""
    example = "licenzy.yaml.example"
    assert run_cli(capsys, "sandbox", "seed", "-c", example).code == 0
    server = start(checkout / ".licenzy-sync" / "sandbox")
    try:
        assert any("(seeded) now delivers here" in line for line in server.banner)
        for line in server.banner:
            if line.startswith("  export "):
                name, value = line.removeprefix("  export ").split("=", 1)
                monkeypatch.setenv(name, value)
        planned = run_cli(capsys, "plan", "-c", example)
        assert no_rule_error(planned), planned.text
        assert f"{server.base}/licenzy/v1/webhooks/stripe/tenant" in planned.out
        applied = run_cli(capsys, "apply", "-c", example, "--auto-approve")
        assert no_rule_error(applied), applied.text
        again = run_cli(capsys, "plan", "-c", example, "--detailed-exitcode")
        assert again.code == 0, again.text
    finally:
        code, _, err = server.stop()
    assert code == 0, err
    for name in ENDPOINT_ENV:
        monkeypatch.delenv(name, raising=False)
    back = run_cli(capsys, "plan", "--sandbox", "-c", example)
    assert no_rule_error(back), back.text


def test_a_plan_against_an_unseeded_sandbox_says_to_seed_it(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Observed: nine findings with hints about the Licenzy portal instead."""
    for command in ("plan", "drift", "apply"):
        result = run_cli(capsys, command, "--sandbox", "-c", "licenzy.yaml.example")
        assert result.code == 1, result.text
        assert result.err == (
            "error: the sandbox in .licenzy-sync/sandbox holds no Stripe connection of "
            "proj_sandbox for test or live mode: it was not seeded for licenzy.yaml.example; "
            "run `licenzy-sync sandbox seed -c licenzy.yaml.example` first\n"
        )
        assert "LZ1" not in result.text
    text = (checkout / "licenzy.yaml.example").read_text()
    (checkout / "acme.yaml").write_text(text.replace("project: proj_sandbox", "project: Acme"))
    result = run_cli(capsys, "plan", "--sandbox", "-c", "acme.yaml")
    assert result.code == 1
    assert "holds no project 'Acme': it was not seeded for acme.yaml" in result.err


def give_stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))


def test_dash_is_stdin_for_c_and_stdout_for_out(
    checkout: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Observed: `plan --out -` wrote a file named `-`; `-c -` did not read stdin."""
    example = (checkout / "licenzy.yaml.example").read_text()
    give_stdin(monkeypatch, example)
    unseeded = run_cli(capsys, "plan", "--sandbox", "-c", "-")
    assert unseeded.code == 1
    assert unseeded.err.endswith("seeded for <stdin>; run `licenzy-sync sandbox seed -c -` first\n")
    give_stdin(monkeypatch, example)
    assert run_cli(capsys, "sandbox", "seed", "-c", "-").code == 0
    give_stdin(monkeypatch, example)
    assert run_cli(capsys, "validate", "-c", "-").out == (
        "<stdin>: valid (3 products; modes: test, live)\n"
    )
    give_stdin(monkeypatch, example)
    planned = run_cli(capsys, "plan", "--sandbox", "-c", "-", "--out", "-")
    assert planned.code == 0, planned.text
    saved = json.loads(planned.out)
    assert saved["config_file"] == "<stdin>" and saved["fingerprints"]
    assert "Plan: 11 to create" in planned.err
    assert planned.err.endswith("plan written to stdout\n")
    assert not (checkout / "-").exists()
    give_stdin(monkeypatch, example)
    applied = run_cli(capsys, "apply", "--sandbox", "-c", "-", "--auto-approve")
    assert applied.code == 0, applied.text
    assert "Stripe and Licenzy match <stdin>" in applied.out
    give_stdin(monkeypatch, example)
    drift = run_cli(capsys, "drift", "--sandbox", "-c", "-")
    assert drift.code == 0, drift.text


def test_a_config_from_stdin_is_named_stdin_in_file_line_messages(
    checkout: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    give_stdin(monkeypatch, "version: 1\nproject: proj_x\nfoo: 1\n")
    result = run_cli(capsys, "validate", "-c", "-")
    assert result.code == 3
    assert "<stdin>:3:1: error schema foo: unknown field 'foo'" in result.out


def test_apply_names_the_file_it_made_reality_match(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Observed: `apply -c prune.yaml` ended with "Stripe and Licenzy match licenzy.yaml"."""
    (checkout / "prune.yaml").write_text((checkout / "licenzy.yaml.example").read_text())
    assert run_cli(capsys, "sandbox", "seed", "-c", "prune.yaml").code == 0
    applied = run_cli(capsys, "apply", "--sandbox", "--prune", "-c", "prune.yaml", "--auto-approve")
    assert applied.code == 0, applied.text
    assert "; Stripe and Licenzy match prune.yaml. Requests:" in applied.out


def test_the_wrong_url_hint_names_no_placeholder(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Observed: LZ124's hint printed a literal `{licenzy url}`."""
    example = "licenzy.yaml.example"
    elsewhere = "http://127.0.0.1:9/licenzy"
    seeded = run_cli(capsys, "sandbox", "seed", "-c", example, "--licenzy-url", elsewhere)
    assert seeded.code == 0, seeded.text
    result = run_cli(capsys, "plan", "--sandbox", "-c", example)
    assert result.code == 3
    [finding] = [line for line in result.out.splitlines() if " error LZ124 " in line]
    assert finding.endswith(
        f"delivers to {elsewhere}/v1/webhooks/stripe/tenant, not "
        "http://sandbox.invalid/licenzy/v1/webhooks/stripe/tenant"
    )
    assert "{licenzy url}" not in result.text
    assert "hint: point it at the tenant URL this message names" in result.out


def test_a_missing_variable_on_a_real_run_does_not_suggest_the_sandbox(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Observed: the LZ023 hint suggested --sandbox, which only a trial run can use."""
    result = run_cli(capsys, "plan", "-c", "licenzy.yaml.example")
    assert result.code == 3
    assert "error LZ023 licenzy.token: ${LICENZY_PORTAL_TOKEN} is not set" in result.out
    assert "--sandbox" not in result.text


@pytest.mark.parametrize(
    ("command", "says"), [("plan", "plan"), ("drift", "check for drift"), ("verify", "verify")]
)
def test_mode_help_says_what_the_command_does(
    command: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Observed: drift's --mode help said "Which mode blocks to plan"."""
    text = " ".join(run_cli(capsys, command, "--help").out.split())
    assert f"Which mode blocks to {says}. [default: all]" in text


REPOSITORY_ONLY = re.compile(r"docs/|design/|\.example\b|examples/|README")


def every_command(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            yield from every_command(command, (*prefix, name))
        elif command is not None:
            yield (*prefix, name)


def test_no_help_and_no_hint_names_a_file_only_this_repository_has(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Observed: hints and help named licenzy.yaml.example and docs/ files, which a pip
    install does not have."""
    commands = list(every_command(cli))
    assert ("init",) in commands and ("sandbox", "seed") in commands
    for command in commands:
        text = run_cli(capsys, *command, "--help").out
        assert not REPOSITORY_ONLY.search(text), (command, text)
    hints = {rule.id: rule.hint for rule in RULES.values() if REPOSITORY_ONLY.search(rule.hint)}
    assert set(hints) <= {"LZ140"}, hints  # "the README" as a document, not a path
