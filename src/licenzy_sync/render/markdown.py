"""`plan --format markdown`: the plan as one sticky pull-request comment.

The layout lives in templates/plan.md.j2; this module decides what goes in and guarantees the
size. GitHub refuses comments over 65,536 characters, and a refused comment means reviewers see
no plan at all, so when the full text is too long the details are dropped from the end first,
then findings beyond the first ones that fit, and the comment says exactly what was left out.

jinja2 is imported here, inside the functions, so commands that never render Markdown do not
pay for it at start-up.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from licenzy_sync.plan.canonical import canonical
from licenzy_sync.plan.model import Plan, ResourceChange
from licenzy_sync.plan.secret_screen import ensure_secret_free
from licenzy_sync.render.blocking import (
    blocked_by,
    blocked_note,
    errors_line,
    targeting_line,
)
from licenzy_sync.render.changes import reason, replace_notes, sections, shown
from licenzy_sync.render.findings_text import printable, summary
from licenzy_sync.render.text import SYMBOLS, VERBS

if TYPE_CHECKING:
    import jinja2

GITHUB_COMMENT_LIMIT = 65_536
MARKER_PREFIX = "<!-- licenzy-sync:plan project="
FULL_PLAN_COMMAND = "licenzy-sync plan --format text"

# Longest user-controlled strings shown, before escaping; they bound the size of every part of
# the comment, which is what makes the size guarantee hold for any input.
CAP_NAME = 300
CAP_TEXT = 1_000
CAP_VALUE = 1_000

# Backslash-escaped in Markdown text: everything that can start emphasis, code, a link or an
# image, or split a table cell. Line-start syntax (#, -, +, >) never applies because no user
# string starts a line in the template.
_MARKDOWN_PUNCTUATION = "\\`*_[]()!|~"
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# A zero-width space after @ keeps a name like "@org/team" from notifying anyone.
_AT = "@&#8203;"
_MARKDOWN_TABLE = str.maketrans({**_HTML, **{c: "\\" + c for c in _MARKDOWN_PUNCTUATION}, "@": _AT})
_HTML_TABLE = str.maketrans({**_HTML, '"': "&quot;", "'": "&#39;", "@": _AT})


def measure(text: str) -> int:
    """Length as GitHub may count it: UTF-16 code units, never fewer than code points."""
    return len(text.encode("utf-16-le")) // 2


def _cap(text: str, limit: int) -> str:
    text = printable(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def escape_markdown(text: str, limit: int = CAP_TEXT) -> str:
    """User text for Markdown context: no formatting, links, images, HTML, table breaks or pings."""
    return _cap(text, limit).translate(_MARKDOWN_TABLE)


def escape_html(text: str, limit: int = CAP_TEXT) -> str:
    """User text inside a raw HTML block (``<summary>``), where Markdown escapes would show."""
    return _cap(text, limit).translate(_HTML_TABLE)


def marker(project: str) -> str:
    """The hidden first line CI searches for to update one comment per project.

    The project is percent-encoded, so it is one token without spaces and cannot close the
    HTML comment.
    """
    return f"{MARKER_PREFIX}{quote(project[:CAP_NAME], safe='')} -->"


def _code(value: str | None) -> str:
    return "—" if value is None else f"<code>{escape_markdown(value, CAP_VALUE)}</code>"


@dataclass(frozen=True)
class _Cut:
    """How much of the plan a rendering shows; the rest is announced as omitted."""

    findings: int
    details: int


@functools.cache
def _template() -> jinja2.Template:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("licenzy_sync.render", "templates"),
        autoescape=False,  # Markdown, not HTML: every user string is escaped by a filter.
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["md"] = escape_markdown
    environment.filters["h"] = escape_html
    environment.filters["code"] = _code
    return environment.get_template("plan.md.j2")


def plan_status(plan: Plan) -> tuple[str, str]:
    """An emoji shortcode and the words for the title."""
    errors = sum(1 for f in plan.findings if f.is_error)
    warnings = len(plan.findings) - errors
    changes = len(plan.changes)
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' * (errors != 1)}")
    parts.append(f"{changes} change{'s' * (changes != 1)}" if changes else "no changes")
    if warnings:
        parts.append(f"{warnings} warning{'s' * (warnings != 1)}")
    emoji = ":x:" if errors else ":pencil2:" if changes else ":white_check_mark:"
    return emoji, ", ".join(parts)


def _omissions(plan: Plan, cut: _Cut) -> list[str]:
    notes = []
    changes = len(plan.changes)
    if cut.details == 0 and changes:
        notes.append(f"the details of all {changes:,} changed resources")
    elif cut.details < changes:
        notes.append(
            f"the details of {changes - cut.details:,} of {changes:,} changed resources "
            f"(those of the first {cut.details:,} are shown)"
        )
    if cut.findings < len(plan.findings):
        rest = plan.findings[cut.findings :]
        notes.append(f"{len(rest):,} of {len(plan.findings):,} findings ({summary(rest)})")
    return notes


def _page(plan: Plan, room: str) -> dict[str, Any]:
    """What the comment's template shows of the plan as a whole."""
    emoji, status = plan_status(plan)
    return {
        "marker": marker(plan.project),
        "emoji": emoji,
        "status": status,
        "plan": plan,
        "counts": [(a, SYMBOLS.get(a, ""), n) for a, n in plan.counts().items()],
        "unchanged": plan.counts()["no-op"],
        "findings_summary": summary(plan.findings),
        "command": FULL_PLAN_COMMAND,
        "stop": errors_line(plan),
        "targeted": targeting_line(plan),
        "room": room,
    }


