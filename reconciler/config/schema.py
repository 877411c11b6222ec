"""The JSON Schema of a config file, generated from the pydantic models.

Editors use it (`# yaml-language-server: $schema=../../schemas/config.schema.json`) for
completion and inline errors. `python -m reconciler.config.schema` writes
`schemas/config.schema.json`; `--check` exits 1 when that file is stale (CI and a test run it).
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from reconciler.config import models

SCHEMA_ID = "config.schema.json"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "schemas" / SCHEMA_ID


def build() -> dict[str, object]:
    """The schema as a dict (validation mode: what a user may write)."""
    schema = _portable(models.Document.model_json_schema(mode="validation"))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "reconciler configuration"
    schema["description"] = (
        "One YAML file of a reconciler configuration. Every *.yaml / *.yml file of the config "
        "directory follows this schema; lists are concatenated and platforms merged by name."
    )
    return schema


_DECIMAL_STRING_PATTERN = "^(?!^[-+.]*$)"


def _portable(node: Any) -> Any:
    """Drop what differs between pydantic releases (the regex some give decimals written as
    strings), so the checked-in schema does not go stale with a dependency update."""
    if isinstance(node, dict):
        return {k: _portable(v) for k, v in node.items()
                if not (k == "pattern" and isinstance(v, str) and v.startswith(_DECIMAL_STRING_PATTERN))}
    if isinstance(node, list):
        return [_portable(v) for v in node]
    return node


def shipped_text(name: str = SCHEMA_ID) -> str:
    """The schema file as installed: the copy the wheel carries (reconciler/schemas/, see setup.py),
    or, in a source checkout, the one in schemas/. Raises FileNotFoundError if neither is there."""
    packaged = resources.files("reconciler").joinpath("schemas", name)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (DEFAULT_PATH.parent / name).read_text(encoding="utf-8")


def render() -> str:
    """The schema as the exact text of the schema file: sorted keys, indent 2, trailing newline."""
    return json.dumps(build(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reconciler.config.schema", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date")
    parser.add_argument("--output", type=Path, default=DEFAULT_PATH, help=f"default: {DEFAULT_PATH}")
    args = parser.parse_args(argv)
    text = render()
    path: Path = args.output
    if args.check:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != text:
            print(f"{path} is stale; run: python -m reconciler.config.schema", file=sys.stderr)
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
