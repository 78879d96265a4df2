"""The HTTP layer in-process: the real app around a `ScriptedPage`, the real `openai` client
over `httpx.ASGITransport`. No browser; the browser paths have their own end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import openai
import pytest

from browser.arena import RECAPTCHA_V2_CHALLENGE_WAIT_HEADED_MS, ArenaMessage, build_create_request
from browser.errors import ArenaFailure, FailureKind
from tests.scripted_page import ScriptedPage, asgi_client, in_process_app, openai_client

MODEL_ID = "0199f060-b306-7e1f-aeae-0ebb4e3f1122"
MODELS = {"gpt-4o": MODEL_ID}


@pytest.fixture
def page() -> ScriptedPage:
    return ScriptedPage()


@pytest.fixture
async def http(tmp_path: Path, page: ScriptedPage) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(in_process_app(tmp_path, page, MODELS, protocol="create")) as client:
        yield client


@pytest.fixture
def client(http: httpx.AsyncClient) -> openai.AsyncOpenAI:
    return openai_client(http)


@pytest.mark.anyio
async def test_a_chat_completion_is_the_scripted_answer_in_openai_shape(client, page):
    completion = await client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "Hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert page.bodies()[0]["modelAId"] == MODEL_ID


@pytest.mark.anyio
async def test_a_stream_carries_the_pieces_in_order(client):
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    pieces = [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]
    assert pieces == ["Hello", " there"]


@pytest.mark.anyio
async def test_the_conversation_reaches_the_arena_folded_into_one_user_message(client, page):
    await client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": "second question"},
        ],
    )
    content = page.bodies()[0]["userMessage"]["content"]
    assert all(part in content for part in ("be brief", "first question", "first answer", "second question"))


@pytest.mark.anyio
async def test_an_arena_rate_limit_is_429_with_retry_after(client, page):
    page.answer = lambda _r: ArenaFailure(FailureKind.RATE_LIMITED, "slow down", status=429, retry_after=30)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.response.headers["retry-after"] == "30"
    assert caught.value.body["code"] == "arena_rate_limited"


@pytest.mark.anyio
async def test_an_unknown_model_is_404_naming_the_refresh_command(client):
    with pytest.raises(openai.NotFoundError) as caught:
        await client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    assert "lmarena-bridge models --refresh" in caught.value.message


@pytest.mark.anyio
async def test_an_unknown_route_is_404_in_openai_shape(http):
    response = await http.get("/v1/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.anyio
async def test_a_scripted_page_makes_health_ok(http):
    response = await http.get("/health")
    assert (response.status_code, response.json()["status"]) == (200, "ok")


@pytest.mark.anyio
async def test_without_a_key_a_bridge_on_all_interfaces_refuses_a_dns_name_a_page_could_rebind(tmp_path, page):
    app = in_process_app(tmp_path, page, MODELS, protocol="create", host="0.0.0.0")
    async with asgi_client(app) as http:
        response = await http.get("/v1/models", headers={"Host": "rebind.evil.example:5102"})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "loopback_only")
    assert page.requests == []


@pytest.mark.anyio
async def test_without_a_key_a_bridge_on_all_interfaces_answers_clients_that_use_its_ip_address(tmp_path, page):
    app = in_process_app(tmp_path, page, MODELS, protocol="create", host="0.0.0.0")
    async with asgi_client(app) as http:
        for host in ("192.168.1.5:5102", "localhost:5102", "[::1]:5102"):
            assert (await http.get("/v1/models", headers={"Host": host})).status_code == 200


def test_a_person_in_the_live_view_gets_the_time_to_solve_a_v2_image_challenge():
    page = ScriptedPage()
    page.mode = "virtual_display"
    request = build_create_request([ArenaMessage("user", "hi")], MODEL_ID, recaptcha_v2=True)
    alone = page._with_person_time(request).recaptcha
    page.person_at_hand()
    watched = page._with_person_time(request).recaptcha
    assert alone is not None and watched is not None
    assert alone.challenge_wait_ms < watched.challenge_wait_ms == RECAPTCHA_V2_CHALLENGE_WAIT_HEADED_MS
    assert page.person_present
    page.person_gone()
    assert not page.person_present
