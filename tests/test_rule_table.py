"""The README's rule table and the rule catalog must say the same thing."""

from __future__ import annotations

import re
from pathlib import Path

from licenzy_sync.rules.catalog import RULES

README = Path(__file__).resolve().parent.parent / "README.md"
ROW = re.compile(r"^\| `(LZ\d{3})` \| (error|warning) \| (.+?) \|", re.M)


def test_readme_table_matches_catalog() -> None:
    rows = {rule: (severity, title) for rule, severity, title in ROW.findall(README.read_text())}
    catalog = {rule.id: (rule.severity.value, rule.title) for rule in RULES.values()}
    assert rows == catalog


def test_rule_ids_are_unique_and_well_formed() -> None:
    assert all(re.fullmatch(r"LZ\d{3}", rule_id) for rule_id in RULES)
