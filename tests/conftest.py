"""Fixtures shared by every test folder: the end-to-end estate on the embedded sandbox."""

from tests.harness import applied, estate  # noqa: F401 - pytest fixtures
