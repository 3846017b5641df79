"""Run the CLI on a real pseudo-terminal, as a person at a keyboard would."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

PROMPT = b"Type the project id"


def run_in_terminal(args: list[str], answer: str, timeout: float = 60.0) -> tuple[int, str]:
    """Start `licenzy-sync ARGS` on a pty, type ``answer`` at the prompt, return status and
    everything the terminal showed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "licenzy_sync", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    os.close(follower)
    seen = b""
    answered = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not answered and PROMPT in seen:
            os.write(leader, answer.encode())
            answered = True
        if process.poll() is not None and not ready:
            break
    else:
        process.kill()
    os.close(leader)
    return process.wait(timeout=10), seen.decode(errors="replace")
