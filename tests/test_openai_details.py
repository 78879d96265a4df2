"""The OpenAI details clients rely on (issue 15), in-process: the real app around a `ScriptedPage`,
the real `openai` client over `httpx.ASGITransport`, every body and chunk checked against the
SDK's own types. The browser paths have end-to-end tests in test_openai_details_e2e.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types import Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from bridge.http.streaming import StreamTiming
from browser import ArenaRequest
from browser.errors import ArenaFailure, FailureKind
from browser.stream import Event, Finish, TextDelta
from tests.scripted_page import ScriptedPage, in_process_app, says

MODELS = {"gpt-4o": "0199f060-b306-7e1f-aeae-0ebb4e3f1122", "openai/gpt-5": "0199f060-b306-7e1f-aeae-0ebb4e3f1123"}
HI = [{"role": "user", "content": "hi"}]


class SlowPage(ScriptedPage):
    """Silent for `silence` seconds before the scripted answer (a slow model, a long think)."""

    def __init__(self, answer: Any = says("Hello"), silence: float = 0.0) -> None:
        super().__init__(answer)
        self.silence = silence

    async def stream(self, request: ArenaRequest, *, timeout: float) -> AsyncGenerator[Event, None]:
        await asyncio.sleep(self.silence)
        async for event in super().stream(request, timeout=timeout):
            yield event


@pytest.fixture
def page() -> SlowPage:
    return SlowPage()


@pytest.fixture
def config() -> dict[str, Any]:
    return {}


@pytest.fixture
async def http(tmp_path: Path, page: SlowPage, config: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    app = in_process_app(tmp_path, page, MODELS, protocol="create", **config)
    app.state.stream_timing = StreamTiming(headers_after=0.2, keepalive_every=0.1)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:5102") as client:
        yield client


@pytest.fixture
def client(http: httpx.AsyncClient) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="unused", base_url="http://127.0.0.1:5102/v1", http_client=http, max_retries=0)


async def sse_lines(http: httpx.AsyncClient, body: dict[str, Any], path: str = "/v1/chat/completions") -> list[str]:
    """The raw lines of a stream (comments included), without the blank separators."""
    async with http.stream("POST", path, json={"model": "gpt-4o", "messages": HI, "stream": True, **body}) as response:
        assert response.status_code == 200
        return [line async for line in response.aiter_lines() if line]


def chunks_of(lines: list[str]) -> list[dict[str, Any]]:
    """The data events before [DONE], each checked against the SDK's chunk type."""
    assert lines[-1] == "data: [DONE]"
    payloads = [json.loads(line[len("data: ") :]) for line in lines[:-1] if line.startswith("data: ")]
    for payload in payloads:
        ChatCompletionChunk.model_validate(payload)
    return payloads


def content(chunks: list[dict[str, Any]], index: int = 0) -> str:
    return "".join(c["delta"].get("content") or "" for p in chunks for c in p["choices"] if c["index"] == index)


@pytest.mark.anyio
async def test_include_usage_adds_a_final_usage_chunk_and_null_usage_on_the_others(http):
    chunks = chunks_of(await sse_lines(http, {"stream_options": {"include_usage": True}}))
    *answer, last = chunks
    assert last["choices"] == [] and last["usage"]["completion_tokens"] >= 1
    assert last["usage"]["total_tokens"] == last["usage"]["prompt_tokens"] + last["usage"]["completion_tokens"]
    assert all("usage" in c and c["usage"] is None for c in answer)


@pytest.mark.anyio
async def test_a_stream_without_include_usage_has_no_usage_key(http):
    chunks = chunks_of(await sse_lines(http, {}))
    assert all("usage" not in c for c in chunks) and chunks[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.anyio
async def test_a_stop_string_ends_a_non_stream_answer_before_it(client, page):
    page.answer = says("Sure.", " Here", " it is\nUs", "er: next turn")
    completion = await client.chat.completions.create(model="gpt-4o", messages=HI, stop=["STOP", "\nUser:"])
    ChatCompletion.model_validate(completion.model_dump())
    assert (completion.choices[0].message.content, completion.choices[0].finish_reason) == ("Sure. Here it is", "stop")


@pytest.mark.anyio
async def test_a_stop_string_split_over_pieces_ends_a_stream_before_it(http, page):
    page.answer = says("one tw", "o ST", "OP-HE", "RE three")
    chunks = chunks_of(await sse_lines(http, {"stop": "STOP-HERE"}))
    assert content(chunks) == "one two "
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.anyio
async def test_more_than_four_stop_strings_are_a_400(client):
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=HI, stop=["a", "b", "c", "d", "e"])
    assert caught.value.body["param"] == "stop"


