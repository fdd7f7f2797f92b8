"""The docs stay honest (as datasette's test_docs): every setting, command and option documented."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from node.cli import iter_commands
from node.config import SETTINGS, Setting, settings_markdown

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
CLI = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = iter_commands()


def options(parser: argparse.ArgumentParser) -> list[str]:
    return [flag for action in parser._actions for flag in action.option_strings
            if flag.startswith("--") and flag != "--help"]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"{s.section}.{s.key}")
def test_every_setting_is_in_configuration_md(setting: Setting) -> None:
    assert f"`{setting.section}.{setting.key}`" in CONFIGURATION
    assert setting.env in CONFIGURATION


def test_settings_table_in_configuration_md_is_current() -> None:
    table = CONFIGURATION.split("<!-- settings:start -->\n", 1)[1].split("\n<!-- settings:end -->")[0]
    assert table == settings_markdown(), (
        "regenerate the table in docs/configuration.md from node.config.settings_markdown()")


def test_commands_are_found() -> None:
    names = [name for name, _ in COMMANDS]
    assert {"init", "serve", "worker", "migrate", "user add", "user grant", "token", "import",
            "export", "follow", "unfollow", "block", "unblock", "backup", "restore",
            "keys rotate", "alias", "move", "sweep-uploads"} == set(names)


@pytest.mark.parametrize(("name", "parser"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_a_section_in_cli_md(name: str, parser: argparse.ArgumentParser) -> None:
    assert f"## `kennisknoop {name}`" in CLI


@pytest.mark.parametrize(("name", "parser"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_option_is_in_cli_md(name: str, parser: argparse.ArgumentParser) -> None:
    section = CLI.split(f"## `kennisknoop {name}`", 1)[1].split("\n## ", 1)[0]
    for flag in options(parser):
        assert flag in section, f"{flag} of `kennisknoop {name}` is not in docs/cli.md"


@pytest.mark.parametrize(("name", "parser"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_is_in_the_readme(name: str, parser: argparse.ArgumentParser) -> None:
    assert f"kennisknoop {name}" in README


def test_readme_gives_the_two_commands() -> None:
    assert "make demo" in README and "make test" in README


def test_readme_protocol_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks
    exec(compile("\n".join(blocks), "README.md", "exec"), {})
