"""Runs the steps of the repository's action.yml as the GitHub runner does, without GitHub.

Each step's `run:` script is executed by `bash --noprofile --norc -eo pipefail` (the runner's
`shell: bash`) with the step's `env:` (its `${{ inputs.NAME }}` / `${{ github.token }}` filled in),
the GITHUB_* variables of a run (event file, output file, summary file, workspace) and the
`if: inputs.NAME == 'value'` conditions evaluated. The step outputs are read back from the output
file, in both of its forms (name=value and the heredoc form).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
_EXPR = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
_IF = re.compile(r"^inputs\.([A-Za-z0-9_-]+)\s*==\s*'([^']*)'$")


@dataclass
class Run:
    code: int
    output: str
    outputs: dict[str, str]
    summary: str
    steps_run: list[str] = field(default_factory=list)


def parse_outputs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            out[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        name, _, value = line.partition("=")
        out[name] = value
        i += 1
    return out


def run_action(inputs: dict[str, str], *, workspace: Path, runner_temp: Path, event_name: str,
               event: dict[str, Any] | None = None, env: dict[str, str] | None = None,
               token: str = "ghs_fake", action_path: Path = ROOT, action_file: Path = ACTION) -> Run:
    import json

    action = yaml.safe_load(action_file.read_text())
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values.update(inputs)
    runner_temp.mkdir(parents=True, exist_ok=True)
    event_file = runner_temp / "event.json"
    event_file.write_text(json.dumps(event or {}))
    output_file, summary_file = runner_temp / "github_output", runner_temp / "step_summary"
    output_file.write_text("")
    summary_file.write_text("")

    def expand(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            expr = m.group(1)
            if expr == "github.token":
                return token
            if expr.startswith("inputs."):
                return expand(values[expr.removeprefix("inputs.")])
            raise AssertionError(f"the test runner does not evaluate ${{{{ {expr} }}}}")
        return _EXPR.sub(one, text)

    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "INPUT_"))}
    base.update({"GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_EVENT_NAME": event_name,
                 "GITHUB_EVENT_PATH": str(event_file), "GITHUB_OUTPUT": str(output_file),
                 "GITHUB_STEP_SUMMARY": str(summary_file), "GITHUB_WORKSPACE": str(workspace),
                 "GITHUB_ACTION_PATH": str(action_path), "RUNNER_TEMP": str(runner_temp),
                 "GITHUB_REPOSITORY": "o/r", "GITHUB_SERVER_URL": "https://github.example", "NO_COLOR": "1"})
    base.update(env or {})
    text, code, ran = "", 0, []
    for step in action["runs"]["steps"]:
        cond = step.get("if")
        if cond is not None:
            m = _IF.match(cond.strip())
            assert m, f"the test runner does not evaluate if: {cond}"
            if values[m.group(1)] != m.group(2):
                continue
        step_env = {**base, **{k: expand(str(v)) for k, v in (step.get("env") or {}).items()}}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                              cwd=workspace, env=step_env, capture_output=True, text=True, timeout=300)
        ran.append(step.get("name", ""))
        text += proc.stdout + proc.stderr
        code = proc.returncode
        if code != 0:
            break
    return Run(code=code, output=text, outputs=parse_outputs(output_file.read_text()),
               summary=summary_file.read_text(), steps_run=ran)
