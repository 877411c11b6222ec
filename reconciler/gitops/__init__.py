"""GitOps: what reconciler needs from GitHub to review and apply changes in pull requests.

`context` reads the Actions environment (repository, event, pull request, fork or not);
`github` talks to the REST API through the project's one HTTP client (`providers.http`), for the
sticky plan comment; `actions` writes step outputs and the job summary. Called by the
`reconciler github ...` commands (`cli/github.py`), which the action (`action.yml`) runs.
"""
