"""`lmarena-bridge doctor` as a real command against the fake arena: healthy, and each broken step."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bridge_process import free_port

# A User-Agent without "Headless": the bot-signal check is about the browser, and how the browser
# hides its headless mode is the launcher's business (its own tests); here it must not decide.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


def doctor(folder: Path, *args: str, **config) -> subprocess.CompletedProcess[str]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.jsonc"
    if not path.exists() or config:
        settings = {"port": free_port(), "auto_update_models": False, "browser_args": [f"--user-agent={USER_AGENT}"]}
        path.write_text(json.dumps({**settings, **config}))
    return subprocess.run(
        [sys.executable, "-m", "bridge", "doctor", "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def line(result: subprocess.CompletedProcess[str], name: str) -> str:
    return next(row for row in result.stdout.splitlines() if f"  {name}:" in row)


def test_a_healthy_setup_passes_every_check_and_exits_0(tmp_path, arena):
    result = doctor(tmp_path, arena_url=arena.url)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = result.stdout.splitlines()
    assert len(rows) == 9 and all(row.startswith("PASS  ") for row in rows)


@pytest.mark.parametrize(
    ("breakage", "failing", "hint"),
    [
        ("challenge", "Cloudflare passed", "lmarena-bridge login"),
        ("logged_out", "logged in", "lmarena-bridge login"),
        ("no_site_key", "reCAPTCHA site key found", "RECAPTCHA_SITE_KEY_RE"),
        ("no_models", "model list found", "protocol.md"),
    ],
)
def test_a_broken_step_fails_its_line_with_the_next_step_and_exits_1(tmp_path, arena, breakage, failing, hint):
    arena.challenge = breakage == "challenge"
    arena.auto_login = breakage != "logged_out"
    arena.serve_site_key = breakage != "no_site_key"
    if breakage == "no_models":
        arena.models = []
    try:
        result = doctor(tmp_path, arena_url=arena.url)
    finally:
        arena.auto_login = True
    assert result.returncode == 1
    assert line(result, failing).startswith("FAIL  ") and hint in line(result, failing)
    assert sum(row.startswith("FAIL  ") for row in result.stdout.splitlines()) == 1


def test_an_unreachable_arena_fails_the_reachable_line(tmp_path):
    result = doctor(tmp_path, arena_url=f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert line(result, "arena reachable").startswith("FAIL  ") and "proxy" in line(result, "arena reachable")


def test_an_unreadable_config_fails_the_first_line(tmp_path):
    (tmp_path / "config.jsonc").write_text("{ not json")
    result = doctor(tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("FAIL  config readable:")


def test_a_cooling_account_fails_the_cooldown_line(tmp_path, arena):
    state = {"accounts": {str(tmp_path / "profile"): {"cooling_until": time.time() + 600, "reason": "HTTP 429"}}}
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "accounts_state.json").write_text(json.dumps(state))
    result = doctor(tmp_path, arena_url=arena.url)
    assert result.returncode == 1
    assert line(result, "account cooldown").startswith("FAIL  ") and re.search(
        r"profile for \d+ s more", line(result, "account cooldown")
    )


def test_through_a_running_bridge_it_reads_the_bridge_page_and_probes_once(bridge, tmp_path):
    result = doctor(tmp_path, "--server", bridge.url, "--probe")
    assert "the bridge at" in line(result, "browser found and launchable")
    assert line(result, "round trip").startswith("PASS  ") and "echo:" in line(result, "round trip")
    assert line(result, "account cooldown").startswith("PASS  ")
