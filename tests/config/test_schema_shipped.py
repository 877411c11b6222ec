"""schemas/config.schema.json ships in the wheel, `reconciler schema` prints it, every example file
validates against it, and the pre-commit hook checks configuration directories only."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli.main import cli
from reconciler.config import sources
from tests.examples import EXAMPLES, copy_example

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
EXAMPLE_FILES = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.yaml")
                       if ".reconciler" not in p.parts)


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_every_example_file_validates_against_the_schema(name: str) -> None:
    schema = yaml.safe_load((SCHEMAS / "config.schema.json").read_text(encoding="utf-8"))
    # Read as reconciler reads it (YAML 1.2: `NO` stays text), not as PyYAML's 1.1 would.
    data, _, errors = sources.parse_with_libyaml((EXAMPLES / name).read_text(encoding="utf-8"), name)
    assert errors == []
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]
    assert problems == []


def test_an_integer_id_is_valid_but_a_wrong_type_is_not() -> None:
    validator = jsonschema.Draft202012Validator(yaml.safe_load((SCHEMAS / "config.schema.json").read_text()))
    assert validator.is_valid({"import": [{"to": "sec.evse.SCL-001/SCL-001-1", "id": 4101}]})
    assert not validator.is_valid({"import": [{"to": "sec.evse.SCL-001/SCL-001-1", "id": [4101]}]})


@pytest.mark.parametrize(("args", "name"), [([], "config.schema.json"), (["--plan"], "plan.schema.json")])
def test_reconciler_schema_prints_the_schema_file(args: list[str], name: str) -> None:
    result = CliRunner().invoke(cli, ["schema", *args])
    assert result.exit_code == 0, result.output
    assert result.stdout == (SCHEMAS / name).read_text(encoding="utf-8")


def test_the_build_puts_the_schemas_in_the_package(tmp_path: Path) -> None:
    """What setup.py's build hook adds to the wheel: reconciler/schemas/*.json, byte for byte."""
    proc = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name in ("config.schema.json", "plan.schema.json"):
        assert (tmp_path / "reconciler" / "schemas" / name).read_bytes() == (SCHEMAS / name).read_bytes()
    assert "schemas/*.json" in (ROOT / "MANIFEST.in").read_text()  # and a source distribution carries them


def test_the_pre_commit_hook_checks_only_configuration_directories(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    copy_example("colombia", repo / "config" / "colombia")
    copy_example("chile", repo / "config" / "chile")
    (repo / "docker-compose.yml").write_text("services:\n  db:\n    image: postgres:16\n")
    (repo / "ci").mkdir()
    (repo / "ci" / "workflow.yml").write_text("on: push\njobs: {}\n")
    hook = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]
    cmd = [*shlex.split(hook["entry"]), *hook["args"]]  # what pre-commit runs (pass_filenames: false)
    assert hook["pass_filenames"] is False
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "config/chile: the configuration is valid" in proc.stdout
    assert "config/colombia: the configuration is valid" in proc.stdout
    # A broken configuration still fails the hook, naming the file from the repository root.
    bogota = repo / "config" / "colombia" / "bogota.yaml"
    bogota.write_text(bogota.read_text().replace("    address: Cra 11 82-71", "    adress: Cra 11 82-71"))
    broken = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1
    assert "Error: config/colombia/bogota.yaml:6: stations[0].adress: unknown field 'adress'" in broken.stderr
    assert "config/chile: the configuration is valid" in broken.stdout


def test_find_with_no_configuration_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    result = CliRunner().invoke(cli, ["validate", "--find", str(tmp_path)])
    assert result.exit_code == 1 and "no configuration directory found" in result.output


def test_find_json_reports_each_configuration(tmp_path: Path) -> None:
    copy_example("colombia", tmp_path / "a")
    copy_example("medido", tmp_path / "b")
    bogota = tmp_path / "a" / "bogota.yaml"
    bogota.write_text(bogota.read_text().replace("    address: Cra 11 82-71", "    adress: Cra 11 82-71"))
    result = CliRunner().invoke(cli, ["validate", "--find", "--json", "--without-credentials", str(tmp_path)])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["valid"] is False
    by_dir = {Path(c["directory"]).name: c for c in doc["configurations"]}
    assert by_dir["b"]["valid"] is True and by_dir["a"]["error_count"] == 1
    assert by_dir["a"]["diagnostics"][0]["range"]["filename"].endswith("a/bogota.yaml")
