"""Settings: precedence, validation messages, and what is kept."""

from __future__ import annotations

import pytest

from bridge.config import ConfigError, load_settings


def write(tmp_path, text):
    path = tmp_path / "config.jsonc"
    path.write_text(text)
    return path


def test_defaults_apply_without_a_config_file(tmp_path):
    settings = load_settings({"config": str(tmp_path / "missing.jsonc")}, env={})
    assert (settings.host, settings.port, settings.arena_url) == ("127.0.0.1", 5102, "https://arena.ai")
    assert (settings.browser_mode, settings.headless) == ("auto", None)


def test_file_values_with_comments_and_trailing_commas_are_read(tmp_path):
    path = write(tmp_path, '// hi\n{\n  "port": 6000, // the port\n  /* block */ "bypass_enabled": true,\n}\n')
    settings = load_settings({"config": str(path)}, env={})
    assert (settings.port, settings.bypass) == (6000, True)


def test_environment_beats_the_file_and_flags_beat_the_environment(tmp_path):
    path = write(tmp_path, '{"port": 6000, "host": "0.0.0.0", "api_key": "file"}')
    env = {"PORT": "7000", "API_KEY": "env", "LMARENA_BRIDGE_ARENA_URL": "http://127.0.0.1:9"}
    settings = load_settings({"config": str(path), "port": 8000}, env=env)
    assert (settings.port, settings.host, settings.api_key, settings.arena_url) == (
        8000,
        "0.0.0.0",
        "env",
        "http://127.0.0.1:9",
    )


def test_config_path_can_come_from_the_environment(tmp_path):
    path = write(tmp_path, '{"port": 6001}')
    assert load_settings({}, env={"LMARENA_BRIDGE_CONFIG": str(path)}).port == 6001


def test_wrong_type_names_the_file_key_and_expected_type(tmp_path):
    path = write(tmp_path, '{"port": "lots"}')
    with pytest.raises(ConfigError) as caught:
        load_settings({"config": str(path)}, env={})
    message = str(caught.value)
    assert str(path) in message and "'port'" in message and "whole number" in message


def test_wrong_type_from_the_environment_names_the_variable(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings({"config": str(tmp_path / "none.jsonc")}, env={"PORT": "abc"})
    assert "PORT" in str(caught.value)


def test_broken_jsonc_names_the_file(tmp_path):
    path = write(tmp_path, '{"port": 5102,,,')
    with pytest.raises(ConfigError) as caught:
        load_settings({"config": str(path)}, env={})
    assert str(path) in str(caught.value)


def test_unknown_keys_are_kept_not_an_error(tmp_path):
    path = write(tmp_path, '{"my_own_note": "keep me"}')
    assert load_settings({"config": str(path)}, env={}).model_extra["my_own_note"] == "keep me"


def test_model_files_live_beside_the_config_in_use(tmp_path):
    path = write(tmp_path, "{}")
    settings = load_settings({"config": str(path)}, env={})
    assert settings.models_path == tmp_path / "models.json"
    assert settings.endpoint_map_path == tmp_path / "model_endpoint_map.json"
    assert settings.profile_path == (tmp_path / "profile").resolve()


def test_shipped_config_lists_every_setting_and_loads(tmp_path):
    from pathlib import Path

    import json5

    from bridge.config import Settings

    shipped = Path(__file__).resolve().parents[1] / "config.jsonc"
    keys = set(json5.loads(shipped.read_text()))
    assert keys == {f.alias or name for name, f in Settings.model_fields.items()} - {"config_path"}
    load_settings({"config": str(shipped)}, env={})
