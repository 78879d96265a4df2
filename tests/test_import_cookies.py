"""`lmarena-bridge import-cookies`: a cookie export logs a headless bridge in, end to end."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from bridge.commands.import_cookies import parse_cookies
from browser.profile import profile_holder
from tests.bridge_process import wait_for
from tests.conftest import system_chromium
from tests.fake_arena import AUTH_COOKIE, FakeArena, Reply

MODEL = "gpt-4o-2024-08-06"
YEAR = 365 * 24 * 3600


@pytest.fixture(scope="module")
def login_arena() -> Iterator[FakeArena]:
    """An arena that never logs the browser in by itself: only imported cookies do."""
    with FakeArena(auto_login=False) as arena:
        yield arena


def import_cookies(file: Path, profile: Path, arena_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "API_KEY", "LMARENA_BRIDGE_CONFIG")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge",
            "import-cookies",
            str(file),
            "--config",
            str(file.parent / "none.jsonc"),
            "--profile-dir",
            str(profile),
            "--arena-url",
            arena_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=file.parent,
    )


def extension_json(value: str, *, auth: bool = True) -> str:
    """What Cookie-Editor / EditThisCookie export from an arena tab (plus a cookie of another site)."""
    expiry = time.time() + YEAR
    cookies = [
        {
            "domain": ".google.com",
            "hostOnly": False,
            "httpOnly": True,
            "name": "NID",
            "path": "/",
            "sameSite": "no_restriction",
            "secure": True,
            "session": False,
            "expirationDate": expiry,
            "value": "g",
        },
        {
            "domain": ".lmarena.ai",
            "hostOnly": False,
            "httpOnly": True,
            "name": "cf_clearance",
            "path": "/",
            "sameSite": "no_restriction",
            "secure": True,
            "session": False,
            "expirationDate": expiry,
            "value": "cf",
        },
        {
            "domain": ".lmarena.ai",
            "hostOnly": False,
            "httpOnly": False,
            "name": "arena-theme",
            "path": "/",
            "sameSite": "lax",
            "secure": True,
            "session": False,
            "expirationDate": expiry,
            "value": "dark",
        },
    ]
    if auth:
        cookies.append(
            {
                "domain": "127.0.0.1",
                "hostOnly": True,
                "httpOnly": False,
                "name": AUTH_COOKIE,
                "path": "/",
                "sameSite": "lax",
                "secure": True,
                "session": False,
                "expirationDate": expiry,
                "storeId": "0",
                "value": value,
            }
        )
    return json.dumps(cookies, indent=2)


def netscape_split(value: str) -> str:
    """A cookies.txt with the auth cookie split in two parts, the first a session cookie marked HttpOnly."""
    expiry = int(time.time() + YEAR)
    half = len(value) // 2
    return (
        "# Netscape HTTP Cookie File\n"
        "# This is a generated file! Do not edit.\n\n"
        f"#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\t{AUTH_COOKIE}.0\t{value[:half]}\n"
        f"127.0.0.1\tFALSE\t/\tFALSE\t{expiry}\t{AUTH_COOKIE}.1\t{value[half:]}\n"
        f".example.org\tTRUE\t/\tTRUE\t{expiry}\tother\tx\n"
    )


def profile_cookies(profile: Path) -> list[dict]:
    async def read() -> list[dict]:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                str(profile), executable_path=system_chromium(), headless=True
            )
            try:
                return await context.cookies()
            finally:
                await context.close()

    with ThreadPoolExecutor(1) as pool:  # a thread of its own: a sync Playwright session may hold this one's loop
        return pool.submit(asyncio.run, read()).result()


@pytest.mark.parametrize("export", [extension_json, netscape_split], ids=["extension-json", "netscape-split"])
def test_imported_cookies_log_a_fresh_profile_in_and_the_bridge_chats(tmp_path, make_bridge, login_arena, export):
    file, profile = tmp_path / "cookies.export", tmp_path / "profile"
    file.write_text(export(login_arena.auth_cookie_value))
    result = import_cookies(file, profile, login_arena.url)
    assert result.returncode == 0, result.stderr
    assert f"imported 2 arena cookies into {profile}" in result.stdout
    assert "auth cookie (arena-auth-prod-v1) is present" in result.stdout

    bridge = make_bridge(arena_url=login_arena.url, profile_dir=str(profile))
    login_arena.enqueue(Reply.text("logged in"))
    with bridge.client() as client:
        answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "logged in"
    assert login_arena.is_authenticated(login_arena.requests[-1].cookies)


def test_cookies_of_other_sites_stay_out_of_the_profile(tmp_path, login_arena):
    file, profile = tmp_path / "cookies.json", tmp_path / "profile"
    file.write_text(extension_json(login_arena.auth_cookie_value))
    assert import_cookies(file, profile, login_arena.url).returncode == 0
    domains = {c["domain"] for c in profile_cookies(profile)}
    assert domains == {"127.0.0.1", ".lmarena.ai"}


def test_cloudflare_cookies_are_never_imported_over_the_profiles_own(tmp_path, login_arena):
    file, profile = tmp_path / "cookies.json", tmp_path / "profile"
    file.write_text(extension_json(login_arena.auth_cookie_value))
    assert import_cookies(file, profile, login_arena.url).returncode == 0
    names = {c["name"] for c in profile_cookies(profile)}
    assert "arena-theme" in names and "cf_clearance" not in names


def test_an_export_without_the_auth_cookie_fails_and_says_which_cookie_is_missing(tmp_path, login_arena):
    file = tmp_path / "cookies.json"
    file.write_text(extension_json("unused", auth=False))
    result = import_cookies(file, tmp_path / "profile", login_arena.url)
    assert result.returncode == 1
    assert "imported 1 arena cookie into" in result.stderr
    assert "arena-auth-prod-v1" in result.stderr and "Traceback" not in result.stderr


def test_an_export_with_no_arena_cookie_fails_before_touching_the_profile(tmp_path, login_arena):
    file = tmp_path / "cookies.txt"
    file.write_text(".example.org\tTRUE\t/\tTRUE\t0\tother\tx\n")
    result = import_cookies(file, tmp_path / "profile", login_arena.url)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no arena cookies to import" in result.stderr
    assert not (tmp_path / "profile").exists()


def test_a_missing_file_is_a_one_line_error(tmp_path, login_arena):
    result = import_cookies(tmp_path / "absent.json", tmp_path / "profile", login_arena.url)
    assert result.returncode == 1
    assert result.stderr.startswith("lmarena-bridge: cannot read ") and result.stderr.count("\n") == 1


def test_a_file_that_is_no_cookie_export_names_the_bad_line(tmp_path, login_arena):
    file = tmp_path / "notes.txt"
    file.write_text("# my cookies\nthis is not a cookie line\n")
    result = import_cookies(file, tmp_path / "profile", login_arena.url)
    assert result.returncode == 1
    assert "is not a cookie export: line 2 is not a cookies.txt line" in result.stderr


def test_a_profile_held_by_a_running_bridge_is_refused(tmp_path, make_bridge, login_arena):
    profile = tmp_path / "profile"
    make_bridge(arena_url=login_arena.url, profile_dir=str(profile), wait_healthy=False)
    wait_for(lambda: profile_holder(profile), "the bridge's browser to hold the profile")
    file = tmp_path / "cookies.json"
    file.write_text(extension_json(login_arena.auth_cookie_value))
    result = import_cookies(file, profile, login_arena.url)
    assert result.returncode == 1
    assert "is in use by process" in result.stderr and "Traceback" not in result.stderr


def test_extension_json_becomes_playwright_cookies_with_their_flags():
    cookies = parse_cookies(extension_json("v"))
    auth = next(c for c in cookies if c["name"] == AUTH_COOKIE)
    assert auth["domain"] == "127.0.0.1" and auth["sameSite"] == "Lax" and auth["secure"] is True
    clearance = next(c for c in cookies if c["name"] == "cf_clearance")
    assert clearance["domain"] == ".lmarena.ai" and clearance["sameSite"] == "None" and clearance["httpOnly"]


def test_playwright_storage_state_is_read_too():
    state = {
        "cookies": [
            {
                "name": "a",
                "value": "1",
                "domain": ".lmarena.ai",
                "path": "/",
                "expires": -1,
                "httpOnly": False,
                "secure": True,
                "sameSite": "Strict",
            }
        ],
        "origins": [],
    }
    (cookie,) = parse_cookies(json.dumps(state))
    assert cookie["domain"] == ".lmarena.ai" and cookie["sameSite"] == "Strict"


def test_netscape_flags_pick_host_only_or_subdomains_and_httponly():
    cookies = parse_cookies(netscape_split("abcdef"))
    assert [(c["name"], c["domain"], c["httpOnly"]) for c in cookies] == [
        (f"{AUTH_COOKIE}.0", "127.0.0.1", True),
        (f"{AUTH_COOKIE}.1", "127.0.0.1", False),
        ("other", ".example.org", False),
    ]


def test_session_cookies_are_given_an_expiry_so_they_outlive_the_import():
    (cookie,) = parse_cookies("lmarena.ai\tFALSE\t/\tTRUE\t0\ts\tv\n")
    assert cookie["expires"] > time.time() + 24 * 3600


def test_same_site_none_without_secure_is_left_to_the_browser_default():
    (cookie,) = parse_cookies(
        json.dumps([{"name": "n", "value": "v", "domain": "lmarena.ai", "sameSite": "no_restriction", "secure": False}])
    )
    assert "sameSite" not in cookie