def render_markdown(
    plan: Plan, limit: int = GITHUB_COMMENT_LIMIT, *, room: str | None = None
) -> str:
    """The plan as a GitHub comment body of at most ``limit`` characters (see ``measure``).

    Every user string is capped, so the page without findings and details takes a few
    kilobytes whatever the plan; a ``limit`` below that raises ValueError. ``room`` names
    the space the note of a shortened plan says it was cut to fit (GitHub's limit unless the
    plan shares a comment with others).
    """
    ensure_secret_free(plan, "show the plan")
    plan = canonical(plan)
    template = _template()
    page = _page(plan, room or f"GitHub's {limit:,}-character comment limit")
    # Each finding row and resource section is rendered once, by the template's macros, and
    # only until their sizes add up past the limit: pieces after that can never be shown.
    # The macros are attributes jinja2 cannot type, hence Any.
    macros: Any = template.make_module({**page, "finding_rows": [], "details": [], "omitted": []})
    finding_rows = _pieces((macros.finding_row(f) for f in plan.findings), limit)
    blocked = blocked_by(plan)
    details = _pieces(
        (
            macros.resource_details(r, _view(r, blocked.get(r.address, ())), "" if i else title)
            for title, members in sections(plan.changes)
            for i, r in enumerate(members)
        ),
        limit,
    )

    def render(cut: _Cut) -> str:
        text = template.render(
            page,
            finding_rows=finding_rows[: cut.findings],
            details=details[: cut.details],
            omitted=_omissions(plan, cut),
        )
        return text.rstrip("\n") + "\n"

    all_findings = len(plan.findings)
    if len(finding_rows) == all_findings and len(details) == len(plan.changes):
        full = render(_Cut(all_findings, len(details)))
        if measure(full) <= limit:
            return full
    if len(finding_rows) == all_findings:
        without_details = render(_Cut(all_findings, 0))
        if measure(without_details) <= limit:
            return _fit(render, details, lambda k: _Cut(all_findings, k), limit)
    return _fit(render, finding_rows, lambda k: _Cut(k, 0), limit)


def _view(resource: ResourceChange, blocked: tuple[str, ...]) -> dict[str, Any]:
    """What the template shows of one change (render.changes decides, as for text)."""
    seen = shown(resource)
    return {
        "symbol": SYMBOLS[resource.action],
        "verb": VERBS[resource.action],
        "blocked": blocked_note(blocked),
        "reason": reason(resource),
        "notes": replace_notes(resource),
        "summary": seen.summary,
        "rows": seen.rows,
    }


def _pieces(rendered: Iterable[str], limit: int) -> list[str]:
    """Take pieces while their total size stays within ``limit``, plus the first that does not.

    The extra piece tells the caller the rest was not needed; a prefix beyond it cannot fit.
    """
    pieces: list[str] = []
    total = 0
    for piece in rendered:
        pieces.append(str(piece))
        total += measure(piece)
        if total > limit:
            break
    return pieces


def _fit(
    render: Callable[[_Cut], str],
    pieces: Sequence[str],
    cut_for: Callable[[int], _Cut],
    limit: int,
) -> str:
    """Render with the longest prefix of ``pieces`` that keeps the result within ``limit``.

    The estimate adds piece sizes to the size without any piece; the loop corrects the few
    characters the omission note changes by as counts gain or lose digits.
    """
    used = measure(render(cut_for(0)))
    count = 0
    for piece in pieces:
        used += measure(piece) + 2
        if used > limit:
            break
        count += 1
    text = render(cut_for(count))
    while measure(text) > limit and count > 0:
        count -= 1
        text = render(cut_for(count))
    if measure(text) > limit:
        raise ValueError(f"a plan comment cannot be made to fit in {limit} characters")
    return text
