"""`lmarena-bridge login`: a headed window on the profile; then `serve` runs without a window, logged in.

The arena here does not log anyone in by itself: its page shows a login form that
sets the auth cookie, which the test fills in the login window like a user.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bridge_process import BridgeProcess, free_port
from tests.fake_arena import FakeArena
from tests.headed import (  # noqa: F401 - xvfb_display is a fixture
    arena_tab,
    attach,
    cli,
    debugging_args,
    run_cli,
    write_config,
    xvfb_display,
)


@pytest.fixture(scope="module")
def login_arena() -> Iterator[FakeArena]:
    with FakeArena(auto_login=False) as arena:
        yield arena


def log_in(page: Any) -> None:
    page.get_by_label("Email").fill("user@example.com")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Log in").click()


@pytest.fixture(scope="module")
def logged_in(tmp_path_factory, login_arena, xvfb_display) -> tuple[Path, int, str]:
    """A profile logged in through `login`: (folder, exit status, output)."""
    folder = tmp_path_factory.mktemp("login")
    port = free_port()
    config = write_config(folder, login_arena.url, browser_args=debugging_args(port))
    with cli(folder, "login", "--config", str(config), display=xvfb_display) as command:
        with attach(port) as browser:
            log_in(arena_tab(browser, login_arena.url))
        status = command.wait()
        return folder, status, command.stdout + command.stderr


def test_login_returns_once_the_auth_cookie_is_set_and_says_so(logged_in):
    _, status, output = logged_in
    assert status == 0, output
    assert "logged in: the arena auth cookie is in the profile" in output


def test_serve_after_login_runs_without_a_window_and_logged_in(logged_in, login_arena):
    folder, _, _ = logged_in
    bridge = BridgeProcess(folder, login_arena.url).start()  # no window, same folder and profile
    try:
        assert bridge.wait_healthy()["status"] == "ok"  # not "logged_out"
        with bridge.client() as client:
            answer = client.chat.completions.create(
                model="gpt-4o-2024-08-06", messages=[{"role": "user", "content": "after login"}]
            )
        assert answer.choices[0].message.content == "echo: after login"
        assert login_arena.requests[-1].problems == []
    finally:
        bridge.stop()


def test_login_says_so_when_the_window_is_closed_without_logging_in(tmp_path, login_arena, xvfb_display):
    port = free_port()
    config = write_config(tmp_path, login_arena.url, browser_args=debugging_args(port))
    with cli(tmp_path, "login", "--config", str(config), display=xvfb_display) as command:
        with attach(port) as browser:
            arena_tab(browser, login_arena.url).close()
        assert command.wait() == 1
        assert "the window was closed before logging in" in command.stderr.splitlines()[-1]


def test_login_refuses_a_profile_that_a_running_server_holds(make_bridge):
    bridge = make_bridge()
    result = run_cli("login", "--config", str(bridge.config_path))
    assert result.returncode == 1
    assert "is in use by process" in result.stderr and "stop it first" in result.stderr
    assert "Traceback" not in result.stderr
    assert bridge.wait_healthy()["status"] == "ok"  # the server's profile was not touched


def test_a_running_bridge_holds_the_profile_so_a_second_one_is_refused(tmp_path, make_bridge, arena):
    from browser.profile import profile_holder

    profile = tmp_path / "shared-profile"
    make_bridge(profile_dir=str(profile))
    assert profile_holder(profile)
    with pytest.raises(RuntimeError, match="is in use by process"):
        make_bridge(profile_dir=str(profile), wait_healthy=False)
