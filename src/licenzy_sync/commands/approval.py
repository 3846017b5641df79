"""Who may let an apply write: a person at a terminal, or CI that said --auto-approve.

Live changes need the project id typed back; without a terminal and without --auto-approve
nothing is written and the command says what needed approval (it never waits for input that
cannot come).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from licenzy_sync.errors import EXIT_INVALID, LicenzySyncError
from licenzy_sync.output import Console
from licenzy_sync.plan.model import Plan


class NotApproved(LicenzySyncError):
    exit_code = EXIT_INVALID


def live_banner(plan: Plan, console: Console) -> None:
    live = [r for r in plan.changes if r.mode == "live"]
    if not live:
        return
    console.err(
        console.style(
            f"LIVE MODE: {len(live)} change(s) to live billing of {plan.project}:",
            "red",
            "bold",
            stream_color=console.err_color,
        )
    )
    for resource in live:
        console.err(f"  {resource.action:8} {resource.address}")


def approve(plans: Sequence[Plan], console: Console, *, auto_approve: bool) -> None:
    """Returns when the changes may be written; raises NotApproved otherwise. One approval
    covers every project; live changes need every such project's id typed back (in any
    order), so nobody approves live billing of a project by accident."""
    if auto_approve:
        return
    several = len(plans) > 1
    changes = sum(len(plan.changes) for plan in plans)
    live = sum(1 for plan in plans for r in plan.changes if r.mode == "live")
    where = f"{changes} change(s)" + (f" in {len(plans)} project(s)" if several else "")
    if not sys.stdin.isatty():
        raise NotApproved(
            f"apply needs approval for {where} ({live} live) and there is no terminal to ask; "
            f"review the plan{'s' * several} above and run again with --auto-approve"
        )
    live_projects = [p.project for p in plans if any(r.mode == "live" for r in p.changes)]
    if live_projects:
        answer = click.prompt(
            f"{_ask_ids(live_projects, several)} to apply {where}, {live} of them live",
            default="",
            show_default=False,
            err=True,
        )
        typed = sorted(answer.split()) if several else [answer.strip()]
        if typed != sorted(live_projects):
            ids = "ids were" if several else "id was"
            raise NotApproved(f"apply cancelled: the project {ids} not typed back")
        return
    answer = click.prompt(
        f"Apply {where}? Only 'yes' is accepted", default="", show_default=False, err=True
    )
    if answer.strip() != "yes":
        raise NotApproved("apply cancelled")


def _ask_ids(live_projects: Sequence[str], several: bool) -> str:
    if not several:
        return f"Type the project id ({live_projects[0]})"
    return (
        f"Type the project id{'s' * (len(live_projects) > 1)} with live changes "
        f"({' '.join(live_projects)})"
    )
