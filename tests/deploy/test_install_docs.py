"""docs/install.md (English) and docs/installeren.md (Dutch) tell the same steps, name files that
exist and commands and settings the node has; the README links both."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from node.cli import iter_commands
from node.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
GUIDES = {"en": ROOT / "docs" / "install.md", "nl": ROOT / "docs" / "installeren.md"}


def _text(lang: str) -> str:
    return GUIDES[lang].read_text(encoding="utf-8")


def _code(text: str) -> list[str]:
    """Lines of the fenced code blocks, with Dutch/English words in comments left out."""
    blocks = re.findall(r"```\n(.*?)```", text, re.S)
    return [line.split("  #")[0].rstrip() for block in blocks for line in block.splitlines()]


def test_both_languages_give_the_same_commands() -> None:
    def normalised(lang: str) -> list[str]:
        # The example domain placeholder is the only word that differs.
        return [line.replace("jouw-domein", "your-domain")
                .replace("ADRES-VAN-DE-REPOSITORY", "REPOSITORY-ADDRESS")
                for line in _code(_text(lang))]
    assert normalised("en") == normalised("nl")
    assert len(normalised("en")) > 20


@pytest.mark.parametrize("lang", GUIDES)
def test_the_files_named_exist(lang: str) -> None:
    for path in set(re.findall(r"deploy/[\w./*-]+\w", _text(lang))):
        assert list(ROOT.glob(path)), f"{GUIDES[lang].name} names {path}"


@pytest.mark.parametrize("lang", GUIDES)
def test_the_commands_and_settings_named_exist(lang: str) -> None:
    text = _text(lang)
    commands = {name.split()[0] for name, _ in iter_commands()}
    for used in re.findall(r"kennisknoop (\w+) (?:/|DIR|MAP)", text):
        assert used in commands, f"kennisknoop {used}"
    known = {f"{s.section}.{s.key}" for s in SETTINGS} | {s.env for s in SETTINGS}
    sections = {s.section for s in SETTINGS}
    named = [f"{m[0]}.{m[1]}" for m in re.findall(r"`([a-z]+)\.([a-z_]+)[` ]", text)
             if m[0] in sections] + re.findall(r"KENNISKNOOP_[A-Z_]+[A-Z]", text)
    assert len(named) > 5
    for name in named:
        assert name in known, f"{GUIDES[lang].name}: {name} is no setting"


def test_the_readme_links_both() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/install.md)" in readme and "(docs/installeren.md)" in readme
