"""licenzy.schema.json as an editor uses it: a draft-07 JSON Schema validator over the
bad-config corpus. It must catch at least 90% of the configs that `validate` refuses without
network or environment (those with a `# env:` line need variables set to fail)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.test_bad_configs import FILES

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "licenzy.schema.json").read_text())
OFFLINE = [path for path in FILES if "\n# env: " not in path.read_text()]


def caught(path: Path) -> bool:
    """What an editor shows: a YAML error, or a schema violation of the parsed document."""
    try:
        document: Any = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        return True
    return not jsonschema.Draft7Validator(SCHEMA).is_valid(document)


def test_the_schema_is_a_valid_draft_07_schema_with_editor_hints() -> None:
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    text = json.dumps(SCHEMA)
    assert text.count('"markdownDescription"') == text.count('"description"')
    assert SCHEMA["properties"]["version"]["examples"] == [1]


def test_the_schema_catches_nine_in_ten_offline_bad_configs() -> None:
    """Observed: the schema missed 15 of the 56 configs validate refuses offline."""
    missed = sorted(path.name for path in OFFLINE if not caught(path))
    share = 1 - len(missed) / len(OFFLINE)
    print(f"\nschema catches {len(OFFLINE) - len(missed)}/{len(OFFLINE)} ({share:.0%}); missed:")
    print("\n".join(f"  {name}" for name in missed))
    assert share >= 0.9, missed


@pytest.mark.parametrize("name", ["licenzy.yaml.example"])
def test_good_configs_pass(name: str) -> None:
    assert jsonschema.Draft7Validator(SCHEMA).is_valid(yaml.safe_load((ROOT / name).read_text()))


def test_import_writes_the_schema_its_modeline_names(tmp_path: Path) -> None:
    """Observed: the modeline pointed at ./licenzy.schema.json, which only this repository
    has. import now writes the schema beside the file, so it resolves anywhere, offline."""
    from licenzy_sync.importer import MODELINE, write_config
    from licenzy_sync.output import Console

    target = tmp_path / "billing" / "licenzy.yaml"
    target.parent.mkdir()
    text = (ROOT / "licenzy.yaml.example").read_text()
    assert text.startswith(MODELINE + "\n")
    write_config(text, target, Console(no_color=True))

    named = MODELINE.split("$schema=", 1)[1]
    schema_file = target.parent / named
    assert json.loads(schema_file.read_text()) == SCHEMA
    foreign = tmp_path / "other" / "licenzy.yaml"
    foreign.parent.mkdir()
    (foreign.parent / named).write_text('{"title": "mine"}')
    write_config(text, foreign, Console(no_color=True))
    assert (foreign.parent / named).read_text() == '{"title": "mine"}'
