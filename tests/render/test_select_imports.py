"""A single project's plan never loads the several-projects renderers: they cost start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "licenzy.yaml.example"
SEVERAL = {"licenzy_sync.render.projects", "licenzy_sync.render.markdown"}
PROGRAM = """
import json, sys
from licenzy_sync.cli import main
try:
    main(json.loads(sys.argv[1]))
except SystemExit:
    pass
sys.__stdout__.write("\\n" + json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_one_project_s_plan_imports_no_renderer_of_several(tmp_path: Path, fmt: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "LICENZY_SYNC_SANDBOX_DIR": str(tmp_path / "sandbox")}
    seed = ["sandbox", "seed", "-c", str(EXAMPLE)]
    subprocess.run(
        [sys.executable, "-m", "licenzy_sync", *seed], env=env, check=True,
        capture_output=True, timeout=120,
    )
    plan = ["plan", "--sandbox", "-c", str(EXAMPLE), "--format", fmt]
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, json.dumps(plan)], env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    assert "licenzy_sync.plan.planner" in modules, done.stderr  # it did plan
    assert not modules & SEVERAL
