"""What each command imports before it runs: only what it needs, so the CLI starts fast.

Speed itself is the benchmark's business (bench/startup_bench.py); these tests keep the
imports that were cut from coming back."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import pytest

from licenzy_sync.cli import HelpContext, LazyGroup, cli, terminal_columns
from licenzy_sync.lean_imports import PLUGINS_DISABLED, PYDANTIC_PLUGIN_LOADER
from tests.cli_runner import run_cli

EXAMPLE = Path(__file__).resolve().parent.parent / "licenzy.yaml.example"


def imported_by(*commands: list[str], env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running ``commands`` through `main`."""
    code = (
        "import json, sys\n"
        "from licenzy_sync.cli import main\n"
        "for args in json.loads(sys.argv[1]):\n"
        "    try:\n        main(args)\n    except SystemExit: pass\n"
        "sys.__stdout__.write('\\n' + json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(commands)],
        capture_output=True, text=True, check=False, env=env, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_help_imports_click_and_nothing_of_ours_but_the_entry_point() -> None:
    modules = imported_by(["--help"])
    assert "shutil" not in modules  # the width is found as shutil would (HelpContext)
    ours = {name for name in modules if name.startswith("licenzy_sync")}
    assert ours == {
        "licenzy_sync", "licenzy_sync._version", "licenzy_sync.cli", "licenzy_sync.collector",
        "licenzy_sync.errors", "licenzy_sync.redact",
    }


def test_validate_imports_neither_a_thread_pool_nor_what_online_commands_need() -> None:
    """A file is checked in one thread; nothing of the network, the sandbox or drift."""
    modules = imported_by(["validate", "-c", str(EXAMPLE)])
    assert "licenzy_sync.config.models" in modules
    online = {"concurrent.futures", "logging", "stripe", "httpx", "jinja2", "licenzy_sync.drift"}
    assert not online & modules
    assert not [name for name in modules if name.startswith("licenzy_sync.sandbox")]


def test_validate_builds_the_validator_of_config_alone() -> None:
    """Nested models are validated as part of `Config`; their own validators are built only
    if something validates them on their own (``defer_build``)."""
    code = (
        "from licenzy_sync.cli import main\n"
        "from licenzy_sync.config import models\n"
        "import sys\n"
        "try:\n    main(['validate', '-c', sys.argv[1]])\nexcept SystemExit: pass\n"
        "built = [name for name, value in vars(models).items() if isinstance(value, type)\n"
        "         and issubclass(value, models._Model) and value.__pydantic_complete__]\n"
        "assert built == ['Config'], built\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(EXAMPLE)],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("columns", [None, "", "abc", "0", "-3", "40", "79", "120"])
def test_help_is_as_wide_as_click_would_make_it(
    monkeypatch: pytest.MonkeyPatch, columns: str | None
) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns
    ours = HelpContext(cli).make_formatter()
    assert ours.width == click.HelpFormatter().width
    monkeypatch.setattr(click.formatting, "FORCED_WIDTH", 66)
    assert HelpContext(cli).make_formatter().width == 66


@pytest.mark.parametrize("name", sorted(LazyGroup.lazy))
def test_a_clipped_summary_is_the_first_sentence_of_the_command_s_help(name: str) -> None:
    """Listed commands are not imported; a clipped summary then shortens exactly like the
    command's own help would, at any width."""
    entry = LazyGroup.lazy[name]
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    if entry.clipped:
        assert command.get_short_help_str(10_000) == entry.summary
        for limit in (30, 45, 66):
            assert click.Command(name, help=entry.summary).get_short_help_str(
                limit
            ) == command.get_short_help_str(limit)


@pytest.mark.parametrize("columns", ["60", "80", "200"])
def test_validate_and_schema_listed_as_click_shortens_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    listing = run_cli(capsys, "--help").out
    limit = max(min(int(columns), 80) - 2, 50) - 6 - len("validate")
    for name in ("schema", "validate"):
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        assert f"  {name:<8}  {command.get_short_help_str(limit)}\n" in listing


def test_plan_on_the_sandbox_imports_no_unused_http_library(tmp_path: Path) -> None:
    """The stripe SDK's default clients (requests; httpx with anyio for async calls), what
    it sleeps with between async retries (asyncio) and httpx's command-line client (rich,
    pygments) are never used: they are not imported, and stay importable for anyone who
    wants them."""
    env = {**os.environ, "LICENZY_SYNC_SANDBOX_DIR": str(tmp_path / "sandbox")}
    config = str(EXAMPLE)
    seed, plan = ["sandbox", "seed", "-c", config], ["plan", "--sandbox", "-c", config]
    modules = imported_by(seed, plan, env=env)
    assert {"stripe", "httpx", "licenzy_sync.sandbox.inprocess"} <= modules
    unused = {"requests", "urllib3", "anyio", "rich", "pygments", "httpx._main", "asyncio"}
    assert not unused & modules
    assert "licenzy_sync.drift" not in modules
    assert importlib.util.find_spec("requests") is not None  # installed, so it was avoided


def _planned_on_seeded_sandbox(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> set[str]:
    """The modules `plan --sandbox` of the example holds, the sandbox seeded in this process
    (seeding imports what the plan must not, e.g. mimetypes for its server)."""
    monkeypatch.setenv("LICENZY_SYNC_SANDBOX_DIR", str(tmp_path / "sandbox"))
    assert run_cli(capsys, "sandbox", "seed", "-c", str(EXAMPLE)).code == 0
    return imported_by(["plan", "--sandbox", "-c", str(EXAMPLE)], env=dict(os.environ))


def test_plan_on_the_sandbox_imports_neither_uploads_nor_international_host_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """httpx's file uploads (mimetypes) and international host names (the idna package)
    are never used; seeding imports mimetypes for its server, the plan does not."""
    modules = _planned_on_seeded_sandbox(capsys, monkeypatch, tmp_path)
    assert "httpx" in modules
    assert not {"mimetypes", "idna"} & modules
    assert importlib.util.find_spec("idna") is not None  # installed, so it was avoided


def test_plan_on_the_sandbox_imports_no_tls(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An in-process sandbox negotiates no TLS: neither ssl nor its C module is loaded."""
    modules = _planned_on_seeded_sandbox(capsys, monkeypatch, tmp_path)
    assert {"httpx", "stripe"} <= modules
    assert not {"ssl", "_ssl"} & modules


def test_the_http_modules_get_the_real_ssl_when_a_client_first_uses_it() -> None:
    """The certificate store of an https client is a real SSLContext, and the stand-in the
    standard library's HTTP modules got under httpx answers from the real module from then
    on (``http.client`` still has its HTTPS connection)."""
    code = (
        "import sys\n"
        "from licenzy_sync.lean_imports import httpx, stripe\n"
        "from licenzy_sync.providers import wire\n"
        "assert 'ssl' not in sys.modules\n"
        "context = wire.tls_for(httpx.URL('https://api.stripe.com/'))\n"
        "import ssl\n"
        "assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED\n"
        "import http.client, urllib.request\n"
        "assert http.client.ssl.SSLContext is urllib.request.ssl.SSLContext is ssl.SSLContext\n"
        "assert http.client.HTTPSConnection\n"
        "with wire.client('Stripe', 'https://api.stripe.com', {}):\n"
        "    pass\n"
    )
    _run_python(code, dict(os.environ))


def _installed_pydantic_plugin(root: Path) -> dict[str, str]:
    """A package announcing a pydantic plugin, as a distribution installs one; the
    environment that puts it on the path, without any PYDANTIC_DISABLE_PLUGINS."""
    info = root / "lz_probe_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lz-probe-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pydantic]\nprobe = lz_probe_plugin:plugin\n")
    (root / "lz_probe_plugin.py").write_text(
        "class _Plugin:\n"
        "    def new_schema_validator(self, *args, **kwargs):\n"
        "        return None, None, None\n"
        "plugin = _Plugin()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    return {**env, "PYTHONPATH": os.pathsep.join([str(root), *sys.path])}


def test_validate_does_not_look_for_pydantic_plugins(tmp_path: Path) -> None:
    """Looking for them reads every installed package's metadata on each run."""
    env = _installed_pydantic_plugin(tmp_path)
    assert "lz_probe_plugin" not in imported_by(["validate", "-c", str(EXAMPLE)], env=env)


def test_a_pydantic_plugin_setting_of_the_environment_is_kept(tmp_path: Path) -> None:
    env = {**_installed_pydantic_plugin(tmp_path), "PYDANTIC_DISABLE_PLUGINS": "another"}
    assert "lz_probe_plugin" in imported_by(["validate", "-c", str(EXAMPLE)], env=env)


def test_validate_does_not_import_pydantic_s_plugin_loader(tmp_path: Path) -> None:
    """The loader imports importlib.metadata (and email, zipfile) just to look plugins up;
    with every plugin disabled a stand-in answers for it, and nothing imports that."""
    modules = imported_by(["validate", "-c", str(EXAMPLE)])
    assert "pydantic.plugin._schema_validator" in modules  # a model was built
    assert not {"importlib.metadata", "email", "zipfile"} & modules


def test_validate_does_not_import_secrets_for_pydantic_s_secret_types() -> None:
    """pydantic's types module compares its secret types' values with `secrets`, which
    pulls in hmac, hashlib and random; licenzy.yaml has no such value."""
    modules = imported_by(["validate", "-c", str(EXAMPLE)])
    assert "pydantic.types" in modules
    assert not {"secrets", "hmac", "random"} & modules


def _run_python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("value", PLUGINS_DISABLED)
def test_pydantic_s_own_loader_looks_for_no_plugin_where_the_stand_in_says_none(
    tmp_path: Path, value: str
) -> None:
    """The stand-in's "none" is pydantic's own answer to the same setting: were pydantic to
    stop honouring one of these values, this fails rather than plugins going missing."""
    env = {**_installed_pydantic_plugin(tmp_path), "PYDANTIC_DISABLE_PLUGINS": value}
    code = "from pydantic.plugin._loader import get_plugins\nprint(len(list(get_plugins())))"
    assert _run_python(code, env) == "0"
    env["PYDANTIC_DISABLE_PLUGINS"] = "another"
    assert _run_python(code, env) == "1"


def test_the_stand_in_gives_way_to_pydantic_s_loader_for_anything_else() -> None:
    code = (
        "import sys\n"
        "import licenzy_sync.config\n"
        f"stand_in = sys.modules[{PYDANTIC_PLUGIN_LOADER!r}]\n"
        "print(stand_in.PYDANTIC_ENTRY_POINT_GROUP)\n"
        f"real = sys.modules[{PYDANTIC_PLUGIN_LOADER!r}]\n"
        "print(real is not stand_in, real.get_plugins is not stand_in.get_plugins)\n"
    )
    assert _run_python(code, dict(os.environ)).splitlines() == ["pydantic", "True True"]


def test_pydantic_s_secret_types_compare_with_the_real_secrets_when_first_used() -> None:
    code = (
        "import sys\n"
        "import licenzy_sync.config\n"
        "from pydantic import SecretStr, types\n"
        "assert 'secrets' not in sys.modules\n"
        "print(SecretStr('a') == SecretStr('a'), SecretStr('a') == SecretStr('b'))\n"
        "import secrets\n"
        "print(types.secrets.compare_digest is secrets.compare_digest)\n"
    )
    assert _run_python(code, dict(os.environ)).splitlines() == ["True False", "True"]


def test_plan_on_the_sandbox_imports_neither_seeding_nor_what_only_other_runs_need(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A plan checks that the sandbox was seeded but never seeds."""
    modules = _planned_on_seeded_sandbox(capsys, monkeypatch, tmp_path)
    assert "licenzy_sync.sandbox.seeded" in modules
    unused = {
        "licenzy_sync.sandbox.seed", "licenzy_sync.sandbox.server", "licenzy_sync.sandbox.cli",
        "licenzy_sync.github", "licenzy_sync.importer", "licenzy_sync.verify",
        "licenzy_sync.apply.converge", "licenzy_sync.render.json_render", "jinja2",
    }
    assert not unused & modules
    # the emulator's Stripe spec is read beside its module, not through importlib.resources
    assert not {"importlib.resources", "importlib.readers", "zipfile"} & modules


def test_hidden_libraries_are_importable_again_after() -> None:
    code = (
        "import sys\n"
        "from licenzy_sync.lean_imports import httpx, stripe\n"
        "import requests, anyio\n"
        "assert callable(httpx.Client) and callable(stripe.StripeClient)\n"
        "assert 'asyncio' not in sys.modules\n"
        "from stripe import _http_client\n"
        "sleep = _http_client.asyncio.sleep  # what the SDK uses asyncio for\n"
        "import asyncio\n"
        "assert sleep is asyncio.sleep and asyncio.run(asyncio.sleep(0, 'ok')) == 'ok'\n"
    )
    _run_python(code, dict(os.environ))


def test_httpx_uses_the_modules_it_got_stand_ins_for_as_it_would_the_real_ones() -> None:
    """An international host name is encoded with the idna package, an uploaded file's type
    guessed with mimetypes: both are imported then, and answer as if imported first."""
    code = (
        "import sys\n"
        "from licenzy_sync.lean_imports import httpx\n"
        "assert not {'idna', 'mimetypes'} & set(sys.modules)\n"
        "assert httpx.URL('https://bücher.example/').raw_host == b'xn--bcher-kva.example'\n"
        "assert httpx.URL('https://xn--bcher-kva.example/').host == 'bücher.example'\n"
        "with httpx.Client(transport=httpx.MockTransport(\n"
        "    lambda request: httpx.Response(200, content=request.read()))) as client:\n"
        "    body = client.post('http://x/', files={'f': ('a.json', b'{}')}).content\n"
        "assert b'Content-Type: application/json' in body, body\n"
        "import idna, mimetypes\n"
        "from httpx import _multipart, _urlparse\n"
        "assert _urlparse.idna.encode is idna.encode\n"
        "assert _multipart.mimetypes.guess_type is mimetypes.guess_type\n"
    )
    _run_python(code, dict(os.environ))


def test_httpcore_gets_anyio_when_it_first_locks_for_an_async_caller() -> None:
    code = (
        "import asyncio, sys\n"
        "from licenzy_sync.lean_imports import httpcore\n"
        "assert 'anyio' not in sys.modules\n"
        "from httpcore._synchronization import AsyncLock\n"
        "async def locked():\n"
        "    async with AsyncLock():\n"
        "        return 'ok'\n"
        "assert asyncio.run(locked()) == 'ok'\n"
        "import anyio\n"
        "assert httpcore._synchronization.anyio.Lock is anyio.Lock\n"
    )
    _run_python(code, dict(os.environ))


def _type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _runtime_imports(tree: ast.AST, inside: bool = False) -> list[tuple[int, str]]:
    """(line, module) of every import outside ``if TYPE_CHECKING:`` blocks."""
    found = []
    for child in ast.iter_child_nodes(tree):
        hidden = inside or _type_checking_block(child)
        if not hidden and isinstance(child, ast.Import):
            found += [(child.lineno, alias.name) for alias in child.names]
        elif not hidden and isinstance(child, ast.ImportFrom) and child.level == 0:
            found.append((child.lineno, child.module or ""))
        found += _runtime_imports(child, hidden)
    return found


def test_httpx_and_the_stripe_sdk_are_imported_only_through_lean_imports() -> None:
    """A direct `import httpx` that runs first loads httpx's command-line client (rich,
    pygments) wherever those are installed; one of stripe loads `requests`; one of httpcore
    loads anyio."""
    source = Path(__file__).resolve().parent.parent / "src" / "licenzy_sync"
    direct = [
        f"{path.relative_to(source)}:{line}: {module}"
        for path in sorted(source.rglob("*.py"))
        if path.name != "lean_imports.py"
        for line, module in _runtime_imports(ast.parse(path.read_text()))
        if module.split(".")[0] in ("httpcore", "httpx", "stripe")
    ]
    assert direct == []



class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def loopback_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_request_over_the_network_imports_no_async_or_upload_code(
    loopback_server: str,
) -> None:
    """The first request through real sockets loads httpcore (with h11) without anyio, and
    httpx without mimetypes or the idna package."""
    code = (
        "import sys\n"
        "from licenzy_sync.providers import wire\n"
        "client = wire.client('Licenzy', sys.argv[1], {})\n"
        "request = client.build_request('GET', '/ok')\n"
        "assert wire.exchange(client, request, system='Licenzy').json() == {}\n"
        "assert {'licenzy_sync.providers.sockets', 'h11'} <= set(sys.modules)\n"
        "print(sorted({'anyio', 'idna', 'mimetypes'} & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, loopback_server],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
