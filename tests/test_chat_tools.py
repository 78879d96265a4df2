"""Tool calling on /v1/chat/completions in-process: the real app around a ScriptedPage, the real
`openai` client over httpx.ASGITransport (the SDK's types parse every response and chunk)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from bridge.http.messages import to_arena
from bridge.http.schemas import ChatMessage
from browser.stream import Finish, ReasoningDelta, TextDelta
from tests.scripted_page import ScriptedPage, asgi_client, in_process_app, openai_client, says

MODELS = {"gpt-4o": "0199f060-b306-7e1f-aeae-0ebb4e3f1122"}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
ASK = [{"role": "user", "content": "Weather in Paris?"}]
CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


@pytest.fixture
def page() -> ScriptedPage:
    return ScriptedPage()


@pytest.fixture
async def client(tmp_path: Path, page: ScriptedPage) -> AsyncIterator[openai.AsyncOpenAI]:
    async with asgi_client(in_process_app(tmp_path, page, MODELS, protocol="create")) as http:
        yield openai_client(http)


def sent_text(page: ScriptedPage) -> str:
    return page.bodies()[-1]["userMessage"]["content"]


@pytest.mark.anyio
async def test_the_tools_reach_the_model_as_instructions_with_their_schema(client, page):
    await client.chat.completions.create(model="gpt-4o", messages=ASK, tools=[WEATHER])
    text = sent_text(page)
    assert json.dumps(WEATHER["function"]["parameters"]) in text
    assert "<tool_call>" in text and "Weather in Paris?" in text


@pytest.mark.anyio
async def test_a_call_in_the_answer_is_message_tool_calls_with_finish_reason_tool_calls(client, page):
    page.answer = says("I will check.\n", CALL)
    completion = await client.chat.completions.create(model="gpt-4o", messages=ASK, tools=[WEATHER])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "I will check."
    (call,) = choice.message.tool_calls
    assert (call.type, call.function.name, json.loads(call.function.arguments)) == (
        "function",
        "get_weather",
        {"city": "Paris"},
    )
    assert call.id.startswith("call_")


@pytest.mark.anyio
async def test_a_streamed_call_comes_as_openai_tool_call_deltas_after_the_content(client, page):
    page.answer = says("I will ", "check.\n<tool", '_call>{"name": "get_weather", ', '"arguments": {"city": "Paris"}}')
    stream = await client.chat.completions.create(model="gpt-4o", messages=ASK, tools=[WEATHER], stream=True)
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert content == "I will check."
    deltas = [d for c in chunks for d in c.choices[0].delta.tool_calls or []]
    assert [(d.index, d.type, d.function.name) for d in deltas] == [(0, "function", "get_weather")]
    assert json.loads(deltas[0].function.arguments) == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


@pytest.mark.anyio
async def test_the_sdk_stream_helper_assembles_parallel_calls(client, page):
    page.answer = says(CALL + "\n" + CALL.replace("Paris", "Oslo"))
    async with client.chat.completions.stream(model="gpt-4o", messages=ASK, tools=[WEATHER]) as stream:
        final = await stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert [json.loads(c.function.arguments)["city"] for c in calls] == ["Paris", "Oslo"]
    assert len({c.id for c in calls}) == 2


@pytest.mark.anyio
async def test_without_parallel_tool_calls_one_call_comes_back_and_the_model_is_told(client, page):
    page.answer = says(CALL + "\n" + CALL.replace("Paris", "Oslo"))
    completion = await client.chat.completions.create(
        model="gpt-4o", messages=ASK, tools=[WEATHER], parallel_tool_calls=False
    )
    assert len(completion.choices[0].message.tool_calls) == 1
    assert "at most one tool" in sent_text(page)


@pytest.mark.anyio
async def test_plain_text_streams_as_it_comes_and_reasoning_passes_through(client, page):
    page.answer = lambda _r: [ReasoningDelta("hmm"), TextDelta("It is "), TextDelta("sunny."), Finish("stop")]
    stream = await client.chat.completions.create(model="gpt-4o", messages=ASK, tools=[WEATHER], stream=True)
    chunks = [chunk async for chunk in stream]
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert pieces == ["It is", " sunny."]  # each piece as it comes, trailing space held back
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert any(getattr(c.choices[0].delta, "reasoning_content", None) == "hmm" for c in chunks)


@pytest.mark.anyio
async def test_a_call_to_an_unknown_tool_comes_back_as_text(client, page):
    answer = '<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>'
    page.answer = says(answer)
    completion = await client.chat.completions.create(model="gpt-4o", messages=ASK, tools=[WEATHER])
    assert (completion.choices[0].message.content, completion.choices[0].finish_reason) == (answer, "stop")
    assert completion.choices[0].message.tool_calls is None


@pytest.mark.anyio
async def test_arguments_the_schema_refuses_stream_back_as_text(client, page):
    answer = '<tool_call>{"name": "get_weather", "arguments": {"town": "Paris"}}</tool_call>'
    page.answer = says(answer)
    stream = await client.chat.completions.create(model="gpt-4o", messages=ASK, tools=[WEATHER], stream=True)
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == answer
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.anyio
async def test_tool_choice_none_tells_the_model_not_to_call_and_reads_no_calls(client, page):
    page.answer = says(CALL)
    completion = await client.chat.completions.create(model="gpt-4o", messages=ASK, tools=[WEATHER], tool_choice="none")
    assert completion.choices[0].message.content == CALL
    assert "get_weather" not in sent_text(page).replace(CALL, "")


@pytest.mark.anyio
async def test_a_named_tool_choice_is_demanded_and_a_reply_without_a_call_is_still_answered(client, page):
    page.answer = says("I would rather not.")
    completion = await client.chat.completions.create(
        model="gpt-4o",
        messages=ASK,
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert completion.choices[0].message.content == "I would rather not."
    assert "must call the tool 'get_weather'" in sent_text(page)


@pytest.mark.anyio
async def test_tool_choice_required_is_demanded(client, page):
    await client.chat.completions.create(model="gpt-4o", messages=ASK, tools=[WEATHER], tool_choice="required")
    assert "must call at least one tool" in sent_text(page)


@pytest.mark.anyio
async def test_a_tool_choice_naming_no_given_tool_is_400(client):
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model="gpt-4o", messages=ASK, tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "x"}}
        )
    assert caught.value.body["param"] == "tool_choice"


@pytest.mark.anyio
async def test_a_tool_with_an_invalid_schema_is_still_offered(client, page):
    odd = {"type": "function", "function": {"name": "odd", "parameters": {"type": "no-such-type"}}}
    await client.chat.completions.create(model="gpt-4o", messages=ASK, tools=[WEATHER, odd])
    assert '"name": "odd"' in sent_text(page)


@pytest.mark.anyio
async def test_a_tool_of_another_type_is_400(client):
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=ASK, tools=[{"type": "web_search"}])
    assert caught.value.body["param"].startswith("tools.0")


@pytest.mark.anyio
async def test_history_with_tool_calls_and_results_reaches_the_model_as_readable_text(client, page):
    page.answer = says("It is 22 C in Paris.")
    messages = [
        *ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_abc", "content": "22 C, sunny"},
    ]
    completion = await client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER])
    assert completion.choices[0].message.content == "It is 22 C in Paris."
    text = sent_text(page)
    assert '{"name": "get_weather", "arguments": {"city": "Paris"}}' in text
    assert '<tool_result name="get_weather" call_id="call_abc">\n22 C, sunny\n</tool_result>' in text


def convert(*messages: dict) -> list[tuple[str, str]]:
    converted = to_arena([ChatMessage(**m) for m in messages], max_attachment_bytes=5_000_000)
    return [(m.role, m.content) for m in converted]


def test_an_assistant_turn_with_text_and_calls_keeps_its_text_first():
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    [(role, content)] = convert({"role": "assistant", "content": "Checking.", "tool_calls": [call]})
    assert role == "assistant"
    assert content == 'Checking.\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'


def test_arguments_that_are_not_json_are_rendered_as_they_came():
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "city=Oslo"}}
    [(_, content)] = convert({"role": "assistant", "content": None, "tool_calls": [call]})
    assert '"arguments": "city=Oslo"' in content


def test_a_tool_result_without_a_matching_call_is_rendered_with_its_id_only():
    [(role, content)] = convert({"role": "tool", "tool_call_id": "call_x", "content": [{"type": "text", "text": "ok"}]})
    assert (role, content) == ("user", '<tool_result call_id="call_x">\nok\n</tool_result>')


def test_the_legacy_function_role_and_function_call_are_rendered_too():
    converted = convert(
        {"role": "assistant", "content": None, "function_call": {"name": "get_time", "arguments": "{}"}},
        {"role": "function", "name": "get_time", "content": "12:00"},
    )
    assert '{"name": "get_time", "arguments": {}}' in converted[0][1]
    assert converted[1] == ("user", '<tool_result name="get_time">\n12:00\n</tool_result>')


@pytest.mark.anyio
async def test_each_of_n_choices_reads_its_own_calls(client, page):
    page.answer = says(CALL)
    completion = await client.chat.completions.create(model="gpt-4o", messages=ASK, tools=[WEATHER], n=2)
    assert [c.finish_reason for c in completion.choices] == ["tool_calls", "tool_calls"]
    ids = [c.message.tool_calls[0].id for c in completion.choices]
    assert len(set(ids)) == 2


@pytest.mark.anyio
async def test_a_streamed_call_with_include_usage_ends_with_the_usage_chunk(client, page):
    page.answer = says(CALL)
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=ASK, tools=[WEATHER], stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert chunks[-2].choices[0].finish_reason == "tool_calls"


@pytest.mark.anyio
async def test_every_raw_chunk_of_a_tool_call_stream_validates_against_the_sdk_types(tmp_path, page):
    page.answer = says("Checking.\n", CALL)
    app = in_process_app(tmp_path, page, MODELS, protocol="create")
    body = {"model": "gpt-4o", "messages": ASK, "tools": [WEATHER], "stream": True}
    async with asgi_client(app) as http:
        async with http.stream("POST", "/v1/chat/completions", json=body) as response:
            data = [line[6:] async for line in response.aiter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks = [ChatCompletionChunk.model_validate(json.loads(d)) for d in data[:-1]]
    (delta,) = [d for c in chunks for d in c.choices[0].delta.tool_calls or []]
    assert (delta.index, delta.type, delta.function.name) == (0, "function", "get_weather")


@pytest.mark.anyio
async def test_a_raw_tool_call_completion_validates_against_the_sdk_type(tmp_path, page):
    page.answer = says(CALL)
    app = in_process_app(tmp_path, page, MODELS, protocol="create")
    body = {"model": "gpt-4o", "messages": ASK, "tools": [WEATHER]}
    async with asgi_client(app) as http:
        raw = (await http.post("/v1/chat/completions", json=body)).json()
    completion = ChatCompletion.model_validate(raw)
    assert raw["choices"][0]["message"]["content"] is None
    assert completion.choices[0].message.tool_calls[0].function.name == "get_weather"


@pytest.mark.anyio
async def test_null_tool_fields_mean_their_defaults(client, page):
    page.answer = says(CALL + CALL.replace("Paris", "Oslo"))
    completion = await client.chat.completions.create(
        model="gpt-4o", messages=ASK, tools=[WEATHER], extra_body={"tool_choice": None, "parallel_tool_calls": None}
    )
    assert len(completion.choices[0].message.tool_calls) == 2
