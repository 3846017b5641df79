"""The PR comment beyond its golden files: escaping, the sticky marker, and the size cut."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

import pytest

from licenzy_sync.findings import Finding, Position, Severity
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.model import FieldChange, Plan, ResourceChange
from licenzy_sync.render.markdown import (
    GITHUB_COMMENT_LIMIT,
    escape_html,
    escape_markdown,
    marker,
    measure,
    render_markdown,
)
from tests.render.test_golden import (
    added_event,
    created_product,
    mixed_with_findings,
    product,
    with_errors,
)

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = (
    "<img src=x onerror=alert(1)> **bold** _em_ [link](https://evil.example) "
    "![pixel](https://evil.example/p.png) `code` | pipe ~~strike~~ @octocat "
    "</details></summary><!-- x --> \\ &amp; \n\n# heading"
)
OUR_TAGS = re.compile(r"</?(b|code|details|summary)>|<br>|<!-- licenzy-sync:plan project=\S+ -->")


def hostile_plan() -> Plan:
    name = "X" + HOSTILE
    return Plan(
        project=HOSTILE,
        modes=["test"],
        config_file=HOSTILE,
        resources=[
            ResourceChange(
                at=Address("licenzy", "test", "product", name),
                action="update",
                reason=HOSTILE,
                changes=(FieldChange(HOSTILE, HOSTILE, {HOSTILE: [HOSTILE]}),),
            )
        ],
        findings=[
            Finding(
                HOSTILE,
                Severity.ERROR,
                HOSTILE,
                field=HOSTILE,
                position=Position(HOSTILE, 3, 4),
                hint=HOSTILE,
                address=f"licenzy.test.product[{name}]",
            )
        ],
    )


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_hostile_strings_cannot_add_html_links_images_or_mentions() -> None:
    text = render_markdown(hostile_plan())
    without_our_tags = OUR_TAGS.sub("", text)
    assert "<" not in without_our_tags
    # <summary> lines are raw HTML blocks, where Markdown is not parsed; everywhere else every
    # bracket and star must be escaped.
    markdown = "\n".join(line for line in text.splitlines() if not line.startswith("<details>"))
    assert "](" not in markdown.replace("\\](", "")
    assert "**bold**" not in markdown
    assert "@octocat" not in text
    assert "@&#8203;octocat" in text
    assert "\n# heading" not in text
    assert text.count("<details>") == 1
    assert text.count("</details>") == 1
    assert text.count("-->") == 1
    for line in text.splitlines():
        assert not line.startswith("#") or line.startswith(("## ", "### ", "#### Products"))


def test_hostile_strings_cannot_break_tables() -> None:
    text = render_markdown(hostile_plan())
    finding_rows = [line for line in text.splitlines() if line.startswith("| :x: error")]
    change_rows = [
        line for line in text.splitlines() if line.startswith("| ") and "<code>{" in line
    ]
    assert len(finding_rows) == 1
    assert len(change_rows) == 1
    assert unescaped_pipes(finding_rows[0]) == 6  # five columns
    assert unescaped_pipes(change_rows[0]) == 4  # three columns


@pytest.mark.parametrize("char", list("\\`*_[]()!|~"))
def test_markdown_punctuation_is_backslash_escaped(char: str) -> None:
    assert escape_markdown(f"a{char}b") == f"a\\{char}b"


def test_html_is_escaped_in_both_contexts() -> None:
    assert escape_markdown("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert escape_html('<b title="x">@me</b>') == (
        "&lt;b title=&quot;x&quot;&gt;@&#8203;me&lt;/b&gt;"
    )
    assert "\\" not in escape_html("a*b_c[d]")


def test_long_user_strings_are_capped_and_say_so() -> None:
    assert escape_markdown("x" * 1_200) == "x" * 1_000 + "… \\(200 more characters\\)"
    assert escape_markdown("y" * 50, 10) == "y" * 10 + "… \\(40 more characters\\)"


def test_marker_is_the_first_line_and_one_token() -> None:
    assert render_markdown(mixed_with_findings()).split("\n", 1)[0] == (
        "<!-- licenzy-sync:plan project=proj_acme -->"
    )
    assert marker("Acme Inc --> <b>") == (
        "<!-- licenzy-sync:plan project=Acme%20Inc%20--%3E%20%3Cb%3E -->"
    )


def test_status_in_the_title() -> None:
    def title(plan: Plan) -> str:
        return render_markdown(plan).splitlines()[1]

    assert title(mixed_with_findings()) == (
        "## :x: licenzy-sync plan for proj\\_acme: 2 errors, 3 changes, 1 warning"
    )
    assert title(Plan("p", ["test"], [product("test", "A", "create")])) == (
        "## :pencil2: licenzy-sync plan for p: 1 change"
    )
    assert title(Plan("p", ["test"])) == "## :white_check_mark: licenzy-sync plan for p: no changes"


def test_findings_come_before_details_errors_first() -> None:
    text = render_markdown(mixed_with_findings())
    assert text.index("### Findings") < text.index("### Changes") < text.index("<details>")
    assert text.index("LZ104") < text.index("LZ009")


def test_measure_counts_utf16_code_units() -> None:
    assert measure("abc") == 3
    assert measure("é") == 1
    assert measure("😀") == 2


def _big_plan(count: int, name_length: int, value_length: int) -> Plan:
    resources = [
        ResourceChange(
            at=Address("licenzy", "test", "product", f"{'P' * name_length}{index:05d}"),
            action=("create", "update", "replace", "archive", "no-op")[index % 5],
            reason="r" * value_length,
            changes=(FieldChange("name", "a" * value_length, "b" * value_length),),
        )
        for index in range(count)
    ]
    return Plan("proj_acme", ["test"], resources, config_file="licenzy.yaml")


def test_ten_thousand_resources_drop_details_from_the_end_and_say_so() -> None:
    plan = _big_plan(10_000, 60, 40)
    text = render_markdown(plan)
    assert measure(text) <= GITHUB_COMMENT_LIMIT
    shown = text.count("<details>")
    changed = 8_000
    assert 0 < shown < changed
    assert (
        f"Omitted: the details of {changed - shown:,} of {changed:,} changed resources "
        f"(those of the first {shown:,} are shown)."
    ) in text
    assert "Run `licenzy-sync plan --format text` to see the full plan." in text
    assert f"_Details of {changed - shown:,} more changed resources not shown" in text
    addresses = sorted(r.address for r in plan.changes)
    assert f"<code>{escape_html(addresses[shown - 1], 300)}</code>" in text
    assert f"<code>{escape_html(addresses[shown], 300)}</code>" not in text
    # The cut keeps as much as fits: one more section would not have.
    assert GITHUB_COMMENT_LIMIT - measure(text) < 1_500


def test_too_many_findings_are_cut_after_all_details() -> None:
    findings = [
        Finding(
            f"LZ{index:03d}",
            Severity.WARNING if index % 3 else Severity.ERROR,
            "m" * 900,
            position=Position("licenzy.yaml", index + 1, 1),
        )
        for index in range(300)
    ]
    plan = _big_plan(50, 10, 10)
    plan.findings = findings
    text = render_markdown(plan)
    assert measure(text) <= GITHUB_COMMENT_LIMIT
    assert "<details>" not in text
    rows = [line for line in text.splitlines() if line.startswith("| :")]
    assert 0 < len(rows) < 300
    assert all(row.startswith("| :x: error") for row in rows)  # 100 errors, all shown first
    hidden = 300 - len(rows)
    hidden_errors = 100 - len(rows) if len(rows) < 100 else 0
    assert (
        f"Omitted: the details of all 40 changed resources; {hidden} of 300 findings "
        f"({hidden_errors} error{'s' * (hidden_errors != 1)}, {hidden - hidden_errors} warnings)."
    ) in text
    assert f"_{hidden} more findings not shown: see the note at the top._" in text


def test_the_limit_holds_whatever_the_input() -> None:
    huge = "Ω<|" * 40_000
    plan = _big_plan(10_000, 5_000, 5_000)
    plan.project = huge
    plan.config_file = huge
    plan.findings = [
        Finding(huge, Severity.ERROR, huge, field=huge, position=Position(huge, 1, 1), hint=huge)
        for _ in range(50)
    ]
    text = render_markdown(plan)
    assert measure(text) <= GITHUB_COMMENT_LIMIT
    assert text.startswith("<!-- licenzy-sync:plan project=")


def test_a_plan_that_fits_exactly_is_not_cut() -> None:
    plan = mixed_with_findings()
    full = render_markdown(plan)
    assert render_markdown(plan, limit=measure(full)) == full
    cut = render_markdown(plan, limit=measure(full) - 1)
    assert measure(cut) < measure(full)
    shown = cut.count("<details>")
    assert 0 < shown < 3
    assert f"Omitted: the details of {3 - shown} of 3 changed resources" in cut


def test_a_limit_below_the_page_itself_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be made to fit in 100 characters"):
        render_markdown(mixed_with_findings(), limit=100)


def test_jinja2_is_not_imported_at_start_up() -> None:
    code = (
        "import sys, licenzy_sync.cli, licenzy_sync.render.markdown, licenzy_sync.render.text,"
        " licenzy_sync.render.json_render, licenzy_sync.plan.codec_read;"
        " assert 'jinja2' not in sys.modules, 'jinja2 imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_template_ships_with_the_package() -> None:
    template = resources.files("licenzy_sync.render").joinpath("templates", "plan.md.j2")
    assert template.is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["licenzy_sync"]
    assert any(fnmatch("render/templates/plan.md.j2", pattern) for pattern in patterns)


def test_errors_say_at_the_top_that_apply_writes_nothing_and_mark_what_they_block() -> None:
    text = render_markdown(with_errors())
    caution = text.index("> [!CAUTION]\n> **1 error: apply will write nothing.**")
    assert caution < text.index("| Action | Resources |")
    assert (
        "<code>licenzy.test.product[PRO]</code> will be created <b>(blocked by LZ102)</b>: "
        "not in Licenzy</summary>"
    ) in text
    assert text.count("(blocked by") == 1
    assert "[!CAUTION]" not in render_markdown(created_product())


def test_changes_read_like_the_text_plan() -> None:
    text = render_markdown(created_product())
    assert text.index("#### Webhook and connection") < text.index("#### Products")
    assert 'usage\\_pack "Credits", 100 units, price price\\_1Credits' in text
    assert "managed\\_by" not in text
    assert "Licenzy tenant webhook" not in text
    assert "| enabled\\_events | — | <code>+ refund.created</code> |" in render_markdown(
        added_event()
    )