@pytest.mark.anyio
async def test_max_tokens_cuts_the_answer_with_finish_reason_length(client, page):
    page.answer = says("x" * 30, "y" * 30)
    completion = await client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=10)
    assert (completion.choices[0].message.content, completion.choices[0].finish_reason) == (
        "x" * 30 + "y" * 10,
        "length",
    )
    assert completion.usage.completion_tokens == 10


@pytest.mark.anyio
async def test_models_retrieve_answers_the_same_object_as_the_list(client):
    listed = {m.id: m for m in (await client.models.list()).data}
    for name in MODELS:
        model = await client.models.retrieve(name)
        Model.model_validate(model.model_dump())
        assert (model.id, model.owned_by, model.object) == (name, listed[name].owned_by, "model")


@pytest.mark.anyio
async def test_retrieving_an_unknown_model_is_404_model_not_found(client):
    with pytest.raises(openai.NotFoundError) as caught:
        await client.models.retrieve("no-such/model")
    assert caught.value.body["code"] == "model_not_found"


@pytest.mark.anyio
@pytest.mark.parametrize("config", [{"api_key": "sk-test"}])
async def test_with_an_api_key_any_origin_gets_a_preflight_without_the_key(http):
    headers = {
        "Origin": "https://chat.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    response = await http.options("/v1/chat/completions", headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://chat.example")
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


@pytest.mark.anyio
@pytest.mark.parametrize("config", [{"api_key": "sk-test"}])
async def test_a_cross_origin_request_without_the_key_gets_a_401_the_page_can_read(http):
    refused = await http.get("/v1/models", headers={"Origin": "https://chat.example"})
    assert refused.status_code == 401 and "access-control-allow-origin" in refused.headers


