"""Five `apply` processes started together on the same file end in one correct state."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.plan.world import World

PROCESSES = 5


def test_concurrent_applies_end_in_one_correct_state(world: World) -> None:
    started = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "licenzy_sync",
                "apply",
                "-c",
                str(world.config),
                "--auto-approve",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for _ in range(PROCESSES)
    ]
    results = [(process.wait(timeout=120), *process.communicate()) for process in started]
    for code, out, err in results:
        assert code == 0, out + err
        assert "Traceback" not in out + err
        world.outputs.append(out + err)
    world.assert_converged()
    with world.portal() as portal:
        for mode in ("test", "live"):
            listed = portal.get("/products", params={"mode": mode, "limit": 100}).json()
            codes = [product["code"] for product in listed["data"]]
            assert sorted(codes) == sorted(set(codes))
