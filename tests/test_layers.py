"""Which modules may import the sandbox: the sandbox itself and the command layer that
chooses transports. Any other import, at the top of a module or inside a function, would let
the core depend on the emulators it is tested against."""

from __future__ import annotations

import ast
from pathlib import Path

import licenzy_sync

PACKAGE = Path(licenzy_sync.__file__).parent
SANDBOX = "licenzy_sync.sandbox"
ALLOWED = ("sandbox/", "commands/", "cli.py")


def _package_of(path: Path) -> str:
    """The package a relative import in ``path`` starts from."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1])


def _imported(source: str, package: str) -> list[str]:
    """Every module (or module attribute) an import statement in ``source`` names, wherever
    the statement sits; relative ones made absolute from ``package``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, node.module or ""] if node.level else [node.module or ""])
            base = base.rstrip(".")
            found += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return found


def _reaches_sandbox(name: str) -> bool:
    return name == SANDBOX or name.startswith(SANDBOX + ".")


def sandbox_imports_outside_allowed() -> list[str]:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        if where.startswith(ALLOWED):
            continue
        names = _imported(path.read_text("utf-8"), _package_of(path))
        offenders += [f"{where}: imports {name}" for name in names if _reaches_sandbox(name)]
    return offenders


def test_no_core_module_imports_the_sandbox() -> None:
    assert sandbox_imports_outside_allowed() == []


def test_the_check_sees_lazy_and_relative_imports() -> None:
    source = (
        "def f():\n"
        "    from licenzy_sync.sandbox.inprocess import sandbox_transports\n"
        "import licenzy_sync.sandbox.app\n"
        "from licenzy_sync import sandbox\n"
        "from .sandbox import app\n"
        "from ..sandbox.store import Store\n"
    )
    found = [name for name in _imported(source, "licenzy_sync.plan") if _reaches_sandbox(name)]
    assert sorted(found) == [
        "licenzy_sync.sandbox",
        "licenzy_sync.sandbox.app",
        "licenzy_sync.sandbox.inprocess",
        "licenzy_sync.sandbox.inprocess.sandbox_transports",
        "licenzy_sync.sandbox.store",
        "licenzy_sync.sandbox.store.Store",
    ]
