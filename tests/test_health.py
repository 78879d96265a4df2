"""/health tells whether the page is ready, and why not."""

from __future__ import annotations

import time

import httpx

from tests.fake_arena import FakeArena


def health(bridge):
    response = httpx.get(f"{bridge.url}/health", timeout=10)
    return response.status_code, response.json()


def wait_for_reason(bridge, reason, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = health(bridge)
        if body.get("reason") == reason:
            return status, body
        time.sleep(0.2)
    raise AssertionError(f"health never said {reason}: {body}")


def test_health_is_ok_once_the_page_is_loaded_and_injected(bridge):
    status, body = health(bridge)
    assert status == 200
    assert body["status"] == "ok"


def test_health_needs_no_api_key(bridge):
    bridge.write_config(api_key="sekrit")
    assert health(bridge)[0] == 200


def test_health_reports_a_cloudflare_challenge_and_chat_is_503(make_bridge, arena):
    arena.challenge = True
    bridge = make_bridge(wait_healthy=False)
    status, body = wait_for_reason(bridge, "cloudflare_challenge")
    assert status == 503
    response = httpx.post(
        f"{bridge.url}/v1/chat/completions",
        json={"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "hi"}]},
        timeout=10,
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "cloudflare_challenge"
    assert "Retry-After" in response.headers


def test_health_reports_logged_out_without_the_auth_cookie(make_bridge, tmp_path):
    with FakeArena(auto_login=False) as arena:
        bridge = make_bridge(arena_url=arena.url, wait_healthy=False)
        status, body = wait_for_reason(bridge, "logged_out")
    assert status == 503
    assert "login" in body["detail"]
