"""The text renderer beyond its golden files: colour, summary wording, hostile strings."""

from __future__ import annotations

import pytest

from licenzy_sync.findings import Finding, Position, Severity
from licenzy_sync.output import Console
from licenzy_sync.plan.model import FieldChange, Plan, ResourceChange
from licenzy_sync.render.blocking import errors_line, nothing_written
from licenzy_sync.render.changes import shown, summary
from licenzy_sync.render.findings_text import printable
from licenzy_sync.render.json_render import render_json
from licenzy_sync.render.text import WIDTH, render_text, summary_line
from tests.render.test_golden import (
    added_event,
    created_product,
    mixed_with_findings,
    no_changes,
    product,
    replace_with_reason,
    replaced_endpoint,
    with_errors,
)


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
    assert [row.field for row in shown(resource).rows] == ["name"]


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


def test_a_list_change_shows_what_is_added_and_removed_not_both_lists() -> None:
    before = ["a.one", "b.two", "c.three"]
    after = ["a.one", "c.three", "d.four"]
    resource = product(
        "test",
        "PRO",
        "update",
        changes=(FieldChange("enabled_events", before, after),),
    )
    text = render_text(_plan([resource], []))
    assert "      enabled_events: + d.four, - b.two\n" in text
    assert "a.one" not in text


def test_metadata_differs_key_by_key_and_markers_are_never_shown() -> None:
    resource = product(
        "test",
        "PRO",
        "update",
        changes=(
            FieldChange(
                "metadata",
                {"tier": "silver", "keep": "x"},
                {"tier": "gold", "keep": "x", "managed_by": "licenzy-sync"},
            ),
        ),
    )
    text = render_text(_plan([resource], []))
    assert '      metadata.tier: "silver" -> "gold"\n' in text
    assert "keep" not in text
    assert "managed_by" not in text


def test_an_update_of_markers_only_says_so() -> None:
    resource = product(
        "test",
        "PRO",
        "update",
        changes=(FieldChange("metadata", {}, {"managed_by": "licenzy-sync"}),),
    )
    text = render_text(_plan([resource], []))
    assert "      only licenzy-sync's ownership markers change\n" in text
    assert "managed_by" not in text


def test_fields_licenzy_sync_sets_itself_stay_in_the_json_only() -> None:
    plan = created_product()
    text = render_text(plan)
    for internal in ("managed_by", "status", "active", '"enabled"', "description", "stored"):
        assert internal not in text
    document = render_json(plan)
    for internal in ("managed_by", '"status": "active"', '"status": "enabled"', "description"):
        assert internal in document


def test_every_change_has_a_reason_even_without_one_from_the_planner() -> None:
    text = render_text(added_event())
    assert "will be updated  # differs from licenzy.yaml\n" in text


def test_a_long_reason_is_wrapped_within_the_width() -> None:
    text = render_text(replaced_endpoint())
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    assert "      # 3 endpoints carry licenzy-sync's marker" in text


def test_a_created_product_is_two_lines() -> None:
    text = render_text(created_product())
    block = text[text.index("  + licenzy.test.product[CREDITS]") :].split("\n\n")[0]
    assert block.splitlines() == [
        "  + licenzy.test.product[CREDITS] will be created  # not in Licenzy",
        '      usage_pack "Credits", 100 units, price price_1Credits, metadata tier="gold"',
    ]


def test_webhook_and_connection_changes_come_before_products() -> None:
    text = render_text(created_product())
    assert text.index("Webhook and connection:") < text.index("stripe.test.webhook_endpoint")
    assert text.index("licenzy.test.webhook_secret") < text.index("Products:")
    assert text.index("Products:") < text.index("licenzy.test.product[CREDITS]")


def test_a_plan_with_errors_says_first_that_apply_writes_nothing() -> None:
    text = render_text(with_errors(), tag)
    assert text.startswith("<red+bold>1 error: apply will write nothing.</>\n\n")
    assert "licenzy-sync would perform, once the errors are fixed, the following" in text
    assert (
        "  <green>+</> <bold>licenzy.test.product[PRO]</> will be created "
        "<red+bold>(blocked by LZ102)</>"
    ) in text
    assert "webhook_endpoint[tenant]</> will be created  " in text  # not what LZ102 is about


def test_errors_line_and_nothing_written() -> None:
    assert errors_line(added_event()) is None
    assert errors_line(mixed_with_findings()) == "2 errors: apply will write nothing."
    assert nothing_written(with_errors()) == "1 error: nothing written."
    read_only = _plan([], [Finding("LZ140", Severity.WARNING, "the key may not write")])
    assert read_only.blocks_apply
    assert nothing_written(read_only).endswith(": nothing written.")
    assert nothing_written(read_only).startswith("LZ140")


def test_a_protected_product_says_so_in_its_line_and_the_plan_is_not_changed() -> None:
    after = {
        "kind": "time_pass",
        "name": "Week",
        "duration_days": 7,
        "stripe_price_id": "price_1Week",
        "metadata": {"managed_by": "licenzy-sync", "protect": "true", "team": "growth"},
        "status": "active",
    }
    resource = product("test", "WEEK", "create", reason="not in Licenzy", after=after)
    assert summary(resource) == (
        'time_pass "Week", 7 days, price price_1Week, protected, metadata team="growth"'
    )
    assert after["metadata"] == {
        "managed_by": "licenzy-sync",
        "protect": "true",
        "team": "growth",
    }
