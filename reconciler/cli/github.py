"""`reconciler github ...`: what the GitHub Action (`action.yml`) runs around plan and apply.

- `comment --markdown FILE [--pr N]` creates or edits the ONE sticky plan comment of the pull
  request (found by the hidden marker); a failure exits 1, so the step fails.
- `summary --plan-json FILE` appends the plan (cut at 1 MiB, not at a comment's 64 KiB) to the
  job summary; with `--log FILE`, also that command output.
- `can-refresh [CONFIG]` prints `--refresh` or `--no-refresh`: the platforms are not read for a
  pull request from a fork, nor when a platform's credentials are not in the environment.

Registered on the main group by `cli.main`. Everything comes from the GITHUB_* environment
(`gitops.context`); errors name the variable or the call that failed, never the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from reconciler.cli import console, runtime
from reconciler.config import secrets
from reconciler.core import redact
from reconciler.core.diagnostics import DiagnosticError, Severity
from reconciler.gitops import actions, context, github
from reconciler.gitops import git as gitmod
from reconciler.plans import digest
from reconciler.providers import registry
from reconciler.render import i18n, markdown

COMMENT_LIMIT = markdown.GITHUB_LIMIT
_NOT_READ = "reconciler github can-refresh: the platforms will not be read"


@click.group("github")
def github_group() -> None:
    """GitHub Actions helpers: the sticky plan comment, the job summary, whether to refresh."""


def _ctx() -> context.Context:
    try:
        return context.Context.from_env()
    except context.ContextError as exc:
        raise DiagnosticError.single(str(exc)) from None


def _read(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return path.read_text(encoding="utf-8", errors="replace")


def failure_comment(log: str, lang: str) -> str:
    return (f"{markdown.MARKER}\n## {i18n.text(lang, 'failed')}\n\n{i18n.text(lang, 'failed_body')}\n\n"
            + actions.code_block(log, limit=COMMENT_LIMIT - 2000))


@github_group.command("comment")
@click.option("--markdown", "markdown_file", type=click.Path(path_type=Path), required=True,
              help="The comment, as written by `plan --markdown`.")
@click.option("--pr", "pr", type=click.IntRange(min=1), default=None,
              help="Pull request number (default: from the event in GITHUB_EVENT_PATH).")
@click.option("--log", "log_file", type=click.Path(path_type=Path), default=None,
              help="Output of a plan that failed before writing the comment: posted instead.")
@click.option("--lang", type=click.Choice(i18n.LANGS), default="en", show_default=True)
@click.option("--skip-on-fork", is_flag=True,
              help="Do nothing for a pull_request event from a fork (its token cannot write comments).")
def comment(markdown_file: Path, pr: int | None, log_file: Path | None, lang: str, skip_on_fork: bool) -> None:
    """Create or update the one sticky plan comment of a pull request."""
    from reconciler.cli.main import guarded

    @guarded
    def run() -> None:
        ctx = _ctx()
        if skip_on_fork and ctx.event_name == "pull_request" and ctx.is_fork():
            console.out("This pull request comes from a fork: its token cannot comment, so the plan is only in the "
                        "job summary.")
            return
        number = pr or ctx.pr_number()
        if number is None:
            raise DiagnosticError.single(f"no pull request to comment on: the {ctx.event_name or 'current'} event "
                                         "has none; pass --pr N")
        body = _read(markdown_file)
        if not body:
            log = _read(log_file)
            if log is None:
                raise DiagnosticError.single(f"{markdown_file} does not exist or is empty, and no --log was given",
                                             detail="Run `reconciler plan --markdown FILE` first.")
            body = failure_comment(log, lang)
        if not body.lstrip().startswith(markdown.MARKER):
            body = f"{markdown.MARKER}\n{body}"
        if len(body) > COMMENT_LIMIT:
            raise DiagnosticError.single(f"the comment has {len(body):,} characters; GitHub accepts {COMMENT_LIMIT:,}",
                                         detail="`plan --markdown` cuts its comment under that limit.")
        token = _token()
        done = asyncio.run(_upsert(ctx, token, number, body))
        verb = "Created" if done.created else "Updated"
        console.out(f"{verb} the plan comment on {ctx.repository}#{number}: {done.url or done.id}")
        actions.set_output("comment-url", done.url)

    run()


def _token() -> str:
    try:
        return context.token()
    except context.ContextError as exc:
        raise DiagnosticError.single(str(exc)) from None


async def _upsert(ctx: context.Context, token: str, number: int, body: str) -> github.Upserted:
    client = github.GitHub(ctx.api_url, token)
    try:
        return await client.upsert_comment(ctx.repository, number, body, markdown.MARKER)
    except github.GitHubError as exc:
        raise DiagnosticError.single(str(exc)) from None
    finally:
        await client.aclose()


@github_group.command("summary")
@click.option("--plan-json", "plan_json", type=click.Path(path_type=Path), default=None,
              help="The plan, as written by `plan --json-file`.")
@click.option("--log", "log_file", type=click.Path(path_type=Path), default=None,
              help="Command output to add (the apply's, or a plan's that failed).")
@click.option("--title", default=None, help="Heading for the --log output.")
@click.option("--lang", type=click.Choice(i18n.LANGS), default="en", show_default=True)
def summary(plan_json: Path | None, log_file: Path | None, title: str | None, lang: str) -> None:
    """Append the plan (and a command's output) to the job summary ($GITHUB_STEP_SUMMARY)."""
    from reconciler.cli.main import guarded

    @guarded
    def run() -> None:
        raw = _read(plan_json)
        parts = []
        if raw:
            try:
                doc = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DiagnosticError.single(f"{plan_json} is not a plan JSON document ({exc})") from None
            parts.append(markdown.render(doc, limit=markdown.SUMMARY_LIMIT - 100_000, lang=lang,
                                         full_plan_hint=i18n.text(lang, "hint_artifact")))
        log = _read(log_file)
        if log is not None:
            heading = title or (i18n.text(lang, "failed") if not raw else "Output")
            parts.append(f"### {heading}\n\n" + actions.code_block(log))
        if not parts:
            raise DiagnosticError.single("nothing to summarise: give --plan-json or --log (an existing file)")
        if not actions.append_summary("\n".join(parts)):
            raise DiagnosticError.single("GITHUB_STEP_SUMMARY is not set (it is set on GitHub Actions runners)")
        console.out("Wrote the job summary.")

    run()


@github_group.command("can-refresh")
@click.argument("config", type=click.Path(path_type=Path), default=".")
def can_refresh(config: Path) -> None:
    """Print --refresh, or --no-refresh when the platforms cannot or must not be read here."""
    from reconciler.cli.main import guarded

    @guarded
    def run() -> None:
        ctx = None
        with contextlib.suppress(context.ContextError):  # not on Actions: only the credentials decide
            ctx = context.Context.from_env()
        if ctx is not None and ctx.event_name.startswith("pull_request") and ctx.is_fork():
            console.out("A pull request from a fork: the platforms are not read (their credentials must never "
                        "reach a fork's configuration); the plan compares the configuration with the state.",
                        err=True)
            console.out("--no-refresh")
            return
        missing = []
        try:
            with secrets.optional_credentials(_NOT_READ):
                cfg = runtime.load_config(config)
            missing = [d for d in cfg.warnings if d.severity is Severity.WARNING and d.code == secrets.OPTIONAL_CODE]
        except DiagnosticError:
            pass  # plan reports what is wrong with the configuration
        if missing:
            names = ", ".join(d.summary.split(";", 1)[0] for d in missing)
            console.out(f"Platform credentials are missing ({names}): the plan compares the configuration with "
                        "the state.", err=True)
            console.out("--no-refresh")
            return
        console.out("--refresh")

    run()


# --- the state on push: read it from the branch tip, record it on top of the tip ---------------------
DEFAULT_NAME = "github-actions[bot]"
DEFAULT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"


def _backend(config: Path, state_file: Path | None) -> dict[str, Any]:
    """`reconciler state info DIR --json` when this version has it; else the local file."""
    args = [sys.executable, "-m", "reconciler", "state", "info", str(config), "--json"]
    if state_file is not None:
        args += ["--state", str(state_file)]
    with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError):
        proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode == 0:
            info = json.loads(proc.stdout)
            if isinstance(info, dict) and info.get("backend"):
                return info
    return {"backend": "local", "path": str(runtime.state_path(config, state_file))}


