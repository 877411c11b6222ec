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
import json
from pathlib import Path

import click

from reconciler.cli import console, runtime
from reconciler.config import secrets
from reconciler.core.diagnostics import DiagnosticError, Severity
from reconciler.gitops import actions, context, github
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
            missing = [d for d in cfg.warnings if d.severity is Severity.WARNING and d.summary.endswith(_NOT_READ)]
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
