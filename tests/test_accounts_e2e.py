"""Account safety end to end: a real bridge process and Chromium against the fake arena's penalty mode
(tests/fake_arena/accounts.py: the N-th request of one account within T s draws 403 reCAPTCHA,
then 429 retry-after until the cooldown ends)."""

from __future__ import annotations

import time

import httpx

from tests.fake_arena import Penalty

MODEL = "gpt-4o-2024-08-06"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


def chat(bridge) -> httpx.Response:
    return httpx.post(f"{bridge.url}/v1/chat/completions", json=CHAT, timeout=60)


def api_requests(arena) -> int:
    return len([r for r in arena.requests if r.path.startswith("/nextjs-api/stream/")])


def flag(bridge, arena) -> None:
    """Send until the arena's verdict comes back; the account is then cooling."""
    for _ in range(arena.penalty.requests):
        if chat(bridge).status_code != 200:
            return
    raise AssertionError("the fake arena never flagged the account")


def test_a_tight_loop_paced_above_the_threshold_never_gets_the_account_flagged(make_bridge, arena):
    arena.penalty = Penalty(requests=3, within=2.0, cooldown=60)
    bridge = make_bridge(pace_seconds=1.1)
    answers = [chat(bridge) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert arena.penalty.flagged() == []


def test_after_the_verdict_nothing_leaves_the_cooling_account_and_it_resumes_after_the_cooldown(make_bridge, arena):
    arena.penalty = Penalty(requests=2, within=30.0, cooldown=3.0)
    bridge = make_bridge(cooldown_seconds=3)
    flag(bridge, arena)
    sent = api_requests(arena)
    refused = [chat(bridge) for _ in range(3)]
    assert {r.status_code for r in refused} == {503}
    assert {r.json()["error"]["code"] for r in refused} == {"account_cooling_down"}
    assert all(1 <= int(r.headers["retry-after"]) <= 3 for r in refused)
    health = httpx.get(f"{bridge.url}/health", timeout=10)
    assert health.status_code == 503 and health.json()["accounts"][0]["state"] == "account_cooling_down"
    assert api_requests(arena) == sent
    time.sleep(3.2)
    assert chat(bridge).status_code == 200
    assert api_requests(arena) == sent + 1


def test_the_cooldown_survives_a_kill_9_and_restart(make_bridge, arena):
    arena.penalty = Penalty(requests=2, within=30.0, cooldown=120)
    bridge = make_bridge(cooldown_seconds=120)
    flag(bridge, arena)
    sent = api_requests(arena)
    bridge.process.kill()
    bridge.process.wait(10)
    bridge.process = None
    bridge.start(wait_healthy=False)
    body = bridge.wait_healthy(listening_is_enough=True)
    deadline = time.monotonic() + 30
    while body["accounts"][0]["state"] != "account_cooling_down" and time.monotonic() < deadline:
        time.sleep(0.2)
        body = httpx.get(f"{bridge.url}/health", timeout=10).json()
    assert body["accounts"][0]["state"] == "account_cooling_down"
    assert 100 <= body["accounts"][0]["cooldown_seconds_left"] <= 120
    response = chat(bridge)
    assert response.status_code == 503 and response.json()["error"]["code"] == "account_cooling_down"
    assert api_requests(arena) == sent


def wait_for_accounts(bridge, states: set[str], timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        health = httpx.get(f"{bridge.url}/health", timeout=10)
        if {a["state"] for a in health.json()["accounts"]} == states or time.monotonic() > deadline:
            return health
        time.sleep(0.2)


def test_two_profiles_logged_in_as_two_accounts_share_twenty_requests(make_bridge, arena):
    arena.distinct_logins = 2
    bridge = make_bridge(profiles=["one", "two"], wait_healthy=False)
    health = wait_for_accounts(bridge, {"ready"})
    assert health.status_code == 200 and [a["name"] for a in health.json()["accounts"]] == ["one", "two"]
    assert [chat(bridge).status_code for _ in range(20)] == [200] * 20
    tokens = [arena.account_of(r) for r in arena.requests if r.path.startswith("/nextjs-api/stream/")]
    assert sorted(set(tokens)) == sorted(arena.accounts) and len(arena.accounts) == 2
    assert sorted(tokens.count(t) for t in arena.accounts) == [10, 10]


def test_with_one_account_logged_out_all_traffic_goes_to_the_other_and_health_is_200(make_bridge, arena):
    arena.distinct_logins = 1
    bridge = make_bridge(profiles=["one", "two"], wait_healthy=False)
    health = wait_for_accounts(bridge, {"ready", "logged_out"})
    assert health.status_code == 200
    assert sorted(a["state"] for a in health.json()["accounts"]) == ["logged_out", "ready"]
    assert [chat(bridge).status_code for _ in range(6)] == [200] * 6
    tokens = {arena.account_of(r) for r in arena.requests if r.path.startswith("/nextjs-api/stream/")}
    assert tokens == set(arena.accounts)
