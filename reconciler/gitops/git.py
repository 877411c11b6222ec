"""The git operations of the action's apply on push: read the state at the branch tip, commit it on
top of that tip, push fast-forward.

Nothing touches the checked-out commit or the work tree's index: the state commit is built with a
temporary index (`read-tree` of the tip, `update-index` of the one state file, `write-tree`,
`commit-tree -p TIP`), by the configured identity, and pushed without force, so the remote accepts
it only as a fast-forward. The token (GITHUB_TOKEN) goes in an HTTP header given through the
environment for these calls only (`GIT_CONFIG_COUNT`), never on a command line or in `.git/config`;
git's messages are redacted before they are shown.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reconciler.core import redact

TIMEOUT = 300.0


class GitError(Exception):
    """A git command failed; `str()` names it and gives git's (redacted) message."""


@dataclass
class Identity:
    name: str
    email: str


class Git:
    def __init__(self, cwd: Path, *, token: str | None = None, server_url: str | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.cwd = cwd
        base = dict(os.environ if env is None else env)
        base["GIT_TERMINAL_PROMPT"] = "0"
        if token:
            auth = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            redact.register(auth)
            base.update({"GIT_CONFIG_COUNT": "1",
                         "GIT_CONFIG_KEY_0": f"http.{server_url or 'https://github.com'}/.extraheader",
                         "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {auth}"})
        self.env = base

    def run(self, *args: str, check: bool = True, env: Mapping[str, str] | None = None,
            input_bytes: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(["git", *args], cwd=self.cwd, env={**self.env, **(env or {})}, input=input_bytes,
                              capture_output=True, timeout=TIMEOUT, check=False)
        if check and proc.returncode != 0:
            raise GitError(f"git {args[0]} failed: {self.message(proc)}")
        return proc

    @staticmethod
    def message(proc: subprocess.CompletedProcess[bytes]) -> str:
        text = (proc.stderr or proc.stdout or b"").decode("utf-8", "replace").strip()
        return redact.redact(text) or f"exit code {proc.returncode}"

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.decode("utf-8", "replace").strip()

    def toplevel(self) -> Path:
        return Path(self.out("rev-parse", "--show-toplevel"))

    def fetch(self, remote: str, branch: str) -> str:
        """Fetch the branch; its tip's commit id."""
        self.run("fetch", "--quiet", "--no-tags", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}")
        return self.out("rev-parse", f"refs/remotes/{remote}/{branch}^{{commit}}")

    def fetch_commit(self, remote: str, sha: str) -> None:
        """Make `sha` available (a shallow checkout may lack it)."""
        if self.run("cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0:
            return
        self.run("fetch", "--quiet", "--no-tags", "--depth=1", remote, sha)

    def show(self, commit: str, path: str) -> bytes | None:
        """The file at `path` in `commit`, or None when it has none."""
        proc = self.run("show", f"{commit}:{path}", check=False)
        if proc.returncode != 0:
            if self.run("cat-file", "-e", f"{commit}^{{commit}}", check=False).returncode != 0:
                raise GitError(f"git show {commit}: no such commit")
            return None
        return proc.stdout

    def commit_file(self, parent: str, path: str, content: bytes, message: str, who: Identity) -> str:
        """A new commit on `parent` whose only change is `path` set to `content`; its id."""
        blob = self.run("hash-object", "-w", "--stdin", input_bytes=content).stdout.decode().strip()
        with tempfile.TemporaryDirectory(prefix="reconciler-index-") as tmp:
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.run("read-tree", parent, env=index)
            self.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
            tree = self.run("write-tree", env=index).stdout.decode().strip()
        ident = {"GIT_AUTHOR_NAME": who.name, "GIT_AUTHOR_EMAIL": who.email,
                 "GIT_COMMITTER_NAME": who.name, "GIT_COMMITTER_EMAIL": who.email}
        return self.run("commit-tree", tree, "-p", parent, "-m", message, env=ident).stdout.decode().strip()

    def push(self, remote: str, commit: str, branch: str) -> tuple[bool, str]:
        """Push `commit` to the branch, fast-forward only; (accepted, git's message)."""
        proc = self.run("push", "--quiet", remote, f"{commit}:refs/heads/{branch}", check=False)
        return proc.returncode == 0, self.message(proc) if proc.returncode else ""
