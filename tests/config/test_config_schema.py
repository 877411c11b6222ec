"""The JSON schema file: generated from the models, deterministic, never stale, and it fits the SPEC example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from reconciler.config import models, schema

from .helpers import SPEC_EXAMPLE

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.json"


def test_schema_file_is_up_to_date() -> None:
    assert SCHEMA_FILE.is_file(), "run: python -m reconciler.config.schema"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema.render(), (
        "schemas/config.schema.json is stale; run: python -m reconciler.config.schema")


def test_rendering_is_deterministic_and_sorted() -> None:
    text = schema.render()
    assert text == schema.render()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_top_level_keys() -> None:
    doc = schema.build()
    assert sorted(doc["properties"]) == sorted(models.TOP_LEVEL_KEYS)  # type: ignore[call-overload]
    assert doc["additionalProperties"] is False
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "schemas" / "config.schema.json"
    assert schema.main(["--check", "--output", str(out)]) == 1  # missing
    assert "is stale" in capsys.readouterr().err
    assert schema.main(["--output", str(out)]) == 0
    assert schema.main(["--check", "--output", str(out)]) == 0
    out.write_text(out.read_text() + " ")
    assert schema.main(["--check", "--output", str(out)]) == 1


def test_spec_example_is_valid_against_the_schema() -> None:
    import jsonschema  # a dev dependency: the check runs, it is never skipped
    document = yaml.safe_load(SPEC_EXAMPLE)
    jsonschema.Draft202012Validator(schema.build()).validate(document)
    document["stations"][0]["adress"] = "x"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema.build()).validate(document)


def test_platform_name_is_not_a_yaml_field() -> None:
    siem = schema.build()["$defs"]["SiemPlatform"]  # type: ignore[index]
    assert "name" not in siem["properties"]
    assert "api_key" in siem["properties"]
