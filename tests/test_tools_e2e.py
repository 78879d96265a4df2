"""Agent loops end to end: the real bridge process and Chromium, the fake arena scripted to answer with
tool calls, the official `openai` client on chat completions (history as LangChain sends it) and on
the Responses API."""

from __future__ import annotations

import json
from typing import Any

from tests.fake_arena import Reply

MODEL = "gpt-4o-2024-08-06"
WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
CHAT_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather in a city.", "parameters": WEATHER_PARAMETERS},
}
RESPONSES_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city.",
    "parameters": WEATHER_PARAMETERS,
}


def arena_text(arena: Any) -> str:
    """All the text the bridge sent the arena in its last request (retry chain or create message)."""
    body = arena.requests[-1].body_json
    if "messages" in body:
        return "\n".join(m["content"] for m in body["messages"])
    return body["userMessage"]["content"]


def test_a_chat_completions_agent_loop_with_langchain_shaped_history(client, arena):
    question = {"role": "user", "content": "What is the weather in Paris?"}
    arena.enqueue(
        Reply.text(
            'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
            pieces=[
                "Let me check.\n<tool_",
                'call>\n{"name": "get_weather", ',
                '"arguments": {"city": "Paris"}}\n</tool_call>',
            ],
        )
    )
    with client.chat.completions.stream(model=MODEL, messages=[question], tools=[CHAT_TOOL]) as stream:
        first = stream.get_final_completion()
    assert "get_weather" in arena_text(arena)
    (call,) = first.choices[0].message.tool_calls
    assert first.choices[0].finish_reason == "tool_calls"
    assert first.choices[0].message.content == "Let me check."

    arena.enqueue(Reply.text("It is 22 C and sunny in Paris."))
    history = [
        question,
        {  # LangChain's ChatOpenAI: content "" beside the tool calls, arguments as a JSON string
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "type": "function",
                    "id": call.id,
                    "function": {"name": "get_weather", "arguments": call.function.arguments},
                }
            ],
        },
        {"role": "tool", "content": '{"temperature": 22, "sky": "sunny"}', "tool_call_id": call.id},
    ]
    final = client.chat.completions.create(model=MODEL, messages=history, tools=[CHAT_TOOL])
    assert final.choices[0].message.content == "It is 22 C and sunny in Paris."
    assert final.choices[0].finish_reason == "stop"
    sent = arena_text(arena)
    assert f'<tool_result name="get_weather" call_id="{call.id}">' in sent
    assert '{"temperature": 22, "sky": "sunny"}' in sent


def test_a_responses_agent_loop_with_a_fenced_json_call(client, arena):
    fenced = '```json\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n```'
    arena.enqueue(Reply.text(fenced))
    with client.responses.stream(model=MODEL, input="Weather in Oslo?", tools=[RESPONSES_TOOL]) as stream:
        first = stream.get_final_response()
    (call,) = first.output
    assert (call.type, call.name, json.loads(call.arguments)) == ("function_call", "get_weather", {"city": "Oslo"})

    arena.enqueue(Reply.text("Oslo: 3 C, snowing."))
    final = client.responses.create(
        model=MODEL,
        tools=[RESPONSES_TOOL],
        input=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "3 C, snowing"},
        ],
    )
    assert (final.status, final.output_text) == ("completed", "Oslo: 3 C, snowing.")
    assert "3 C, snowing" in arena_text(arena) and call.call_id in arena_text(arena)


def test_malformed_tool_output_comes_back_as_text_on_both_surfaces(client, arena):
    broken = '<tool_call>\n{"name": "get_weather", "arguments": {"city": \n</tool_call>'
    arena.enqueue(Reply.text(broken))
    chat = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Weather?"}], tools=[CHAT_TOOL]
    )
    assert (chat.choices[0].message.content, chat.choices[0].finish_reason) == (broken, "stop")
    arena.enqueue(Reply.text(broken))
    response = client.responses.create(model=MODEL, input="Weather?", tools=[RESPONSES_TOOL])
    assert response.output_text == broken
