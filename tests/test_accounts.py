"""Accounts in-process: pacing, cooldowns and their file, with the real app around ScriptedPages.

The browser is not the point here; tests/test_accounts_e2e.py runs the same rules through a real
bridge process, Chromium and the fake arena's penalty mode.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from bridge.config import ConfigSource, ConfigStore
from bridge.http import create_app
from browser import LaunchOptions
from browser.driver import LOGGED_OUT
from browser.errors import ArenaFailure, FailureKind
from browser.stream import Finish, ImageResult
from tests.scripted_page import ScriptedPage, in_process_app, says

MODELS = {"gpt-4o": "0199f060-b306-7e1f-aeae-0ebb4e3f1122"}
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=30)


class TimedPage(ScriptedPage):
    """A scripted page that notes when each request left it (time.monotonic())."""

    def __init__(self, profile: str = "/nonexistent", **kwargs) -> None:
        super().__init__(**kwargs)
        self.options = LaunchOptions(profile_dir=Path(profile))
        self.sent: list[float] = []

    async def stream(self, request, *, timeout):
        self.sent.append(time.monotonic())
        async for event in super().stream(request, timeout=timeout):
            yield event


def rate_limited_once(seconds: float | None, kind: FailureKind = FailureKind.RATE_LIMITED):
    calls = []

    def answer(request):
        calls.append(request)
        if len(calls) == 1:
            status = 429 if kind is FailureKind.RATE_LIMITED else 403
            return ArenaFailure(kind, "Too many requests, please try again later.", status=status, retry_after=seconds)
        return says("fine")(request)

    return answer


@pytest.mark.anyio
async def test_requests_of_one_account_leave_at_least_pace_seconds_apart(tmp_path):
    page = TimedPage()
    app = in_process_app(tmp_path, page, MODELS, protocol="create", pace_seconds=0.6)
    async with client(app) as http:
        answers = await asyncio.gather(*(http.post("/v1/chat/completions", json=CHAT) for _ in range(3)))
    assert [a.status_code for a in answers] == [200, 200, 200]
    gaps = [b - a for a, b in zip(page.sent, page.sent[1:])]
    assert len(gaps) == 2 and min(gaps) >= 0.55


@pytest.mark.anyio
async def test_a_request_that_would_wait_past_the_bound_is_503_no_account_ready_with_retry_after(tmp_path):
    page = TimedPage()
    app = in_process_app(tmp_path, page, MODELS, protocol="create", pace_seconds=100, stream_response_timeout_seconds=5)
    async with client(app) as http:
        first = await http.post("/v1/chat/completions", json=CHAT)
        started = time.monotonic()
        second = await http.post("/v1/chat/completions", json=CHAT)
    assert first.status_code == 200
    assert second.status_code == 503 and time.monotonic() - started < 2
    assert second.json()["error"]["code"] == "no_account_ready"
    assert 90 <= int(second.headers["retry-after"]) <= 100
    assert len(page.sent) == 1


@pytest.mark.anyio
async def test_an_arena_retry_after_cools_the_account_and_nothing_is_sent_until_it_ends(tmp_path):
    page = TimedPage(answer=rate_limited_once(1.5))
    app = in_process_app(tmp_path, page, MODELS, protocol="create")
    async with client(app) as http:
        flagged = await http.post("/v1/chat/completions", json=CHAT)
        cooling = await http.post("/v1/chat/completions", json=CHAT)
        health = await http.get("/health")
        assert len(page.sent) == 1
        await asyncio.sleep(1.6)
        resumed = await http.post("/v1/chat/completions", json=CHAT)
    assert flagged.status_code == 429
    assert cooling.status_code == 503 and cooling.json()["error"]["code"] == "account_cooling_down"
    assert 1 <= int(cooling.headers["retry-after"]) <= 2
    assert health.status_code == 503 and health.json()["reason"] == "account_cooling_down"
    assert health.json()["accounts"][0]["state"] == "account_cooling_down"
    assert resumed.status_code == 200 and len(page.sent) == 2


@pytest.mark.anyio
async def test_a_recaptcha_verdict_without_retry_after_cools_the_account_for_cooldown_seconds(tmp_path):
    page = TimedPage(answer=lambda _r: ArenaFailure(FailureKind.RECAPTCHA, "recaptcha validation failed", status=403))
    app = in_process_app(tmp_path, page, MODELS, protocol="create", cooldown_seconds=600)
    async with client(app) as http:
        await http.post("/v1/chat/completions", json=CHAT)
        sent = len(page.sent)
        cooling = await http.post("/v1/chat/completions", json=CHAT)
    assert cooling.status_code == 503 and cooling.json()["error"]["code"] == "account_cooling_down"
    assert 590 <= int(cooling.headers["retry-after"]) <= 600
    assert len(page.sent) == sent


@pytest.mark.anyio
async def test_the_cooldown_is_written_beside_the_config_and_read_by_the_next_app(tmp_path):
    app = in_process_app(tmp_path, TimedPage(answer=rate_limited_once(300)), MODELS, protocol="create")
    async with client(app) as http:
        await http.post("/v1/chat/completions", json=CHAT)
    saved = json.loads((tmp_path / "accounts_state.json").read_text())
    assert list(saved["accounts"]) == ["/nonexistent"]
    page = TimedPage()
    again = in_process_app(tmp_path, page, MODELS, protocol="create")
    async with client(again) as http:
        response = await http.post("/v1/chat/completions", json=CHAT)
        health = (await http.get("/health")).json()
    assert response.status_code == 503 and response.json()["error"]["code"] == "account_cooling_down"
    assert page.sent == []
    assert 290 <= health["accounts"][0]["cooldown_seconds_left"] <= 300


@pytest.mark.anyio
async def test_health_lists_the_account_with_its_state(tmp_path):
    app = in_process_app(tmp_path, TimedPage(), MODELS, protocol="create")
    async with client(app) as http:
        body = (await http.get("/health")).json()
    assert body["accounts"] == [
        {
            "name": "profile",
            "state": "ready",
            "detail": "scripted page",
            "cooldown_seconds_left": 0,
            "next_turn_seconds": 0,
            "requests": 0,
        }
    ]


def two_account_app(folder: Path, pages: list[TimedPage], **config):
    path = folder / "config.jsonc"
    settings = {"auto_update_models": False, "protocol": "create", "profiles": ["a", "b"], **config}
    path.write_text(json.dumps(settings))
    (folder / "models.json").write_text(json.dumps(MODELS))
    return create_app(ConfigStore(ConfigSource({"config": str(path)}, env={})), pages=pages)


@pytest.mark.anyio
async def test_two_paced_accounts_serve_twice_the_requests_of_one_in_the_same_time(tmp_path):
    pages = [TimedPage("/profiles/a"), TimedPage("/profiles/b")]
    app = two_account_app(tmp_path, pages, pace_seconds=0.5)
    started = time.monotonic()
    async with client(app) as http:
        answers = await asyncio.gather(*(http.post("/v1/chat/completions", json=CHAT) for _ in range(6)))
    elapsed = time.monotonic() - started
    assert [a.status_code for a in answers] == [200] * 6
    assert [len(p.sent) for p in pages] == [3, 3]
    assert 0.9 <= elapsed < 2.0  # one account alone needs 2.5 s for six: 0, 0.5, ..., 2.5
    for page in pages:
        assert min(b - a for a, b in zip(page.sent, page.sent[1:])) >= 0.45


@pytest.mark.anyio
async def test_a_cooling_account_is_skipped_while_the_other_serves(tmp_path):
    flagged = TimedPage("/profiles/a", answer=rate_limited_once(300))
    other = TimedPage("/profiles/b")
    app = two_account_app(tmp_path, [flagged, other], pace_seconds=0)
    async with client(app) as http:
        answers = [await http.post("/v1/chat/completions", json=CHAT) for _ in range(5)]
        health = await http.get("/health")
    assert answers[0].status_code == 429 and [a.status_code for a in answers[1:]] == [200] * 4
    assert (len(flagged.sent), len(other.sent)) == (1, 4)
    assert health.status_code == 200
    assert [a["state"] for a in health.json()["accounts"]] == ["account_cooling_down", "ready"]


@pytest.mark.anyio
async def test_a_client_that_leaves_while_waiting_gives_its_turn_back(tmp_path):
    page = TimedPage()
    app = in_process_app(tmp_path, page, MODELS, protocol="create", pace_seconds=0.8)
    async with client(app) as http:
        await http.post("/v1/chat/completions", json=CHAT)
        waiting = asyncio.create_task(http.post("/v1/chat/completions", json=CHAT))
        await asyncio.sleep(0.2)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await asyncio.sleep(0.7)
        started = time.monotonic()
        await http.post("/v1/chat/completions", json=CHAT)
    assert time.monotonic() - started < 0.3
    assert len(page.sent) == 2


@pytest.mark.anyio
async def test_the_images_of_one_request_are_spread_over_the_accounts(tmp_path):
    draws = lambda _r: [ImageResult("https://images.test/cat.png"), Finish("stop")]  # noqa: E731
    pages = [TimedPage("/profiles/a", answer=draws), TimedPage("/profiles/b", answer=draws)]
    app = two_account_app(tmp_path, pages, pace_seconds=0)
    (tmp_path / "models.json").write_text(json.dumps({"dall-e-3": "0199f060-0000-7000-8000-000000000003:image"}))
    async with client(app) as http:
        response = await http.post("/v1/images/generations", json={"prompt": "a cat", "model": "dall-e-3", "n": 4})
    assert response.status_code == 200 and len(response.json()["data"]) == 4
    assert [len(p.sent) for p in pages] == [2, 2]


@pytest.mark.anyio
async def test_the_model_refresh_reads_the_first_ready_account(tmp_path):
    logged_out = TimedPage("/profiles/a", models=[{"id": "x", "publicName": "from-a"}])
    logged_out.state = LOGGED_OUT
    text = {"outputCapabilities": {"text": True}}
    ready = TimedPage(
        "/profiles/b",
        models=[{"id": "0199f060-0000-7000-8000-00000000000b", "publicName": "from-b", "capabilities": text}],
    )
    app = two_account_app(tmp_path, [logged_out, ready], pace_seconds=0)
    async with client(app) as http:
        response = await http.post("/internal/models/refresh")
    assert response.json() == {"models": 1, "added": ["from-b"]}


@pytest.mark.anyio
async def test_n_choices_that_pacing_could_not_serve_in_time_are_refused_before_any_is_sent(tmp_path):
    page = TimedPage()
    app = in_process_app(tmp_path, page, MODELS, protocol="create", pace_seconds=1, stream_response_timeout_seconds=1.5)
    async with client(app) as http:
        refused = await http.post("/v1/chat/completions", json={**CHAT, "n": 3})
        served = await http.post("/v1/chat/completions", json={**CHAT, "n": 2})
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "no_account_ready"
    assert served.status_code == 200 and len(served.json()["choices"]) == 2
    assert len(page.sent) == 2


@pytest.mark.anyio
async def test_images_that_pacing_could_not_serve_in_time_are_refused_before_any_is_sent(tmp_path):
    page = TimedPage(answer=lambda _r: [ImageResult("https://images.test/cat.png"), Finish("stop")])
    app = in_process_app(tmp_path, page, MODELS, protocol="create", pace_seconds=100)
    (tmp_path / "models.json").write_text(json.dumps({"dall-e-3": "0199f060-0000-7000-8000-000000000003:image"}))
    async with client(app) as http:
        response = await http.post("/v1/images/generations", json={"prompt": "a cat", "model": "dall-e-3", "n": 5})
    assert response.status_code == 503 and response.json()["error"]["code"] == "no_account_ready"
    assert page.sent == []
