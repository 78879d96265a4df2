"""OpenAI's Responses API in-process: the real app around a ScriptedPage, the real `openai` client over
httpx.ASGITransport; every raw event and object is also validated against the SDK's own pydantic types."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from bridge.http.streaming import StreamTiming
from browser.errors import StreamTimeout
from browser.stream import Finish, ReasoningDelta, TextDelta
from tests.scripted_page import ScriptedPage, asgi_client, in_process_app, openai_client, says

MODELS = {"gpt-4o": "0199f060-b306-7e1f-aeae-0ebb4e3f1122"}
EVENTS = TypeAdapter(ResponseStreamEvent)
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


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


def sent_text(page: ScriptedPage) -> str:
    return page.bodies()[-1]["userMessage"]["content"]


async def raw_events(http: httpx.AsyncClient, **body: Any) -> list[dict[str, Any]]:
    """The stream's events, each checked against the SDK's types and its `event:` line."""
    events = []
    async with http.stream("POST", "/v1/responses", json={"model": "gpt-4o", "stream": True, **body}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                event = json.loads(line[len("data: ") :])
                assert event["type"] == name
                EVENTS.validate_python(event)
                events.append(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


def kinds(events: list[dict[str, Any]]) -> Iterator[str]:
    return (e["type"] for e in events)


@pytest.mark.anyio
async def test_a_string_input_gets_a_completed_response_with_output_text_and_usage(client, http):
    response = await client.responses.create(model="gpt-4o", input="hi")
    assert (response.object, response.status, response.output_text) == ("response", "completed", "Hello there")
    assert response.output[0].type == "message" and response.output[0].content[0].type == "output_text"
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens > 0
    raw = (await http.post("/v1/responses", json={"model": "gpt-4o", "input": "hi"})).json()
    Response.model_validate(raw)
    assert raw["store"] is False


@pytest.mark.anyio
async def test_a_text_stream_has_the_api_event_sequence(http):
    events = await raw_events(http, input="hi")
    assert list(kinds(events)) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["delta"] for e in events if e["type"] == "response.output_text.delta"] == ["Hello", " there"]
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Hello there"


@pytest.mark.anyio
async def test_the_sdk_stream_helper_assembles_the_final_response(client):
    async with client.responses.stream(model="gpt-4o", input="hi") as stream:
        deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        final = await stream.get_final_response()
    assert "".join(deltas) == final.output_text == "Hello there"


@pytest.mark.anyio
async def test_instructions_and_the_input_reach_the_arena(client, page):
    await client.responses.create(model="gpt-4o", instructions="Answer in French.", input="hi")
    text = sent_text(page)
    assert "Answer in French." in text and "hi" in text


@pytest.mark.anyio
async def test_a_tool_call_is_a_function_call_output_item(client, page):
    page.answer = says("Checking.\n", CALL)
    response = await client.responses.create(model="gpt-4o", input="Weather in Paris?", tools=[WEATHER])
    message, call = response.output
    assert message.content[0].text == "Checking."
    assert (call.type, call.name, json.loads(call.arguments)) == ("function_call", "get_weather", {"city": "Paris"})
    assert call.call_id.startswith("call_") and call.id.startswith("fc_")
    assert json.dumps(WEATHER["parameters"]) in sent_text(page)


@pytest.mark.anyio
async def test_a_streamed_tool_call_has_the_function_call_argument_events(http, page):
    page.answer = says(CALL)
    events = await raw_events(http, input="Weather in Paris?", tools=[WEATHER])
    assert list(kinds(events)) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    done = events[-2]["item"]
    assert (done["type"], done["name"], json.loads(done["arguments"])) == (
        "function_call",
        "get_weather",
        {"city": "Paris"},
    )


@pytest.mark.anyio
async def test_the_sdk_stream_helper_assembles_a_function_call(client, page):
    page.answer = says(CALL)
    async with client.responses.stream(model="gpt-4o", input="Weather?", tools=[WEATHER]) as stream:
        final = await stream.get_final_response()
    assert [item.type for item in final.output] == ["function_call"]


@pytest.mark.anyio
async def test_function_call_history_reaches_the_model_as_text(client, page):
    page.answer = says("22 C and sunny.")
    response = await client.responses.create(
        model="gpt-4o",
        tools=[WEATHER],
        input=[
            {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "22 C, sunny"},
        ],
    )
    assert response.output_text == "22 C and sunny."
    text = sent_text(page)
    assert '{"name": "get_weather", "arguments": {"city": "Paris"}}' in text
    assert '<tool_result name="get_weather" call_id="call_1">\n22 C, sunny\n</tool_result>' in text


@pytest.mark.anyio
async def test_an_input_image_is_sent_as_an_attachment(client, page):
    await client.responses.create(
        model="gpt-4o",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"},
                ],
            }
        ],
    )
    (attachment,) = page.bodies()[-1]["userMessage"]["experimental_attachments"]
    assert attachment["contentType"] == "image/png"


@pytest.mark.anyio
async def test_arena_reasoning_is_a_reasoning_item_before_the_message(http, page):
    page.answer = lambda _r: [ReasoningDelta("think"), TextDelta("answer"), Finish("stop")]
    events = await raw_events(http, input="hi")
    output = events[-1]["response"]["output"]
    assert [(item["type"], item["content"][0]["text"]) for item in output] == [
        ("reasoning", "think"),
        ("message", "answer"),
    ]
    assert "response.reasoning_text.delta" in kinds(events)


@pytest.mark.anyio
async def test_a_cut_answer_is_an_incomplete_response(client, page):
    page.answer = lambda _r: [TextDelta("partial"), Finish("length")]
    response = await client.responses.create(model="gpt-4o", input="hi")
    assert (response.status, response.incomplete_details.reason) == ("incomplete", "max_output_tokens")


@pytest.mark.anyio
async def test_a_failure_mid_stream_is_an_error_event_then_response_failed(http, page):
    def failing(_request):
        yield TextDelta("Hel")
        raise StreamTimeout(1)

    page.answer = failing
    events = await raw_events(http, input="hi")
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2]["code"] == "arena_timeout"
    assert events[-1]["response"]["status"] == "failed"


@pytest.mark.anyio
async def test_previous_response_id_is_400_saying_nothing_is_stored(client):
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model="gpt-4o", input="hi", previous_response_id="resp_123")
    assert "stateless" in caught.value.message and caught.value.body["param"] == "previous_response_id"


@pytest.mark.anyio
async def test_built_in_tools_are_left_out_and_function_tools_kept(client, page):
    await client.responses.create(model="gpt-4o", input="hi", tools=[{"type": "web_search"}, WEATHER])
    assert "get_weather" in sent_text(page) and "web_search" not in sent_text(page)


@pytest.mark.anyio
async def test_the_route_without_v1_answers_too(http):
    response = await http.post("/responses", json={"model": "gpt-4o", "input": "hi"})
    assert response.status_code == 200 and response.json()["object"] == "response"


@pytest.mark.anyio
async def test_an_unknown_model_is_404_in_openai_shape(client):
    with pytest.raises(openai.NotFoundError):
        await client.responses.create(model="no-such-model", input="hi")


@pytest.mark.anyio
async def test_the_responses_routes_need_the_api_key_when_one_is_set(tmp_path, page):
    app = in_process_app(tmp_path, page, MODELS, protocol="create", api_key="sekret")
    async with asgi_client(app) as http:
        for path in ("/v1/responses", "/responses"):
            response = await http.post(path, json={"model": "gpt-4o", "input": "hi"})
            assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_api_key")


PATCH_TOOL = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files with a patch.",
    "format": {"type": "grammar", "syntax": "lark", "definition": 'start: "*** Begin Patch" /(.|\\n)*/'},
}
PATCH = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch"


@pytest.mark.anyio
async def test_a_custom_tool_is_called_with_its_free_text_input(http, page):
    page.answer = says(
        "<tool_call>" + json.dumps({"name": "apply_patch", "arguments": {"input": PATCH}}) + "</tool_call>"
    )
    events = await raw_events(http, input="Add a.txt", tools=[PATCH_TOOL, WEATHER])
    assert "response.custom_tool_call_input.delta" in kinds(events)
    final = events[-1]["response"]
    Response.model_validate(final)
    (item,) = final["output"]
    assert (item["type"], item["name"], item["input"]) == ("custom_tool_call", "apply_patch", PATCH)
    assert "lark grammar" in sent_text(page) and '"input"' in sent_text(page)


@pytest.mark.anyio
async def test_custom_tool_call_history_reaches_the_model_as_text(client, page):
    await client.responses.create(
        model="gpt-4o",
        tools=[PATCH_TOOL],
        input=[
            {"role": "user", "content": "Add a.txt"},
            {"type": "custom_tool_call", "call_id": "call_9", "name": "apply_patch", "input": PATCH},
            {"type": "custom_tool_call_output", "call_id": "call_9", "output": "Done!"},
        ],
    )
    text = sent_text(page)
    assert json.dumps({"name": "apply_patch", "arguments": {"input": PATCH}}) in text
    assert '<tool_result name="apply_patch" call_id="call_9">\nDone!\n</tool_result>' in text


@pytest.mark.anyio
async def test_a_codex_cli_shaped_request_gets_a_shell_call(http, page):
    shell = {
        "type": "function",
        "name": "shell",
        "description": "Runs a shell command and returns its output.",
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": {
                "command": {"type": "array", "items": {"type": "string"}},
                "workdir": {"type": "string"},
                "timeout_ms": {"type": "number"},
            },
            "required": ["command"],
            "additionalProperties": False,
        },
    }
    page.answer = says('<tool_call>{"name": "shell", "arguments": {"command": ["cat", "a.txt"]}}</tool_call>')
    events = await raw_events(
        http,
        instructions="You are a coding agent.",
        input=[
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "sandbox: none"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "show a.txt"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [], "content": None, "encrypted_content": None},
            {"type": "function_call", "name": "shell", "arguments": '{"command": ["ls"]}', "call_id": "call_1"},
            {"type": "function_call_output", "call_id": "call_1", "output": "a.txt\nb.txt"},
        ],
        tools=[shell, {"type": "web_search"}],
        tool_choice="auto",
        parallel_tool_calls=False,
        reasoning=None,
        store=False,
        include=[],
        prompt_cache_key="session-1",
        text={"verbosity": "medium"},
    )
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert [(i["type"], i["name"], json.loads(i["arguments"])) for i in done] == [
        ("function_call", "shell", {"command": ["cat", "a.txt"]})
    ]
    text = sent_text(page)
    assert "sandbox: none" in text and "a.txt\nb.txt" in text and "at most one tool" in text


@pytest.mark.anyio
async def test_max_output_tokens_cuts_the_answer_into_an_incomplete_response(client, page):
    page.answer = says("x" * 400)
    response = await client.responses.create(model="gpt-4o", input="hi", max_output_tokens=10)
    assert (response.status, response.incomplete_details.reason) == ("incomplete", "max_output_tokens")
    assert len(response.output_text) == 40  # about 4 characters a token


class SlowPage(ScriptedPage):
    """Thinks for a while before it answers."""

    async def stream(self, request, *, timeout):
        await asyncio.sleep(0.5)
        async for event in super().stream(request, timeout=timeout):
            yield event


@pytest.mark.anyio
async def test_a_slow_answer_streams_created_and_keep_alive_comments_first(tmp_path):
    app = in_process_app(tmp_path, SlowPage(), MODELS, protocol="create")
    app.state.stream_timing = StreamTiming(headers_after=0.05, keepalive_every=0.1)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        body = {"model": "gpt-4o", "input": "hi", "stream": True}
        async with http.stream("POST", "/v1/responses", json=body) as response:
            lines = [line async for line in response.aiter_lines() if line]
    assert lines[0] == "event: response.created"
    assert ": keep-alive" in lines
    assert lines[-2] == "event: response.completed"


@pytest.mark.anyio
async def test_a_json_schema_text_format_becomes_an_instruction(client, page):
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    response = await client.responses.create(
        model="gpt-4o", input="hi", text={"format": {"type": "json_schema", "name": "place", "schema": schema}}
    )
    assert json.dumps(schema) in sent_text(page)
    assert response.text.format.type == "json_schema"


@pytest.mark.anyio
async def test_a_malformed_text_format_is_400_naming_it(client):
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model="gpt-4o", input="hi", text={"format": {"type": "yaml"}})
    assert caught.value.body["param"] == "text.format"


@pytest.mark.anyio
async def test_items_of_hosted_tools_are_left_out_of_the_conversation(client, page):
    await client.responses.create(
        model="gpt-4o",
        input=[
            {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search"}},
            {"role": "user", "content": "and now?"},
        ],
    )
    assert "web_search_call" not in sent_text(page) and "and now?" in sent_text(page)


@pytest.mark.anyio
async def test_a_response_is_in_the_consoles_recent_requests(tmp_path, page):
    app = in_process_app(tmp_path, page, MODELS, protocol="create")
    async with asgi_client(app) as http:
        await http.post("/v1/responses", json={"model": "gpt-4o", "input": "hi"})
        await http.post("/v1/responses", json={"model": "gpt-4o", "input": []})
    bad, good = app.state.request_log.recent()
    assert (good["surface"], good["model"], good["status"]) == ("responses", "gpt-4o", 200)
    assert bad["status"] == 400


@pytest.mark.anyio
async def test_a_bad_image_is_400_naming_the_input_item(client):
    image = {"type": "input_image", "image_url": "data:image/png;base64,@@@"}
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(
            model="gpt-4o",
            instructions="be brief",
            input=[{"role": "user", "content": "hi"}, {"role": "user", "content": [image]}],
        )
    assert caught.value.body["param"] == "input[1].content[0]"


@pytest.mark.anyio
async def test_a_max_output_tokens_below_one_is_400_naming_it(http, page):
    response = await http.post("/v1/responses", json={"model": "gpt-4o", "input": "hi", "max_output_tokens": -5})
    assert response.status_code == 400 and response.json()["error"]["param"] == "max_output_tokens"
    assert page.requests == []
