"""The platforms' own command groups reach the root group through the provider registry, and the
manual actions `github settle` runs are the ones those groups declare."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from reconciler.cli import github
from reconciler.cli.main import cli
from reconciler.providers import registry
from reconciler.providers.commands import ProviderGroup


def test_every_registry_group_is_on_the_root_group() -> None:
    groups = registry.command_groups()
    assert groups, "the registry contributes the platforms' command groups"
    for group in groups:
        assert cli.commands[str(group.name)] is group


def test_settle_runs_exactly_the_built_in_and_the_declared_manual_actions() -> None:
    declared = registry.manual_action_commands()
    assert ("medido", "resolve") in declared
    assert list(github.SETTLE_VERBS) == [("import",), ("state", "forget-pending"), *declared]
    for words, verb in github.SETTLE_VERBS.items():
        assert verb == " ".join(words)
        command: click.Command = cli
        for word in words:   # each names a command the root group can run
            assert isinstance(command, click.Group)
            command = command.commands[word]


def test_a_group_declares_only_its_own_subcommands_as_manual_actions() -> None:
    for group in registry.command_groups():
        if isinstance(group, ProviderGroup):
            assert set(group.manual_actions) <= set(group.commands), group.name


@pytest.mark.parametrize("words", registry.manual_action_commands())
def test_a_platform_command_outside_the_command_line_says_so(words: tuple[str, ...]) -> None:
    group = cli.commands[words[0]]
    result = CliRunner().invoke(group, list(words[1:]) + ["A"])
    assert isinstance(result.exception, RuntimeError)
    assert "reconciler command line" in str(result.exception)
