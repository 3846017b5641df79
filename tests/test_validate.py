"""`validate` and `schema` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from licenzy_sync.config.schema import json_schema_text
from tests.cli_runner import run_cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "licenzy.yaml.example"

BASE = """version: 1
project: proj_x
licenzy:
  token: ${LICENZY_PORTAL_TOKEN}
modes:
  test:
    stripe:
      secret_key: ${STRIPE_TEST_SECRET_KEY}
"""


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "licenzy.yaml"
    path.write_text(BASE + body)
    return path


def test_example_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "validate", "-c", str(EXAMPLE))
    assert result.code == 0, result.text
    assert "valid (3 products; modes: test, live)" in result.out


def test_example_starts_with_schema_modeline() -> None:
    assert EXAMPLE.read_text().splitlines()[0] == (
        "# yaml-language-server: $schema=./licenzy.schema.json"
    )


def test_committed_schema_is_current() -> None:
    committed = (ROOT / "licenzy.schema.json").read_text()
    assert committed == json_schema_text(), "run: licenzy-sync schema > licenzy.schema.json"


def test_schema_command_prints_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "schema")
    assert result.code == 0
    schema = json.loads(result.out)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"  # what editors support
    assert set(schema["required"]) == {"version", "project", "licenzy", "modes"}


def test_warnings_pass_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path,
        "products:\n  AA:\n    kind: subscription\n    price: {test: price_1}\n"
        "  BB:\n    kind: subscription\n    price: {test: price_1}\n",
    )
    relaxed = run_cli(capsys, "validate", "-c", str(path))
    assert relaxed.code == 0, relaxed.text
    assert "warning LZ009 products.BB.price.test" in relaxed.out
    strict = run_cli(capsys, "validate", "--strict", "-c", str(path))
    assert strict.code == 3


def test_all_findings_reported_in_one_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        "products:\n  bad_code:\n    kind: usage_pack\n    price: {test: prod_1}\n",
    )
    result = run_cli(capsys, "validate", "-c", str(path))
    assert result.code == 3
    for rule in ("LZ002", "LZ004", "LZ005"):
        assert f" {rule} " in result.out


def test_missing_file_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "validate", "-c", str(tmp_path / "nope.yaml"))
    assert result.code == 1
    assert "no such file" in result.err
    assert "Traceback" not in result.text


def test_usage_error_exits_1_not_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 2 means "changes" to CI scripts; a typo must never look like that."""
    result = run_cli(capsys, "validate", "--no-such-flag")
    assert result.code == 1


def test_env_values_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = "sk_live_PLANTEDvalue0042"
    monkeypatch.setenv("STRIPE_TEST_SECRET_KEY", planted)
    path = write(tmp_path, "products: {}\n")
    result = run_cli(capsys, "validate", "-c", str(path))
    assert result.code == 3
    assert "LZ021" in result.out
    assert planted not in result.text
    assert "sk_live_..." in result.out


def test_help_and_validate_do_not_import_heavy_modules() -> None:
    code = (
        "import sys; from licenzy_sync.cli import main\n"
        "for args in (['--help'], ['validate', '-c', sys.argv[1]]):\n"
        "    try:\n        main(args)\n    except SystemExit: pass\n"
        "heavy = {'stripe', 'httpx', 'jinja2'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(EXAMPLE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import licenzy_sync.cli, sys; assert 'stripe' not in sys.modules",
            ],
            check=False,
        ).returncode
        == 0
    )


