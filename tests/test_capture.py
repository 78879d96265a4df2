"""`lmarena-bridge capture`: the ids come from the user's own Retry click in a real page.

The test clicks Retry in the fake arena's answer card, in the very Chromium of the
server (or of the capture command's own window), attached over CDP.
"""

from __future__ import annotations

import json

import httpx
import json5
import pytest

from tests.bridge_process import MESSAGE_ID, SESSION_ID, free_port
from tests.fake_arena import Reply
from tests.fake_arena.pages import CONVERSATION_MESSAGE_ID, CONVERSATION_SESSION_ID
from tests.headed import (  # noqa: F401 - xvfb_display is a fixture
    arena_tab,
    attach,
    cli,
    click_retry,
    debugging_args,
    run_cli,
    wait_for,
    write_config,
    xvfb_display,
)

CLICKED = {"session_id": CONVERSATION_SESSION_ID, "message_id": CONVERSATION_MESSAGE_ID}
ARMED = "capture armed"


@pytest.fixture
def server(make_bridge):
    """A headless bridge whose Chromium the test can attach to."""
    port = free_port()
    bridge = make_bridge(browser_args=debugging_args(port))
    bridge.cdp_port = port
    return bridge


def armed_count(bridge) -> int:
    return bridge.log().count(ARMED)


def capture_through(server, arena, *args: str) -> str:
    """Run `capture` against the server, click Retry in its page once armed; the command's stdout."""
    before = armed_count(server)
    with cli(server.folder, "capture", "--config", str(server.config_path), "--timeout", "60", *args) as command:
        wait_for(lambda: armed_count(server) > before, "the server to arm capture")
        with attach(server.cdp_port) as browser:
            click_retry(arena_tab(browser, arena.url))
        assert command.wait() == 0, command.stderr
        return command.stdout


def config_of(bridge) -> dict:
    return json5.loads(bridge.config_path.read_text())


def test_capture_through_a_running_server_writes_the_clicked_ids_into_config_jsonc(server, arena):
    output = capture_through(server, arena)
    config = config_of(server)
    assert {k: config[k] for k in CLICKED} == CLICKED
    assert (config["id_updater_last_mode"], config["id_updater_battle_target"]) == ("direct_chat", "A")
    assert CONVERSATION_SESSION_ID in output and CONVERSATION_MESSAGE_ID in output


def test_the_running_server_uses_the_captured_ids_on_its_next_request(server, arena):
    capture_through(server, arena)
    with server.client() as client:
        client.chat.completions.create(model="gpt-4o-2024-08-06", messages=[{"role": "user", "content": "hi"}])
    sent = arena.requests[-1]
    assert (sent.session_id, sent.message_id) == (CONVERSATION_SESSION_ID, CONVERSATION_MESSAGE_ID)
    assert sent.problems == []


def test_config_jsonc_keeps_every_comment_and_byte_outside_the_changed_values(server, arena):
    original = (
        "// lmarena-bridge settings\n"
        "{\n"
        "  /* ids captured from a Retry click */\n"
        f'  "session_id": "{SESSION_ID}",   // the conversation\n'
        f'  "message_id":"{MESSAGE_ID}",\n'
        '  "id_updater_last_mode": "direct_chat", // or battle\n'
        '  "id_updater_battle_target":   "A",\n'
        f'  "arena_url": "{arena.url}",\n'
        f'  "port": {server.port},\n'
        f'  "browser_args": {json.dumps(server.config["browser_args"])},\n'
        '  "auto_update_models": false, // keep the test quiet\n'
        '  "stream_response_timeout_seconds": 30,\n'
        "}\n"
        "// the end\n"
    )
    server.config_path.write_text(original)
    capture_through(server, arena, "--mode", "battle", "--target", "B")
    expected = (
        original.replace(SESSION_ID, CONVERSATION_SESSION_ID)
        .replace(MESSAGE_ID, CONVERSATION_MESSAGE_ID)
        .replace('"direct_chat", // or battle', '"battle", // or battle')
        .replace('"id_updater_battle_target":   "A"', '"id_updater_battle_target":   "B"')
    )
    assert server.config_path.read_text() == expected


def test_capture_with_model_appends_to_that_models_pool_turning_an_old_entry_into_a_list(server, arena):
    old = {"session_id": "00000000-0000-4000-8000-0000000000aa", "message_id": "00000000-0000-4000-8000-0000000000bb"}
    endpoint_map = server.folder / "model_endpoint_map.json"
    endpoint_map.write_text(
        "{\n"
        "  // claude's first session\n"
        f'  "claude-3-5-sonnet-20241022": {json.dumps(old)},\n'
        '  "gemini-2.5-pro": [{"session_id": "x", "message_id": "y"}]\n'
        "}\n"
    )
    output = capture_through(
        server, arena, "--model", "claude-3-5-sonnet-20241022", "--mode", "battle", "--target", "B"
    )
    text = endpoint_map.read_text()
    data = json5.loads(text)
    assert data["claude-3-5-sonnet-20241022"] == [old, {**CLICKED, "mode": "battle", "battle_target": "B"}]
    assert data["gemini-2.5-pro"] == [{"session_id": "x", "message_id": "y"}]
    assert "// claude's first session" in text
    assert config_of(server)["session_id"] == SESSION_ID  # the global ids are left alone
    assert "claude-3-5-sonnet-20241022" in output


