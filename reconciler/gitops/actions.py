"""Step outputs and the job summary, written the way the GitHub Actions runner reads them.

`$GITHUB_OUTPUT` takes `name=value` lines, or for a value that may hold a newline the heredoc form
`name<<DELIMITER` ... `DELIMITER` with a delimiter that cannot occur in the value (random here).
`$GITHUB_STEP_SUMMARY` is markdown appended per step (GitHub shows up to 1 MiB per step). Outside
Actions (variable unset) nothing is written. Called by the `reconciler github` commands.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path


def set_output(name: str, value: str, env: Mapping[str, str] | None = None) -> bool:
    """Append one step output; False when not running in Actions."""
    path = (os.environ if env is None else env).get("GITHUB_OUTPUT")
    if not path:
        return False
    if "\n" in value or "\r" in value:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        line = f"{name}<<{delimiter}\n{value}\n{delimiter}\n"
    else:
        line = f"{name}={value}\n"
    with Path(path).open("a", encoding="utf-8") as f:
        f.write(line)
    return True


def append_summary(markdown: str, env: Mapping[str, str] | None = None) -> bool:
    """Append to the job summary; False when not running in Actions."""
    path = (os.environ if env is None else env).get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with Path(path).open("a", encoding="utf-8") as f:
        f.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return True


def code_block(text: str, limit: int = 60_000) -> str:
    """`text` as a fenced block that its own content cannot close (its tail when longer than `limit`)."""
    if len(text) > limit:
        text = "...\n" + text[-limit:]
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}text\n{text.rstrip()}\n{fence}\n"
