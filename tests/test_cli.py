"""The command line: help, one-line failures, `python -m bridge`."""

from __future__ import annotations

import subprocess
import sys


def run(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args], capture_output=True, text=True, timeout=60, env=env, cwd=cwd
    )


def test_every_command_has_help_with_an_example():
    for command in ("serve", "login", "capture", "models", "import-cookies"):
        result = run(command, "--help")
        assert result.returncode == 0
        assert "Example: lmarena-bridge" in result.stdout


def test_bad_config_is_one_line_naming_file_and_key(tmp_path):
    config = tmp_path / "config.jsonc"
    config.write_text('{"port": "many"}')
    result = run("serve", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "port" in result.stderr and str(config) in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_browser_is_one_line_saying_how_to_install_one(tmp_path):
    import os

    env = {**os.environ, "LMARENA_BRIDGE_BROWSER": str(tmp_path / "no-such-chromium")}
    result = run("serve", "--config", str(tmp_path / "config.jsonc"), env=env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "browser_executable" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_prints_the_base_url_once_it_listens(bridge):
    assert f"lmarena-bridge is serving the OpenAI API at http://127.0.0.1:{bridge.port}/v1" in bridge.log()