@pytest.mark.anyio
@pytest.mark.parametrize("config", [{"cors_allow_origins": ["https://allowed.example"]}])
async def test_without_an_api_key_only_the_listed_origins_get_cors(http):
    allowed = await http.get("/v1/models", headers={"Origin": "https://allowed.example"})
    other = await http.get("/v1/models", headers={"Origin": "https://other.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://allowed.example"
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.anyio
@pytest.mark.parametrize("config", [{"api_key": "sk-test"}])
async def test_internal_routes_never_get_cors(http):
    headers = {"Origin": "https://chat.example", "Access-Control-Request-Method": "POST"}
    response = await http.options("/internal/capture", headers=headers)
    assert "access-control-allow-origin" not in response.headers and response.status_code >= 400


@pytest.mark.anyio
async def test_the_routes_answer_without_the_v1_prefix(http):
    chat = await http.post("/chat/completions", json={"model": "gpt-4o", "messages": HI})
    ChatCompletion.model_validate(chat.json())
    assert chat.json()["choices"][0]["message"]["content"] == "Hello"
    assert (await http.get("/models")).json()["object"] == "list"
    assert (await http.get("/models/openai/gpt-5")).json()["id"] == "openai/gpt-5"


@pytest.mark.anyio
@pytest.mark.parametrize("config", [{"api_key": "sk-test"}])
async def test_the_routes_without_v1_still_need_the_api_key(http):
    assert (await http.post("/chat/completions", json={"model": "gpt-4o", "messages": HI})).status_code == 401


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/v1", "/v1/v1/chat/completions", "/"])
async def test_a_wrong_path_is_a_404_naming_the_right_one_and_the_base_url(http, path):
    response = await http.post(path, json={"model": "gpt-4o", "messages": HI})
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert "did you mean /v1/chat/completions? set the base URL to http://127.0.0.1:5102/v1" in message


@pytest.mark.anyio
async def test_a_stream_sends_keep_alive_comments_while_the_arena_is_silent(http, page):
    page.silence = 0.5
    lines = await sse_lines(http, {})
    first_data = next(i for i, line in enumerate(lines) if line.startswith("data: "))
    assert lines[:first_data].count(": keep-alive") >= 3
    assert content(chunks_of(lines)) == "Hello"


@pytest.mark.anyio
async def test_an_error_before_the_stream_starts_keeps_its_http_status(client, page):
    page.answer = lambda _r: ArenaFailure(FailureKind.RATE_LIMITED, "slow down", status=429, retry_after=30)
    with pytest.raises(openai.RateLimitError):
        await client.chat.completions.create(model="gpt-4o", messages=HI, stream=True)


@pytest.mark.anyio
async def test_an_error_after_the_keep_alives_started_is_an_error_event_then_done(http, page):
    page.silence = 0.4
    page.answer = lambda _r: ArenaFailure(FailureKind.RATE_LIMITED, "slow down", status=429, retry_after=30)
    lines = await sse_lines(http, {})
    assert lines[0] == ": keep-alive" and lines[-1] == "data: [DONE]"
    assert json.loads(lines[-2][len("data: ") :])["error"]["code"] == "arena_rate_limited"


@pytest.mark.anyio
async def test_n_choices_are_n_arena_requests_with_their_own_index(client, page):
    answers = iter(["first", "second"])
    page.answer = lambda _r: [TextDelta(next(answers)), Finish("stop")]
    completion = await client.chat.completions.create(model="gpt-4o", messages=HI, n=2)
    ChatCompletion.model_validate(completion.model_dump())
    assert len(page.requests) == 2
    assert sorted((c.index, c.message.content) for c in completion.choices) == [(0, "first"), (1, "second")]


@pytest.mark.anyio
async def test_a_stream_of_n_choices_carries_each_index_with_its_finish(http, page):
    page.answer = says("same")
    chunks = chunks_of(await sse_lines(http, {"n": 3}))
    assert [content(chunks, i) for i in range(3)] == ["same"] * 3
    finishes = [c["index"] for p in chunks for c in p["choices"] if c["finish_reason"] == "stop"]
    assert sorted(finishes) == [0, 1, 2]


@pytest.mark.anyio
async def test_n_above_the_maximum_is_a_400_naming_it(client, page):
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=HI, n=5)
    assert caught.value.body["param"] == "n" and "between 1 and 4" in caught.value.message
    assert page.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/v1/models", "/models", "/health", "/v1/models/gpt-4o", "/models/openai/gpt-5"])
async def test_head_answers_where_get_does(http, path):
    response = await http.head(path)
    assert response.status_code == 200


@pytest.mark.anyio
async def test_a_message_name_reaches_the_arena_as_a_speaker_label(client, page):
    await client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "name": "example_user", "content": "What is 2+2?"},
            {"role": "system", "name": "example_assistant", "content": "Four."},
            {"role": "user", "name": "Alice", "content": "And 3+3?"},
        ],
    )
    sent = page.bodies()[0]["userMessage"]["content"]
    assert all(label in sent for label in ("example_user: What is 2+2?", "example_assistant: Four.", "Alice: And 3+3?"))


@pytest.mark.anyio
async def test_every_other_openai_request_field_is_accepted(client):
    completion = await client.chat.completions.create(
        model="gpt-4o",
        messages=HI,
        temperature=0.2,
        top_p=0.9,
        presence_penalty=0.1,
        frequency_penalty=0.1,
        logit_bias={"50256": -100},
        logprobs=True,
        top_logprobs=2,
        seed=7,
        user="someone",
        response_format={"type": "json_object"},
        modalities=["text"],
        audio={"voice": "alloy", "format": "mp3"},
        prediction={"type": "content", "content": "Hello"},
        reasoning_effort="low",
        service_tier="auto",
        store=False,
        metadata={"app": "test"},
        parallel_tool_calls=True,
        web_search_options={},
        max_completion_tokens=100,
        stream_options=None,
    )
    ChatCompletion.model_validate(completion.model_dump())
    assert completion.choices[0].message.content == "Hello"


@pytest.mark.anyio
async def test_a_json_schema_response_format_reaches_the_arena_as_an_instruction(client, page):
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    await client.chat.completions.create(
        model="gpt-4o",
        messages=HI,
        response_format={"type": "json_schema", "json_schema": {"name": "sum", "schema": schema}},
    )
    sent = page.bodies()[0]["userMessage"]["content"]
    assert "valid JSON object" in sent and json.dumps(schema) in sent
