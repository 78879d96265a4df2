"""The bridge keeps serving whatever the client, the arena or the browser does."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading

import httpx
import psutil
import pytest

from browser.profile import profile_holder
from tests.bridge_process import wait_for
from tests.fake_arena import Reply

MODEL = "gpt-4o-2024-08-06"
HELLO = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


def post(bridge, body=HELLO, timeout=30.0):
    return httpx.post(f"{bridge.url}/v1/chat/completions", json=body, timeout=timeout)


def health_reason(bridge):
    try:
        return httpx.get(f"{bridge.url}/health", timeout=5).json().get("reason") or "ok"
    except httpx.HTTPError:
        return None


def browser_processes(bridge):
    """The bridge's Chromium: (browser process, its renderer processes)."""
    server = psutil.Process(bridge.process.pid)
    for child in server.children(recursive=True):
        try:
            cmdline = child.cmdline()
        except psutil.Error:
            continue
        if any(arg.startswith("--user-data-dir=") for arg in cmdline) and not any(
            arg.startswith("--type=") for arg in cmdline
        ):
            renderers = [p for p in child.children(recursive=True) if "--type=renderer" in " ".join(p.cmdline())]
            return child, renderers
    raise AssertionError("no Chromium under the bridge")


def _quietly(call):
    try:
        call()
    except httpx.HTTPError:
        pass


def test_client_leaving_a_stream_aborts_the_arena_fetch(bridge, arena):
    arena.enqueue(Reply.hang(after_text="thinking"))
    with httpx.stream("POST", f"{bridge.url}/v1/chat/completions", json={**HELLO, "stream": True}, timeout=30) as r:
        for line in r.iter_lines():
            if line.startswith("data: {") and json.loads(line[6:])["choices"][0]["delta"].get("content"):
                break  # the answer has started; the client leaves while the arena is still sending
    assert arena.wait_for_disconnect(timeout=3)


def test_client_leaving_a_non_stream_request_aborts_the_arena_fetch(bridge, arena):
    arena.enqueue(Reply.hang(after_text="thinking"))
    with pytest.raises(httpx.ReadTimeout):
        post(bridge, timeout=1.0)
    assert arena.wait_for_disconnect(timeout=3)


def test_requests_beyond_the_queue_get_429_queue_full(make_bridge, arena):
    bridge = make_bridge(max_concurrent_requests=1, max_queued_requests=1)
    for _ in range(2):
        arena.enqueue(Reply.hang(after_text="busy"))
    clients = [httpx.Client(timeout=30) for _ in range(2)]
    streams = [c.stream("POST", f"{bridge.url}/v1/chat/completions", json={**HELLO, "stream": True}) for c in clients]
    first_lines = streams[0].__enter__().iter_lines()  # kept referenced: closing it would disconnect
    next(first_lines)
    waiting = threading.Thread(target=lambda: _quietly(streams[1].__enter__), daemon=True)
    waiting.start()
    wait_for(
        lambda: httpx.get(f"{bridge.url}/health").json()["requests"] == {"active": 1, "waiting": 1}, "the queue to fill"
    )
    response = post(bridge)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "queue_full"
    assert int(response.headers["retry-after"]) >= 1
    for client in clients:
        client.close()


def test_a_crashed_page_fails_in_flight_requests_fast_and_is_reopened(make_bridge, arena):
    bridge = make_bridge()
    arena.enqueue(Reply.hang(after_text="thinking"))
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("r", post(bridge)))
    worker.start()
    wait_for(lambda: arena.requests, "the request to reach the arena")
    _, renderers = browser_processes(bridge)
    for renderer in renderers:
        renderer.kill()
    worker.join(15)
    assert result["r"].status_code in (502, 503)
    assert result["r"].json()["error"]["code"] == "browser_crashed"
    wait_for(lambda: health_reason(bridge) == "ok", "the page to come back", timeout=40)
    assert post(bridge).json()["choices"][0]["message"]["content"] == "echo: hi"


def test_a_dead_browser_process_is_relaunched_on_the_same_profile(make_bridge, arena):
    bridge = make_bridge()
    browser, _ = browser_processes(bridge)
    browser.kill()
    seen = set()

    def relaunched():
        seen.add(health_reason(bridge))
        return "ok" in seen - {None} and len(seen) > 1 and health_reason(bridge) == "ok"

    wait_for(relaunched, "the browser to come back", timeout=60)
    assert seen & {"browser_crashed", "browser_starting"}
    assert browser_processes(bridge)[0].pid != browser.pid
    assert post(bridge).json()["choices"][0]["message"]["content"] == "echo: hi"


def test_a_challenge_that_clears_is_recovered_without_a_restart(make_bridge, arena):
    arena.challenge = True
    bridge = make_bridge(wait_healthy=False)
    wait_for(lambda: health_reason(bridge) == "cloudflare_challenge", "the challenge to show")
    assert post(bridge).json()["error"]["code"] == "cloudflare_challenge"
    arena.challenge = False
    wait_for(lambda: health_reason(bridge) == "ok", "the challenge to clear", timeout=40)
    assert post(bridge).status_code == 200


def test_idle_restart_reloads_the_page_and_keeps_serving(make_bridge, arena):
    bridge = make_bridge(enable_idle_restart=True, idle_restart_timeout_seconds=1)
    loads = arena.page_loads
    wait_for(lambda: arena.page_loads > loads, "an idle reload", timeout=20)
    bridge.wait_healthy()
    assert post(bridge).status_code == 200


def test_sigterm_lets_an_in_flight_stream_finish_and_closes_the_browser_cleanly(make_bridge, arena):
    bridge = make_bridge()
    arena.enqueue(Reply.trickle("graceful", delay=0.2))
    lines = []

    def read():
        with httpx.stream("POST", f"{bridge.url}/v1/chat/completions", json={**HELLO, "stream": True}, timeout=30) as r:
            lines.extend(line for line in r.iter_lines() if line)

    reader = threading.Thread(target=read)
    reader.start()
    wait_for(lambda: arena.requests, "the request to reach the arena")
    bridge.process.send_signal(signal.SIGTERM)
    reader.join(30)
    assert bridge.process.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
    text = "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content") or "" for line in lines if line.startswith("data: {")
    )
    assert text == "graceful"
    assert lines[-1] == "data: [DONE]"
    profile = bridge.folder / "profile"
    assert profile_holder(profile) is None
    preferences = profile / "Default" / "Preferences"  # the full Chromium records how it exited
    if preferences.exists():
        assert json.loads(preferences.read_text())["profile"]["exit_type"] == "Normal"
    cookies = profile / "Default" / "Cookies"
    with sqlite3.connect(f"file:{cookies}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