def test_help_imports_no_config_loader_and_validate_scans_no_plugins() -> None:
    """What start-up leaves for later: `--help` reads no package metadata and loads neither
    pydantic nor YAML; `validate` never asks for pydantic's plugins (an entry-point scan of
    every installed distribution)."""
    code = (
        "import sys\n"
        "from licenzy_sync.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit: pass\n"
        "early = {'importlib.metadata', 'pydantic', 'yaml', 'licenzy_sync.config.load'}\n"
        "assert not early & set(sys.modules), early & set(sys.modules)\n"
        "import importlib.metadata as m\n"
        "scans = []\n"
        "original = m.entry_points\n"
        "m.entry_points = lambda **kw: scans.append(kw) or original(**kw)\n"
        "try:\n    main(['validate', '-c', sys.argv[1]])\nexcept SystemExit: pass\n"
        "assert 'pydantic' in sys.modules\n"
        "assert not [kw for kw in scans if kw.get('group') == 'pydantic'], scans\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(EXAMPLE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_plan_on_the_in_process_sandbox_loads_no_network_stack(tmp_path: Path) -> None:
    """httpcore and h11 (connections, the HTTP/1.1 parser) are for the network only."""
    code = (
        "import sys\n"
        "from licenzy_sync.cli import main\n"
        "for args in (['sandbox', 'seed'], ['plan', '--sandbox']):\n"
        "    try:\n        main([*args, '-c', sys.argv[1]])\n    except SystemExit: pass\n"
        "assert 'licenzy_sync.sandbox.inprocess' in sys.modules\n"
        "network = {'httpcore', 'h11'} & set(sys.modules)\n"
        "assert not network, network\n"
    )
    env = {**os.environ, "LICENZY_SYNC_SANDBOX_DIR": str(tmp_path / "sandbox")}
    done = subprocess.run(
        [sys.executable, "-c", code, str(EXAMPLE)],
        capture_output=True, text=True, check=False, env=env,
    )
    assert done.returncode == 0, done.stderr


def test_module_entry_point_and_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "licenzy_sync", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "licenzy-sync, version" in done.stdout


def test_portal_none_needs_no_token_and_runtime_keys_of_the_right_mode_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "licenzy.yaml"
    path.write_text(
        "version: 1\nproject: proj_x\nlicenzy: {portal: none}\nmodes:\n  test:\n"
        "    stripe: {secret_key: '${STRIPE_TEST_SECRET_KEY}'}\n"
        "    licenzy: {api_key: '${LICENZY_TEST_API_KEY}'}\n"
    )
    monkeypatch.setenv("LICENZY_TEST_API_KEY", "lz_test_PLANTEDruntime0003")
    result = run_cli(capsys, "validate", "-c", str(path))
    assert result.code == 0, result.text
    assert "PLANTED" not in result.text



def write_product(tmp_path: Path, code: str) -> Path:
    return write(
        tmp_path,
        f"products:\n  {code}:\n    kind: time_pass\n    duration_days: 1\n"
        "    price: {test: price_1}\n",
    )


@pytest.mark.parametrize("code", ["SUB_MONTHLY", "PLAN_PRO", "CS_SEATS", "PI_DAY", "PRICE_1ABC"])
def test_upper_case_codes_with_a_stripe_prefix_are_valid(
    code: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Observed: LZ003 matched Stripe prefixes case-insensitively and refused these codes,
    in `validate` and in the schema; Stripe ids start with a lower-case prefix, codes never do."""
    import jsonschema
    import yaml

    path = write_product(tmp_path, code)
    result = run_cli(capsys, "validate", "-c", str(path))
    assert result.code == 0, result.text
    schema = json.loads(json_schema_text())
    assert jsonschema.Draft7Validator(schema).is_valid(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize(
    "code", ["price_1Abc", "prod_NWjs8kKbJWmuuc", "sub_1Mr5jU", "cs_test_a1B2"]
)
def test_what_can_really_be_a_stripe_id_is_lz003(
    code: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "validate", "-c", str(write_product(tmp_path, code)))
    assert result.code == 3
    assert f"LZ003 products.{code}:" in result.out
    assert "LZ002" not in result.out


def test_one_product_is_counted_in_the_singular(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12, observation 3: validate said "1 products"."""
    path = write(
        tmp_path,
        "products:\n  PRO:\n    kind: subscription\n    name: Pro\n    price: {test: price_1}\n",
    )
    result = run_cli(capsys, "validate", "-c", str(path))
    assert result.code == 0, result.text
    assert "valid (1 product; modes: test)" in result.out
