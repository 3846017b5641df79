"""The text renderer beyond its golden files: colour, summary wording, hostile strings."""

from __future__ import annotations

import pytest

from licenzy_sync.findings import Finding, Position, Severity
from licenzy_sync.output import Console
from licenzy_sync.plan.model import FieldChange, Plan, ResourceChange
from licenzy_sync.render.findings_text import printable
from licenzy_sync.render.text import field_rows, render_text, summary_line
from tests.render.test_golden import mixed_with_findings, no_changes, product, replace_with_reason


def tag(text: str, *styles: str) -> str:
    """A visible styler: shows which styles the renderer asked for, and on what."""
    return f"<{'+'.join(styles)}>{text}</>"


def test_styles_are_requested_from_the_caller() -> None:
    text = render_text(mixed_with_findings(), tag)
    assert "  <green>+</> <bold>licenzy.test.product[CREDITS_1K]</> will be created" in text
    assert "  <yellow>~</> <bold>licenzy.test.product[PRO_MONTHLY]</> will be updated" in text
    assert "  <red>-</> <bold>licenzy.test.product[OLD_PLAN]</> will be archived" in text
    assert "<red+bold>error LZ104</>" in text
    assert "<dim># name differs from licenzy.yaml</>" in text
    assert text.endswith(
        "<bold>Plan: 1 to create, 1 to update, 0 to replace, 1 to archive. "
        "2 errors, 1 warning.</>\n"
    )


def test_replace_shows_both_halves_of_its_symbol() -> None:
    text = render_text(replace_with_reason(), tag)
    assert "  <red>-</>/<green>+</> <bold>stripe.test.webhook_endpoint[tenant]</>" in text


def test_console_style_fits_and_no_color_gives_the_plain_text() -> None:
    plan = mixed_with_findings()
    plain = render_text(plan)
    assert "\033" not in plain
    assert render_text(plan, Console(no_color=True).style) == plain
    coloured = Console(no_color=True)
    coloured.color = True
    assert "\033[32m+\033[0m" in render_text(plan, coloured.style)


def _plan(resources: list[ResourceChange], findings: list[Finding]) -> Plan:
    return Plan("proj_acme", ["test"], resources, findings, config_file="deploy/licenzy.yaml")


WARNING = Finding("LZ009", Severity.WARNING, "shared price")
ERROR = Finding("LZ104", Severity.ERROR, "inactive price")


@pytest.mark.parametrize(
    ("resources", "findings", "expected"),
    [
        ([], [], "No changes. Stripe and Licenzy match deploy/licenzy.yaml."),
        (
            [],
            [WARNING],
            "No changes. Stripe and Licenzy match deploy/licenzy.yaml. 0 errors, 1 warning.",
        ),
        ([], [ERROR, WARNING], "No changes planned. 1 error, 1 warning."),
        (
            [product("test", "A", "create"), product("test", "B", "replace")],
            [ERROR, ERROR],
            "Plan: 1 to create, 0 to update, 1 to replace, 0 to archive. 2 errors, 0 warnings.",
        ),
        (
            [product("test", "A", "no-op"), product("test", "B", "archive")],
            [],
            "Plan: 0 to create, 0 to update, 0 to replace, 1 to archive.",
        ),
    ],
)
def test_summary_line(
    resources: list[ResourceChange], findings: list[Finding], expected: str
) -> None:
    plan = _plan(resources, findings)
    assert summary_line(plan) == expected
    assert render_text(plan).endswith(expected + "\n")


def test_missing_config_file_reads_as_licenzy_yaml() -> None:
    assert summary_line(Plan("p", ["test"])) == (
        "No changes. Stripe and Licenzy match licenzy.yaml."
    )


def test_unchanged_resources_are_counted_not_shown() -> None:
    text = render_text(no_changes())
    assert "PRO_MONTHLY" not in text
    assert "2 unchanged resources not shown." in text
    one = render_text(_plan([product("test", "A", "no-op")], []))
    assert "1 unchanged resource not shown." in one


def test_update_without_changes_shows_the_fields_that_differ() -> None:
    resource = product(
        "test",
        "PRO",
        "update",
        before={"name": "Pro", "kind": "subscription", "gone": 1},
        after={"name": "Pro 2", "kind": "subscription", "new": None},
    )
    text = render_text(_plan([resource], []))
    assert "      gone: 1 -> (absent)\n" in text
    assert '      name: "Pro" -> "Pro 2"\n' in text
    assert "      new: (absent) -> null\n" in text
    assert "kind" not in text


def test_planner_changes_win_over_before_and_after() -> None:
    resource = product(
        "test",
        "PRO",
        "update",
        changes=(FieldChange("name", "a", "b"),),
        before={"name": "a", "other": 1},
        after={"name": "b", "other": 2},
    )
    assert [row.field for row in field_rows(resource)] == ["name"]


def test_control_and_bidi_characters_cannot_reach_the_terminal() -> None:
    hostile = "EVIL\x1b[2J\u202eTXT"
    resource = product("test", hostile, "create", reason=hostile, after={hostile: hostile})
    finding = Finding(
        "LZ104",
        Severity.ERROR,
        hostile,
        field=hostile,
        hint=hostile,
        position=Position(hostile, 1, 1),
    )
    text = render_text(_plan([resource], [finding]))
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "EVIL\\u001b[2J\\u202eTXT" in text
    assert text.count("\\u001b") >= 6


def test_printable_keeps_ordinary_unicode() -> None:
    assert printable("Café ✓ 日本 😀") == "Café ✓ 日本 😀"
    assert printable("a\nb\tc") == "a\\u000ab\\u0009c"
