"""Pick a renderer by name; each is imported only when chosen."""

from __future__ import annotations

from licenzy_sync.output import Console
from licenzy_sync.plan.model import Plan


def render(plan: Plan, fmt: str, console: Console) -> str:
    if fmt == "json":
        from licenzy_sync.render.json_render import render_json

        return render_json(plan)
    if fmt == "markdown":
        from licenzy_sync.render.markdown import render_markdown

        return render_markdown(plan)
    from licenzy_sync.render.text import render_text

    return render_text(plan, console.style)