def _ids(raw: bytes | None) -> tuple[str | None, int | None]:
    if raw is None:
        return None, None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return "unreadable", None
    if not isinstance(data, dict):
        return "unreadable", None
    serial = data.get("serial")
    return str(data.get("lineage")), serial if isinstance(serial, int) else None


def _gitops_git(cwd: Path) -> gitmod.Git:
    token = os.environ.get("GITHUB_TOKEN") or None
    if token:
        redact.register(token)
    return gitmod.Git(cwd, token=token, server_url=os.environ.get("GITHUB_SERVER_URL"))


def _given(value: str | None, variable: str, what: str, option: str) -> str:
    """`value`, else the Actions variable that holds it; an error naming both when neither is set."""
    found = value or os.environ.get(variable) or ""
    if not found:
        raise DiagnosticError.single(f"no {what}: pass {option} or set {variable} (set on Actions runners)")
    return found


def _branch(branch: str | None) -> str:
    return _given(branch, "GITHUB_REF_NAME", "branch", "--branch")


@github_group.command("fetch-state")
@click.argument("config", type=click.Path(path_type=Path), default=".")
@click.option("--state", "state_file", type=click.Path(path_type=Path), default=None)
@click.option("--branch", default=None, help="Branch whose tip holds the state (default: GITHUB_REF_NAME).")
@click.option("--remote", default="origin", show_default=True)
@click.option("--record", "record_file", type=click.Path(path_type=Path), required=True,
              help="Where to write what was read (tip, lineage, serial), for `persist-state`.")
