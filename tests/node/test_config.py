"""Settings: defaults, the TOML file, ``KENNISKNOOP_*`` environment overrides and bad values."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
from mypy import api

from node.config import (
    CONFIG_FILE,
    SETTINGS,
    ConfigError,
    FederationSettings,
    Settings,
    build_settings,
    load_settings,
    render_toml,
    value_of,
)

REQUIRED = {("node", "url"): "https://drenthe.test", ("node", "name"): "BOKD Drenthe",
            ("node", "handle"): "drenthe"}


def write_config(directory: Path, text: str) -> None:
    (directory / CONFIG_FILE).write_text(text, encoding="utf-8")


def minimal_toml(extra: str = "") -> str:
    return ('[node]\nurl = "https://drenthe.test"\nname = "BOKD Drenthe"\nhandle = "drenthe"\n'
            + extra)


def test_defaults_fill_every_setting(tmp_path: Path) -> None:
    settings = build_settings(tmp_path, REQUIRED, environ={})
    for s in SETTINGS:
        if (s.section, s.key) not in REQUIRED:
            assert value_of(settings, s) == s.default, s.env
    assert settings.server.port == 8000
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'kennisknoop.db'}"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    write_config(tmp_path, minimal_toml('[server]\nport = 8100\n'))
    settings = load_settings(tmp_path, environ={"KENNISKNOOP_SERVER_PORT": "8200"})
    assert settings.server.port == 8200


def test_environment_alone_can_set_a_value_the_file_lacks(tmp_path: Path) -> None:
    write_config(tmp_path, minimal_toml())
    settings = load_settings(tmp_path, environ={"KENNISKNOOP_FEDERATION_MODE": "allowlist",
                                                "KENNISKNOOP_FEDERATION_ALLOW": "a.test, b.test"})
    assert settings.federation.mode == "allowlist"
    assert settings.federation.allow == ("a.test", "b.test")


@pytest.mark.parametrize(("text", "expected"), [("yes", True), ("1", True), ("off", False)])
def test_boolean_environment_values_are_read_as_words(tmp_path: Path, text: str,
                                                     expected: bool) -> None:
    settings = build_settings(tmp_path, REQUIRED,
                              environ={"KENNISKNOOP_NODE_ALLOW_PRIVATE_NETWORK": text})
    assert settings.node.allow_private_network is expected


def test_explicit_override_beats_the_environment(tmp_path: Path) -> None:
    settings = build_settings(tmp_path, {**REQUIRED, ("limits", "page_size"): 50},
                              environ={"KENNISKNOOP_LIMITS_PAGE_SIZE": "10"})
    assert settings.limits.page_size == 50


@pytest.mark.parametrize(("variable", "value"), [
    ("KENNISKNOOP_SERVER_PORT", "eighty"),
    ("KENNISKNOOP_NODE_ALLOW_PRIVATE_NETWORK", "maybe"),
    ("KENNISKNOOP_NODE_ROLE", "emperor"),
    ("KENNISKNOOP_FEDERATION_MODE", "closed"),
    ("KENNISKNOOP_NODE_URL", "ftp://drenthe.test"),
    ("KENNISKNOOP_NODE_URL", "https://drenthe.test/kennis"),
])
def test_bad_environment_value_is_a_config_error_naming_it(tmp_path: Path, variable: str,
                                                           value: str) -> None:
    environ = {"KENNISKNOOP_NODE_URL": "https://drenthe.test", "KENNISKNOOP_NODE_NAME": "BOKD",
               "KENNISKNOOP_NODE_HANDLE": "drenthe", variable: value}
    with pytest.raises(ConfigError) as info:
        build_settings(tmp_path, environ=environ)
    assert "\n" not in str(info.value)


def test_bad_file_value_is_a_config_error(tmp_path: Path) -> None:
    write_config(tmp_path, minimal_toml('[server]\nport = "eighty"\n'))
    with pytest.raises(ConfigError, match=r"server\.port"):
        load_settings(tmp_path, environ={})


def test_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    write_config(tmp_path, minimal_toml('[server]\nprot = 8000\n'))
    with pytest.raises(ConfigError, match=r"unknown setting server\.prot"):
        load_settings(tmp_path, environ={})


def test_unknown_section_in_the_file_is_refused(tmp_path: Path) -> None:
    write_config(tmp_path, minimal_toml('[sever]\nport = 8000\n'))
    with pytest.raises(ConfigError, match=r"unknown setting sever\.port"):
        load_settings(tmp_path, environ={})


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    write_config(tmp_path, '[node\nurl = "x"\n')
    with pytest.raises(ConfigError, match=CONFIG_FILE):
        load_settings(tmp_path, environ={})


def test_missing_file_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="kennisknoop init"):
        load_settings(tmp_path, environ={})


def test_missing_name_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"node\.name"):
        build_settings(tmp_path, {**REQUIRED, ("node", "name"): ""}, environ={})


def test_rendered_file_loads_back_to_the_same_settings(tmp_path: Path) -> None:
    original = build_settings(tmp_path, {**REQUIRED, ("federation", "block"): ["bad.test"],
                                         ("node", "allow_private_network"): True,
                                         ("node", "summary"): 'Dorpen "samen"'}, environ={})
    write_config(tmp_path, render_toml(original))
    loaded: Settings = load_settings(tmp_path, environ={})
    assert loaded == original


def test_rendered_file_documents_every_setting_with_its_variable(tmp_path: Path) -> None:
    text = render_toml(build_settings(tmp_path, REQUIRED, environ={}))
    parsed = tomllib.loads(text)
    for s in SETTINGS:
        assert s.key in parsed[s.section]
        assert f"(env {s.env})" in text


def test_the_example_config_in_deploy_is_valid_and_complete(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "deploy" / "kennisknoop.example.toml"
    data = tomllib.loads(example.read_text(encoding="utf-8"))
    settings = build_settings(tmp_path, environ={}, file_values=data)
    assert settings.federation.mode == "allowlist"
    assert {(s.section, s.key) for s in SETTINGS} == {
        (section, key) for section, table in data.items() for key in table}


def test_unknown_override_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown setting federation\.moed"):
        build_settings(tmp_path, {**REQUIRED, ("federation", "moed"): "open"}, environ={})


def test_the_settings_tree_is_frozen(tmp_path: Path) -> None:
    settings = build_settings(tmp_path, {**REQUIRED, ("federation", "block"): ["bad.test"]},
                              environ={})
    assert settings.federation.block == ("bad.test",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.federation.mode = "allowlist"  # type: ignore[misc]


def test_trailing_slash_of_the_node_url_is_dropped(tmp_path: Path) -> None:
    settings = build_settings(tmp_path, {**REQUIRED, ("node", "url"): "https://Drenthe.test/"},
                              environ={})
    assert settings.node.url == "https://Drenthe.test"
    assert settings.node.host == "drenthe.test"


def test_negative_limit_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"limits\.inbox_rate_total must be 0 or more"):
        build_settings(tmp_path, {**REQUIRED, ("limits", "inbox_rate_total"): -1}, environ={})


def test_every_section_field_is_in_the_table() -> None:
    """A field added to a section class is a setting: in the file, the environment and the docs."""
    keys = {s.key for s in SETTINGS if s.section == "federation"}
    assert keys == {f.name for f in dataclasses.fields(FederationSettings)}
    assert SETTINGS[0].env == "KENNISKNOOP_NODE_URL"


MISTYPED = """
from node.config import Settings


def lease(settings: Settings) -> int:
    return settings.federation.lease_secnods


def closed(settings: Settings) -> bool:
    return settings.federation.mode == "closed"
"""


def test_a_mistyped_setting_is_a_type_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reason for the typed tree: mypy (in make test) rejects a wrong name or value."""
    monkeypatch.setenv("MYPYPATH", str(Path(__file__).resolve().parents[2]))
    (tmp_path / "snippet.py").write_text(MISTYPED, encoding="utf-8")
    out, _, status = api.run(["--strict", "--follow-imports=silent", "--no-error-summary",
                              "--cache-dir", str(tmp_path / "cache"), str(tmp_path / "snippet.py")])
    assert status == 1
    assert '"FederationSettings" has no attribute "lease_secnods"' in out
    assert "Non-overlapping equality check" in out and "Literal['closed']" in out
