"""Two merges applied by the action's own scripts against one shared sandbox (a loopback server), with
a local bare repository as the remote: what reached the platforms, and what the state says after.

Used by tests/gitops/test_merge_race.py and benchmarks/gitops_race.py (which also runs an older
action.yml to show the duplicates it sent).
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.sandbox import serve
from reconciler.sandbox.sec_catalogue import DEMO_ACCOUNTS
from tests.examples import copy_example
from tests.gitops.action_runner import ACTION, Run, run_action
from tests.gitops.fake_github import FakeGitHub

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GIT_ENV = {"GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "dev",
           "GIT_COMMITTER_EMAIL": "dev@example.com"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**GIT_ENV, "PATH": "/usr/bin:/bin", "HOME": str(cwd)}).stdout


@dataclass
class Figures:
    sent: int            # measurements posted / SEC tariff creates posted
    distinct: int        # distinct meter/time pairs / distinct tariffs
    stored: int          # measurements stored by the simulator (ChileMedido) / tariffs it holds (SEC)
    final_plan: int      # exit code of `plan --detailed-exitcode` on the branch tip afterwards
    runs: list[Run] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.sent - self.distinct


def _configure(kind: str, dest: Path, url: str) -> dict[str, str]:
    if kind == "medido":
        copy_example("medido", dest)
        text = (dest / "platforms.yaml").read_text()
        head, _, _ = text.partition("    output:")
        (dest / "platforms.yaml").write_text(head.replace("url: sandbox", f"url: {url}/chilemedido/api/v1"))
        return {}
    copy_example("chile", dest)
    path = dest / "platforms.yaml"
    path.write_text(path.read_text().replace("url: sandbox", f"url: {url}/sec"))
    (opc_rut, opc_pw), (pse_rut, pse_pw) = DEMO_ACCOUNTS["opc"], DEMO_ACCOUNTS["pse"]
    return {"SEC_OPC_RUT": opc_rut, "SEC_OPC_PASSWORD": opc_pw, "SEC_PSE_RUT": pse_rut, "SEC_PSE_PASSWORD": pse_pw}


def _figures(kind: str, data: Path) -> tuple[int, int, int]:
    def lines(name: str) -> list[str]:
        path = data / name
        return path.read_text().splitlines() if path.is_file() else []

    if kind == "medido":
        sent: Counter[tuple[str, int]] = Counter()
        for line in lines("chilemedido.requests.jsonl"):
            r = json.loads(line)
            if r["method"] == "POST" and r["path"].endswith("/measurements") and r["status"] < 300:
                for item in r["body"]:
                    for m in item["measures"]:
                        sent[(item["deviceNumber"], m["timestamp"])] += 1
        stored = sum(len(json.loads(line)["m"]) for line in lines("chilemedido.measurements.jsonl"))
        return sum(sent.values()), len(sent), stored
    posts: Counter[tuple[object, object]] = Counter()
    for line in lines("sec.requests.jsonl"):
        r = json.loads(line)
        if r["method"] == "POST" and r["path"].rstrip("/").endswith("tariffs") and r["status"] < 300:
            body = r["body"] if isinstance(r["body"], dict) else {}
            posts[(body.get("connector_id"), body.get("order_number"))] += 1
    from reconciler.sandbox import sec_catalogue

    held = sum(len(c["tariffs"]) for st in sec_catalogue.read(data) for e in st["evses"] for c in e["connectors"])
    return sum(posts.values()), len(posts), held


def race(kind: str, root: Path, *, interleaved: bool, action_file: Path = ACTION) -> Figures:
    """Merge A (the configuration) and merge B (an unrelated edit) land on main before job A pushes;
    job A then job B run the action (back to back: B checks out after A finished; interleaved: both
    check out before either runs). Returns what reached the platform and the final plan's exit code."""
    data, origin, seed = root / "sandbox", root / "origin.git", root / "seed"
    data.mkdir(parents=True)
    apps = serve.build_apps(data)
    fake = FakeGitHub(token="ghs_race")
    with serve.running(serve.root_app(apps)) as url, serve.running(fake.app()) as api:
        env = _configure(kind, seed / "config", url)
        if kind == "medido":
            env["CHILEMEDIDO_REFRESH_TOKEN"] = (data / serve.MEDIDO_TOKEN_FILE).read_text().strip()
        (seed / ".gitignore").write_text(".reconciler/\n*.backup\n*.journal\n*.lock\n")
        git(root, "init", "--quiet", "--bare", "-b", "main", str(origin))
        git(root, "init", "--quiet", "-b", "main", str(seed))
        git(seed, "add", ".")
        git(seed, "commit", "--quiet", "-m", "merge A: the configuration")
        git(seed, "remote", "add", "origin", str(origin))
        git(seed, "push", "--quiet", "origin", "main")
        sha_a = git(seed, "rev-parse", "HEAD").strip()
        (seed / "NOTES.md").write_text("unrelated\n")
        git(seed, "add", ".")
        git(seed, "commit", "--quiet", "-m", "merge B: notes")
        git(seed, "push", "--quiet", "origin", "main")
        sha_b = git(seed, "rev-parse", "HEAD").strip()

        def checkout(name: str, sha: str) -> Path:
            ws = root / name
            git(root, "clone", "--quiet", str(origin), str(ws))
            git(ws, "checkout", "--quiet", "--detach", sha)
            return ws

        def job(ws: Path, sha: str, n: int) -> Run:
            return run_action({"config": "config", "install": "false", "require-review": "false"}, workspace=ws,
                              runner_temp=root / f"rt-{n}", event_name="push", action_file=action_file,
                              token="ghs_race",
                              env={**env, "GITHUB_REF_NAME": "main", "GITHUB_SHA": sha, "HOME": str(root),
                                   "GITHUB_API_URL": api, "GITHUB_SERVER_URL": "file://"})

        runs = []
        ws_a = checkout("job-a", sha_a)
        ws_b = checkout("job-b", sha_b) if interleaved else None
        runs.append(job(ws_a, sha_a, 1))
        ws_b = ws_b or checkout("job-b", sha_b)
        runs.append(job(ws_b, sha_b, 2))
        tip = checkout("tip", "origin/main")
        final = subprocess.run(["reconciler", "plan", "config", "--detailed-exitcode", "--no-color"], cwd=tip,
                               env={**_env_path(), **env}, capture_output=True, text=True, timeout=300)
    sent, distinct, stored = _figures(kind, data)   # the simulators are stopped: their files are complete
    return Figures(sent=sent, distinct=distinct, stored=stored, final_plan=final.returncode, runs=runs)


def _env_path() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