def test_a_chat_running_while_capture_is_armed_is_not_taken_for_the_users_retry(server, arena):
    before = armed_count(server)
    with cli(server.folder, "capture", "--config", str(server.config_path), "--timeout", "60") as command:
        wait_for(lambda: armed_count(server) > before, "the server to arm capture")
        arena.enqueue(Reply.hang(after_text="thinking"))
        with server.client() as client:
            stream = client.chat.completions.create(
                model="gpt-4o-2024-08-06", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            first_text = next(c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content)
            assert "thinking".startswith(first_text)  # the bridge's own retry PUT is in flight now
            assert arena.requests[-1].session_id == SESSION_ID
            with attach(server.cdp_port) as browser:
                click_retry(arena_tab(browser, arena.url))
            stream.close()
        assert command.wait() == 0, command.stderr
    assert {k: config_of(server)[k] for k in CLICKED} == CLICKED


def test_capture_that_times_out_exits_non_zero_with_a_clear_message(bridge):
    result = run_cli("capture", "--config", str(bridge.config_path), "--timeout", "1")
    assert result.returncode == 1
    last_line = result.stderr.splitlines()[-1]
    assert last_line.startswith("lmarena-bridge: no Retry was clicked within 1 s")
    assert "Traceback" not in result.stderr
    assert config_of(bridge)["session_id"] == SESSION_ID


def test_internal_capture_answers_408_on_timeout(bridge):
    response = httpx.post(f"{bridge.url}/internal/capture", json={"timeout": 0.5}, timeout=30)
    assert response.status_code == 408
    assert response.json()["error"]["code"] == "capture_timeout"


def test_standalone_capture_opens_its_own_window_and_records_the_click(tmp_path, arena, xvfb_display):
    port = free_port()
    config = write_config(tmp_path, arena.url, browser_args=debugging_args(port))
    with cli(tmp_path, "capture", "--config", str(config), "--timeout", "60", display=xvfb_display) as command:
        command.wait_for_stderr(ARMED)
        with attach(port) as browser:
            click_retry(arena_tab(browser, arena.url), window_closes=True)
        assert command.wait() == 0, command.stderr
    written = json5.loads(config.read_text())
    assert {k: written[k] for k in CLICKED} == CLICKED
    assert not (tmp_path / "profile" / "SingletonLock").exists()  # its browser is closed again


def test_capture_is_one_shot_so_a_later_click_is_not_kept_for_the_next(server, arena):
    first = capture_through(server, arena)
    with attach(server.cdp_port) as browser:
        click_retry(arena_tab(browser, arena.url))  # the capture is over: not kept for the next one
    assert CONVERSATION_SESSION_ID in first
    response = httpx.post(f"{server.url}/internal/capture", json={"timeout": 0.5}, timeout=30)
    assert response.status_code == 408


def test_capturing_the_same_ids_again_for_a_model_does_not_add_them_twice(tmp_path):
    from bridge.commands.capture import record
    from bridge.config import load_settings

    settings = load_settings({"config": str(tmp_path / "config.jsonc")}, env={})
    for _ in range(2):
        record(
            settings,
            CONVERSATION_SESSION_ID,
            CONVERSATION_MESSAGE_ID,
            mode="direct_chat",
            target="A",
            model="gemini-2.5-pro",
        )
    data = json5.loads((tmp_path / "model_endpoint_map.json").read_text())
    assert data == {"gemini-2.5-pro": [{**CLICKED, "mode": "direct_chat"}]}
    assert not (tmp_path / "config.jsonc").exists()  # --model leaves the global ids alone


def test_the_bridges_own_retry_fetch_is_claimed_once_and_forgotten_after_the_grace_period():
    from browser.capture import OWN_REQUEST_GRACE, OwnRequests

    now = [0.0]
    own = OwnRequests(clock=lambda: now[0])
    path = "/nextjs-api/stream/retry-evaluation-session-message/a1/messages/b2"
    own.note("PUT", path)
    own.note("PUT", path)
    assert own.claim("put", "http://127.0.0.1:1" + path)
    assert not own.claim("GET", "http://127.0.0.1:1" + path)
    now[0] = OWN_REQUEST_GRACE + 1  # the second never showed (aborted before it left)
    assert not own.claim("PUT", "http://127.0.0.1:1" + path)