def fetch_state(config: Path, state_file: Path | None, branch: str | None, remote: str, record_file: Path) -> None:
    """Put the state of the branch TIP in place of the checked-out one (a merge commit lacks the state
    commits of the applies after it). A state backend other than the file needs nothing here."""
    from reconciler.cli.main import guarded

    @guarded
    def run() -> None:
        info = _backend(config, state_file)
        if info["backend"] != "local":
            record_file.write_text(json.dumps({"backend": info["backend"]}), encoding="utf-8")
            console.out(f"The state is in the {info['backend']} backend ({info.get('name') or ''}): it is read "
                        "there, under its lock.")
            return
        path = Path(info["path"]).resolve()
        git = _gitops_git(path.parent if path.parent.is_dir() else Path.cwd())
        try:
            top = git.toplevel().resolve()
            rel = str(path.relative_to(top))
        except (gitmod.GitError, ValueError):
            raise DiagnosticError.single(f"the state file {path} is not inside a git repository",
                                         detail="persist-state: commit keeps the state in the repository; "
                                                "use a state backend, or persist-state: none.") from None
        name = _branch(branch)
        git = _gitops_git(top)
        try:
            tip = git.fetch(remote, name)
            raw = git.show(tip, rel)
        except gitmod.GitError as exc:
            raise DiagnosticError.single(f"reading the state from {remote}/{name}: {exc}") from None
        here = path.read_bytes() if path.is_file() else None
        lineage, serial = _ids(raw)
        if raw is None:
            try:
                committed = git.show("HEAD", rel)
            except gitmod.GitError:
                committed = None
            if committed is not None:
                raise DiagnosticError.single(
                    f"{rel} is in the checked-out commit but not at the tip of {name} ({tip[:12]})",
                    detail="Someone removed the state from the branch; nothing is applied until it is restored.")
            if here is not None:   # left by an earlier run on this runner, never recorded on the branch
                aside = path.with_name(f"{path.name}.unrecorded-{int(time.time())}")
                os.replace(path, aside)
                console.out(f"Moved {path.name}, which the branch does not have, aside to {aside.name}.")
                here = None
        if raw is not None and raw != here:
            old_lineage, old_serial = _ids(here)
            tmp = path.with_name(path.name + ".fetching")
            tmp.write_bytes(raw)
            os.replace(tmp, path)
            console.out(f"Read the state from the tip of {name} ({tip[:12]}): serial {serial} (the checked-out "
                        f"commit had {'no state' if here is None else f'serial {old_serial}'}).")
        else:
            console.out(f"Read the state from the tip of {name} ({tip[:12]}): "
                        + (f"serial {serial}." if raw is not None else "no state yet."))
        record = {"backend": "local", "branch": name, "remote": remote, "tip": tip, "path": rel,
                  "toplevel": str(top), "lineage": lineage, "serial": serial,
                  "sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None}
        record_file.parent.mkdir(parents=True, exist_ok=True)
        record_file.write_text(json.dumps(record), encoding="utf-8")

    run()


@github_group.command("persist-state")
@click.option("--record", "record_file", type=click.Path(path_type=Path), required=True,
              help="The record `fetch-state` wrote.")
@click.option("--message", default="reconciler: record the applied state", show_default=True)
@click.option("--name", "name", default=DEFAULT_NAME, show_default=True, help="Author and committer name.")
@click.option("--email", "email", default=DEFAULT_EMAIL, show_default=True, help="Author and committer email.")
@click.option("--attempts", type=click.IntRange(1, 20), default=5, show_default=True,
              help="Pushes to try when the branch moved without touching the state.")
@click.option("--artifact", "artifact", type=click.Path(path_type=Path), default=None,
              help="Also copy the new state here (upload it as an artifact: it is kept even if the push fails).")
def persist_state(record_file: Path, message: str, name: str, email: str, attempts: int,
                  artifact: Path | None) -> None:
    """Commit the state on top of the branch tip it was read from and push it fast-forward. When the
    branch moved, try again on the new tip only if its state is still the one this run started from;
    otherwise fail, keeping the new state in --artifact."""
    from reconciler.cli.main import guarded

    @guarded
    def run() -> None:
        try:
            record = json.loads(record_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise DiagnosticError.single(f"{record_file} is missing or unreadable: run `reconciler github "
                                         "fetch-state` before the apply") from None
        if record.get("backend") != "local":
            console.out(f"The state is kept by the {record.get('backend')} backend: nothing to commit.")
            return
        top = Path(record["toplevel"])
        path, rel, branch, remote = top / record["path"], record["path"], record["branch"], record["remote"]
        if not path.is_file():
            console.out("There is no state to record (nothing was applied).")
            return
        content = path.read_bytes()
        if artifact is not None:
            artifact.parent.mkdir(parents=True, exist_ok=True)
            artifact.write_bytes(content)
            actions.set_output("state-file", str(artifact))
        if record.get("sha256") == hashlib.sha256(content).hexdigest():
            console.out("The state did not change.")
            return
        git, tip = _gitops_git(top), record["tip"]
        who = gitmod.Identity(name, email)
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                commit = git.commit_file(tip, rel, content, message, who)
                ok, last = git.push(remote, commit, branch)
                if ok:
                    console.out(f"Recorded the state: {rel} on {branch} ({commit[:12]}).")
                    actions.set_output("state-commit", commit)
                    return
                newer = git.fetch(remote, branch)
                lineage, serial = _ids(git.show(newer, rel))
            except gitmod.GitError as exc:
                last = str(exc)
                break
            if newer == tip:
                break   # not refused for a moved branch: permissions, protection, network
            if (lineage, serial) != (record.get("lineage"), record.get("serial")):
                last = (f"the state on {branch} changed meanwhile (lineage {lineage}, serial {serial}; this run "
                        f"started from serial {record.get('serial')}): another apply recorded its state")
                break
            console.out(f"Push {attempt} refused: {branch} moved to {newer[:12]} without touching the state; "
                        "committing on the new tip.")
            tip = newer
        kept = f" The new state is kept in {artifact} (the action's state-file output: upload it as an artifact)." \
            if artifact is not None else ""
        actions.append_summary(
            f"### :rotating_light: The state was NOT recorded on `{branch}`\n\nThe platforms were changed, but "
            f"the state commit could not be pushed: {markdown_escape(last)}.{kept}\n\nUntil it is restored "
            f"(commit that file as `{rel}` on `{branch}`), do not run another apply: it would start from an "
            "older state.\n")
        raise DiagnosticError.single(f"could not record the state on {branch}: {last}",
                                     detail=kept.strip() or "Keep this runner's state file before it is gone.")

    run()


def markdown_escape(text: str) -> str:
    return text.replace("\n", " ").replace("`", "'")


@github_group.command("base-config")
@click.argument("config", type=click.Path(path_type=Path), default=".")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Where to check out the base commit (a git worktree).")
@click.option("--sha", default="", help="The base commit (default: the event's pull_request.base.sha).")
@click.option("--remote", default="origin", show_default=True)
def base_config(config: Path, out: Path, sha: str, remote: str) -> None:
    """Check out the pull request's BASE commit and print where CONFIG is in it (for `plan
    --connections-from`); prints nothing, with a warning, when it cannot (the plan is then made
    without reading the platforms)."""
    from reconciler.cli.main import guarded

    @guarded
    def run() -> None:
        ctx = None
        with contextlib.suppress(context.ContextError):
            ctx = context.Context.from_env()
        base = sha or str(((ctx.pull_request.get("base") or {}).get("sha") if ctx else "") or "")
        if not base:
            console.out("::warning::no base commit (pull_request.base.sha) in the event: the platforms are not read",
                        err=True)
            return
        git = _gitops_git(Path.cwd())
        try:
            top = git.toplevel().resolve()
            rel = config.resolve().relative_to(top)
            git.fetch_commit(remote, base)
            if out.exists():
                git.run("worktree", "remove", "--force", str(out), check=False)
            git.run("worktree", "add", "--quiet", "--detach", str(out), base)
        except (gitmod.GitError, ValueError) as exc:
            console.out(f"::warning::could not check out the base commit {base[:12]} ({exc}): the platforms are "
                        "not read", err=True)
            return
        console.out(f"Connection settings come from the base commit {base[:12]}.", err=True)
        console.out(str(out / rel))

    run()


# --- merge applies what was reviewed --------------------------------------------------------------
def _plan_doc(path: Path) -> dict[str, Any]:
    raw = _read(path)
    if not raw:
        raise DiagnosticError.single(f"{path} does not exist or is empty: run `reconciler plan --json-file` first")
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DiagnosticError.single(f"{path} is not a plan JSON document ({exc})") from None
    if not isinstance(doc, dict):
        raise DiagnosticError.single(f"{path} is not a plan JSON document")
    if not doc.get("digest"):
        doc["digest"] = digest.plan_digest(doc)
    return doc


def with_result(body: str, section: str) -> str:
    """The sticky comment with its apply result replaced by `section` (the reviewed plan is kept)."""
    kept = body.split(markdown.RESULT, 1)[0].rstrip()
    room = COMMENT_LIMIT - len(kept) - len(markdown.RESULT) - 20
    if len(section) > room:
        section = section[:max(room - 40, 0)] + "\n\n*(cut to fit the comment)*\n"
    return f"{kept}\n\n{markdown.RESULT}\n---\n{section}"


def _diff_text(record: dict[str, Any], doc: dict[str, Any], limit: int = 30) -> str:
    reviewed = record.get("changes")
    now = digest.per_change(doc)
    if not isinstance(reviewed, dict):
        return (f"The reviewed plan had {record.get('count', '?')} changes (too many to list in the comment); the "
                f"plan at merge has {len(now)}.\n")
    diff = digest.differences(reviewed, now)
    lines = []
    for key, title in (("added", "Added since review"), ("removed", "No longer in the plan"),
                       ("changed", "Changed since review (drift on the platform, or another merged change)")):
        items = diff[key]
        if items:
            shown = ", ".join(f"`{a}`" for a in items[:limit]) + (f" and {len(items) - limit} more"
                                                                  if len(items) > limit else "")
            lines.append(f"- **{title}** ({len(items)}): {shown}")
    return "\n".join(lines) + "\n" if lines else "The same addresses and actions, in a different order.\n"


async def _reviewed(ctx: context.Context, token: str, sha: str) -> tuple[int | None, dict[str, Any] | None]:
    client = github.GitHub(ctx.api_url, token)
    try:
        pulls = await client.pulls_for_commit(ctx.repository, sha)
        merged = [p for p in pulls if p.get("merge_commit_sha") == sha] or [p for p in pulls if p.get("merged_at")]
        if not merged:
            return None, None
        number = int(merged[0]["number"])
        return number, await client.find_comment(ctx.repository, number, markdown.MARKER)
    except github.GitHubError as exc:
        raise DiagnosticError.single(str(exc)) from None
    finally:
        await client.aclose()


async def _set_result(ctx: context.Context, token: str, number: int, section: str) -> None:
    client = github.GitHub(ctx.api_url, token)
    try:
        existing = await client.find_comment(ctx.repository, number, markdown.MARKER)
        base = str(existing.get("body") or "") if existing else f"{markdown.MARKER}\n## reconciler\n"
        body = with_result(base, section)
        if existing is not None:
            await client.edit_comment(ctx.repository, int(existing["id"]), body)
        else:
            await client.upsert_comment(ctx.repository, number, body, markdown.MARKER)
    except github.GitHubError as exc:
        raise DiagnosticError.single(str(exc)) from None
    finally:
        await client.aclose()


def _sha(sha: str | None) -> str:
    return _given(sha, "GITHUB_SHA", "commit", "--sha")


@github_group.command("check-reviewed")
@click.option("--plan-json", "plan_json", type=click.Path(path_type=Path), required=True,
              help="The plan made for the apply (`plan --json-file`).")
@click.option("--sha", default=None, help="The merged commit (default: GITHUB_SHA).")
@click.option("--confirm-unreviewed", is_flag=True,
              help="Apply even when the plan is not the reviewed one (a person checked it).")
@click.option("--require-review/--no-require-review", default=True, show_default=True,
              help="Refuse changes from a commit that no pull request merged (a direct push).")
@click.option("--pr-file", "pr_file", type=click.Path(path_type=Path), default=None,
              help="Write the merged pull request's number here (for `report`).")
def check_reviewed(plan_json: Path, sha: str | None, confirm_unreviewed: bool, require_review: bool,
                   pr_file: Path | None) -> None:
    """Exit 0 when the plan to apply is the one reviewed in the merged pull request (same digest); else
    say what differs on the pull request and exit 1. Prints the pull request number as the `pr` output."""
    from reconciler.cli.main import guarded

    @guarded
    def run() -> None:
        doc, commit, ctx, token = _plan_doc(plan_json), _sha(sha), _ctx(), _token()
        number, comment_found = asyncio.run(_reviewed(ctx, token, commit))
        if number is not None:
            actions.set_output("pr", str(number))
            if pr_file is not None:
                pr_file.write_text(str(number), encoding="utf-8")
        if not doc.get("changes"):
            console.out("Nothing to apply: no review needed.")
            return
        confirmed = " Applying anyway: confirmed with confirm-unreviewed." if confirm_unreviewed else ""
        if number is None:
            why = (f"commit {commit[:12]} was not merged through a pull request (a direct push): its "
                   f"{len(doc['changes'])} changes were never reviewed")
            if confirm_unreviewed or not require_review:
                console.out(f"{why}.{confirmed or ' Applying: require-review is false.'}")
                return
            raise DiagnosticError.single(f"{why}; nothing was applied",
                                         detail="Review them in a pull request, or run the apply workflow by "
                                                "hand with confirm-unreviewed after checking the plan.")
        record = markdown.read_reviewed(str((comment_found or {}).get("body") or ""))
        if record is not None and record["digest"] == doc["digest"]:
            console.out(f"The plan is the one reviewed in #{number} ({doc['digest'][:19]}).")
            return
        if record is None:
            what = f"#{number} has no reviewed plan (no plan comment with a digest)"
            detail = ""
        else:
            what = f"the plan at merge differs from the plan reviewed in #{number}"
            detail = _diff_text(record, doc)
        head = ("### :warning: Applied without a matching review" if confirm_unreviewed else
                "### :no_entry: Not applied: the plan at merge is not the reviewed plan")
        section = (f"{head}\n\nAt `{commit[:12]}`: {what} (reviewed {record['digest'][:19] if record else 'none'}, "
                   f"now {doc['digest'][:19]}).\n\n{detail}\n"
                   + ("Applied anyway: a maintainer confirmed it (confirm-unreviewed).\n" if confirm_unreviewed else
                      "Nothing was sent. Look at the new plan in the job summary; to apply it anyway, run the apply "
                      "workflow by hand with `confirm-unreviewed`, or open a pull request that reviews it.\n"))
        asyncio.run(_set_result(ctx, token, number, section))
        if confirm_unreviewed:
            console.out(f"{what}.{confirmed}")
            return
        raise DiagnosticError.single(f"{what}; nothing was applied",
                                     detail=detail.strip() + "\nThe pull request comment says what differs; "
                                            "re-run by hand with confirm-unreviewed to apply this plan.")

    run()


@github_group.command("report")
@click.option("--plan-json", "plan_json", type=click.Path(path_type=Path), required=True)
@click.option("--pr", "pr", type=click.IntRange(min=1), required=True, help="The merged pull request.")
@click.option("--outcome", type=click.Choice(["applied", "failed"]), required=True)
@click.option("--log", "log_file", type=click.Path(path_type=Path), default=None, help="The apply's output.")
@click.option("--sha", default=None, help="The applied commit (default: GITHUB_SHA).")
@click.option("--state-commit", default="", help="The commit that recorded the state, if any.")
@click.option("--state-info", "state_info", type=click.Path(path_type=Path), default=None,
              help="Where the state was recorded: the output of `reconciler state info --json`.")
@click.option("--lang", type=click.Choice(i18n.LANGS), default="en", show_default=True)
def report(plan_json: Path, pr: int, outcome: str, log_file: Path | None, sha: str | None, state_commit: str,
           state_info: Path | None, lang: str) -> None:
    """Add the apply's result (applied at which commit, how many changes and requests, or the failure)
    to the merged pull request's sticky comment."""
    from reconciler.cli.main import guarded

    @guarded
    def run() -> None:
        doc, commit, ctx, token = _plan_doc(plan_json), _sha(sha), _ctx(), _token()
        summ = doc.get("summary") or {}
        n = sum(int(summ.get(k) or 0) for k in ("create", "update", "delete", "replace", "forget"))
        log = _read(log_file) or ""
        if outcome == "applied":
            try:
                info = json.loads(_read(state_info) or "null")
            except json.JSONDecodeError:
                info = None  # no state info: the section names the state commit, if any
            section = markdown.applied_section(doc, commit, state_commit=state_commit, lang=lang,
                                               state_info=info if isinstance(info, dict) else None)
        else:
            section = (f"### :x: The apply on merge failed\n\nAt `{commit[:12]}`, applying {n} change"
                       f"{'s' if n != 1 else ''}:\n\n" + actions.code_block(log, limit=6000))
        asyncio.run(_set_result(ctx, token, pr, section))
        console.out(f"Reported the apply ({outcome}) on {ctx.repository}#{pr}.")

    run()


# --- drift issues -------------------------------------------------------------------------------
DRIFT_LABEL = "reconciler-drift"


def drift_marker(config: str) -> str:
    return f"<!-- reconciler-drift config={config.strip('/') or '.'} -->"


async def _drift(ctx: context.Context, token: str, config: str, doc: dict[str, Any] | None, failed: str | None,
                 label: str, lang: str) -> str:
    client = github.GitHub(ctx.api_url, token)
    marker = drift_marker(config)
    try:
        issue = await client.find_issue(ctx.repository, label, marker)
        is_open = issue is not None and issue.get("state") == "open"
        clean = failed is None and doc is not None and not doc.get("changes") and not doc.get("drift")
        if clean:
            if is_open and issue is not None:
                await client.edit_issue(ctx.repository, int(issue["number"]), state="closed", state_reason="completed",
                                        body=f"{marker}\nNo drift at the last check: the platforms match `{config}`.\n")
                return f"closed #{issue['number']}"
            return "no drift; no open issue"
        if failed is not None:
            text = f"## reconciler could not check `{config}` for drift\n\n" + actions.code_block(failed, limit=20_000)
        else:
            assert doc is not None
            plan_md = markdown.render(doc, lang=lang, limit=COMMENT_LIMIT - 2000,
                                      full_plan_hint="the drift workflow's plan artifact")
            text = plan_md.replace(markdown.MARKER, "", 1).lstrip()
        body = f"{marker}\n{text}"
        title = f"reconciler: drift in {config}"
        if issue is not None:
            await client.edit_issue(ctx.repository, int(issue["number"]), body=body, state="open", title=title)
            return f"{'updated' if is_open else 'reopened'} #{issue['number']}"
        made = await client.create_issue(ctx.repository, title, body, [label])
        return f"opened #{made.get('number')}"
    except github.GitHubError as exc:
        raise DiagnosticError.single(str(exc)) from None
    finally:
        await client.aclose()


@github_group.command("drift-issue")
@click.argument("config", type=click.Path(path_type=Path), default=".")
@click.option("--plan-json", "plan_json", type=click.Path(path_type=Path), default=None,
              help="The scheduled plan (`plan --detailed-exitcode --json-file`).")
@click.option("--log", "log_file", type=click.Path(path_type=Path), default=None,
              help="The plan's output, posted when the plan failed (no --plan-json written).")
@click.option("--label", default=DRIFT_LABEL, show_default=True, help="Label of the drift issues.")
@click.option("--lang", type=click.Choice(i18n.LANGS), default="en", show_default=True)
def drift_issue(config: Path, plan_json: Path | None, log_file: Path | None, label: str, lang: str) -> None:
    """Keep ONE issue per configuration: opened (or reopened, updated) with the plan when the platforms
    differ from CONFIG, closed when they match again."""
    from reconciler.cli.main import guarded

    @guarded
    def run() -> None:
        ctx, token = _ctx(), _token()
        raw = _read(plan_json)
        doc, failed = None, None
        if raw:
            doc = _plan_doc(plan_json) if plan_json is not None else None
            if doc is not None and any(d.get("severity") == "error" for d in doc.get("diagnostics") or []):
                failed = _read(log_file) or "The plan has errors (see the job summary)."
        else:
            failed = _read(log_file) or "The plan wrote no output."
        done = asyncio.run(_drift(ctx, token, str(config), doc, failed, label, lang))
        console.out(f"Drift issue for {config}: {done}.")

    run()


# --- settle manual actions from CI ----------------------------------------------------------------
SETTLE_VERBS = {("import",): "import", ("state", "forget-pending"): "state forget-pending",
                **{words: " ".join(words) for words in registry.manual_action_commands()}}


@github_group.command("settle")
@click.argument("config", type=click.Path(path_type=Path), default=".")
@click.option("--action", "action", required=True,
              help='One manual action: "import ADDRESS ID", "state forget-pending ADDRESS" or "medido resolve ..."')
@click.option("--state", "state_file", type=click.Path(path_type=Path), default=None)
def settle(config: Path, action: str, state_file: Path | None) -> None:
    """Run one manual action (the ones a plan lists) against CONFIG's state, e.g. from a
    workflow_dispatch workflow that then records the state like an apply."""
    import shlex

    from reconciler.cli.main import ExitCode, guarded

    @guarded
    def run() -> None:
        try:
            words = shlex.split(action)
        except ValueError as exc:
            raise DiagnosticError.single(f"--action: {exc}", field="action") from None
        verb = next((v for k, v in SETTLE_VERBS.items() if tuple(words[:len(k)]) == k), None)
        if verb is None:
            raise DiagnosticError.single(f"--action must start with one of: {', '.join(SETTLE_VERBS.values())}",
                                         field="action", detail=f"got {' '.join(words[:2])!r}")
        rest = words[len(verb.split()):]
        if any(w.startswith("--config") or w.startswith("--state") for w in rest):
            raise DiagnosticError.single("--action must not name --config or --state: they come from the action's "
                                         "inputs", field="action")
        args = [*verb.split(), *rest, "--config", str(config)]
        if state_file is not None:
            args += ["--state", str(state_file)]
        console.out(f"reconciler {shlex.join(args)}")
        code = subprocess.run([sys.executable, "-m", "reconciler", *args], check=False, timeout=3600).returncode
        if code:
            raise ExitCode(code)   # its own message is above

    run()
