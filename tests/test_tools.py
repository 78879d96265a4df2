"""bridge.tools: instructions for the model, and reading its answer back into tool calls."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.tools import (
    AUTO,
    NONE,
    REQUIRED,
    InvalidTool,
    Tool,
    ToolCall,
    ToolChoice,
    check_tools,
    parse_tool_calls,
    render_tool_call,
    render_tool_result,
    streamable_prefix,
    tool_instructions,
)

WEATHER = Tool(
    "get_weather",
    "The current weather in a city.",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"],
        "additionalProperties": False,
    },
)
TIME = Tool("get_time", "The time now.")
TOOLS = [WEATHER, TIME]
PARIS = {"name": "get_weather", "arguments": {"city": "Paris"}}


def tagged(payload: object) -> str:
    return f"<tool_call>\n{json.dumps(payload)}\n</tool_call>"


def test_the_instructed_format_is_parsed_into_a_call_with_an_openai_style_id():
    content, calls = parse_tool_calls(tagged(PARIS), TOOLS)
    assert content == ""
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"city": "Paris"})]
    assert calls[0].id.startswith("call_") and len(calls[0].id) == 29


def test_text_before_the_call_stays_content_and_text_after_it_is_dropped():
    text = "Let me look that up.\n\n" + tagged(PARIS) + "\n<tool_result>sunny</tool_result> It is sunny."
    content, calls = parse_tool_calls(text, TOOLS)
    assert content == "Let me look that up."
    assert [c.name for c in calls] == ["get_weather"]


def test_several_tagged_blocks_are_several_calls_in_order():
    text = tagged(PARIS) + "\n" + tagged({"name": "get_time", "arguments": {}})
    _, calls = parse_tool_calls(text, TOOLS)
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert len({c.id for c in calls}) == 2


def test_without_parallel_calls_only_the_first_call_is_kept():
    text = tagged(PARIS) + "\n" + tagged({"name": "get_time", "arguments": {}})
    _, calls = parse_tool_calls(text, TOOLS, parallel=False)
    assert [c.name for c in calls] == ["get_weather"]


def test_a_tagged_block_without_its_closing_tag_at_the_end_is_a_call():
    _, calls = parse_tool_calls("<tool_call>" + json.dumps(PARIS), TOOLS)
    assert [c.arguments for c in calls] == [{"city": "Paris"}]


def test_a_tagged_block_holding_a_fenced_json_block_is_a_call():
    _, calls = parse_tool_calls("<tool_call>\n```json\n" + json.dumps(PARIS) + "\n```\n</tool_call>", TOOLS)
    assert [c.name for c in calls] == ["get_weather"]


def test_a_fenced_json_block_with_name_and_arguments_is_a_call():
    content, calls = parse_tool_calls("I will check.\n```json\n" + json.dumps(PARIS) + "\n```", TOOLS)
    assert content == "I will check."
    assert [c.arguments for c in calls] == [{"city": "Paris"}]


def test_a_fenced_list_of_calls_is_several_calls():
    payload = [PARIS, {"name": "get_weather", "arguments": {"city": "Oslo", "unit": "c"}}]
    _, calls = parse_tool_calls("```json\n" + json.dumps(payload) + "\n```", TOOLS)
    assert [c.arguments["city"] for c in calls] == ["Paris", "Oslo"]


def test_a_fence_without_a_language_tag_is_read_too():
    _, calls = parse_tool_calls("```\n" + json.dumps(PARIS) + "\n```", TOOLS)
    assert len(calls) == 1


def test_a_fenced_json_example_that_is_no_call_stays_content():
    text = 'Here is the shape:\n```json\n{"city": "Paris"}\n```'
    assert parse_tool_calls(text, TOOLS) == (text, [])


def test_an_answer_that_is_only_call_json_is_a_call():
    _, calls = parse_tool_calls("  " + json.dumps(PARIS) + "\n", TOOLS)
    assert [c.name for c in calls] == ["get_weather"]


def test_parameters_and_string_arguments_and_openai_wrappers_are_accepted():
    forms = [
        {"name": "get_weather", "parameters": {"city": "Paris"}},
        {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})},
        {"type": "function", "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}},
        {"tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
    ]
    for form in forms:
        _, calls = parse_tool_calls(tagged(form), TOOLS)
        assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"city": "Paris"})], form


def test_missing_arguments_are_an_empty_object_for_a_tool_without_required_ones():
    _, calls = parse_tool_calls(tagged({"name": "get_time", "arguments": None}), TOOLS)
    assert calls[0].arguments == {}


def test_malformed_json_in_a_tagged_block_leaves_the_whole_text_as_content():
    text = 'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"\n</tool_call>'
    assert parse_tool_calls(text, TOOLS) == (text, [])


def test_an_unknown_tool_leaves_the_whole_text_as_content():
    text = tagged({"name": "delete_everything", "arguments": {}})
    assert parse_tool_calls(text, TOOLS) == (text, [])


def test_arguments_the_schema_refuses_leave_the_whole_text_as_content():
    for arguments in ({}, {"city": 3}, {"city": "Paris", "unit": "kelvin"}, {"city": "Paris", "extra": 1}):
        text = tagged({"name": "get_weather", "arguments": arguments})
        assert parse_tool_calls(text, TOOLS) == (text, []), arguments


def test_one_bad_call_among_good_ones_means_no_calls_at_all():
    text = tagged(PARIS) + tagged({"name": "get_weather", "arguments": {"town": "Oslo"}})
    assert parse_tool_calls(text, TOOLS) == (text, [])


def test_arguments_that_are_no_object_leave_the_text_as_content():
    text = tagged({"name": "get_weather", "arguments": ["Paris"]})
    assert parse_tool_calls(text, TOOLS) == (text, [])


def test_plain_text_has_no_calls():
    assert parse_tool_calls("It is sunny in Paris.", TOOLS) == ("It is sunny in Paris.", [])


def test_choice_none_parses_no_calls():
    assert parse_tool_calls(tagged(PARIS), TOOLS, choice=NONE) == (tagged(PARIS), [])


def test_a_named_choice_accepts_only_the_named_tool():
    assert parse_tool_calls(tagged(PARIS), TOOLS, choice=ToolChoice.named("get_time"))[1] == []
    assert len(parse_tool_calls(tagged(PARIS), TOOLS, choice=ToolChoice.named("get_weather"))[1]) == 1


def test_the_id_prefix_is_the_callers():
    _, calls = parse_tool_calls(tagged(PARIS), TOOLS, id_prefix="toolu_")
    assert calls[0].id.startswith("toolu_")


def test_instructions_list_each_tool_with_its_schema_and_the_format():
    text = tool_instructions(TOOLS, AUTO, parallel=True)
    assert json.dumps(WEATHER.parameters) in text
    assert "The current weather in a city." in text
    assert "<tool_call>" in text and "one <tool_call> block per call" in text


def test_instructions_say_what_each_choice_demands():
    assert "must call at least one tool" in tool_instructions(TOOLS, REQUIRED)
    assert "must call the tool 'get_time'" in tool_instructions(TOOLS, ToolChoice.named("get_time"))
    assert "at most one tool" in tool_instructions(TOOLS, AUTO, parallel=False)
    assert "get_weather" not in tool_instructions(TOOLS, NONE)
    assert tool_instructions([], AUTO) == ""


def test_the_instructions_own_example_is_not_taken_for_a_call():
    text = tool_instructions(TOOLS, AUTO)
    assert parse_tool_calls(text, TOOLS)[1] == []


def test_a_rendered_call_parses_back_to_the_same_call():
    call = ToolCall("call_1", "get_weather", {"city": "Paris"})
    _, calls = parse_tool_calls(render_tool_call(call), TOOLS)
    assert (calls[0].name, calls[0].arguments) == (call.name, call.arguments)


def test_a_rendered_result_names_the_tool_and_the_call():
    text = render_tool_result("call_1", "22 C, sunny", name="get_weather")
    assert text == '<tool_result name="get_weather" call_id="call_1">\n22 C, sunny\n</tool_result>'
    assert 'is_error="true"' in render_tool_result("call_1", "boom", is_error=True)


def test_check_tools_refuses_bad_names_repeated_names_and_choices_naming_no_tool():
    with pytest.raises(InvalidTool) as bad_name:
        check_tools([TIME, Tool("has space")])
    assert bad_name.value.index == 1
    with pytest.raises(InvalidTool):
        check_tools([TIME, TIME])
    with pytest.raises(InvalidTool):
        check_tools([Tool("has space")])
    with pytest.raises(InvalidTool):
        check_tools(TOOLS, ToolChoice.named("missing"))
    with pytest.raises(InvalidTool):
        check_tools([], REQUIRED)
    check_tools(TOOLS, ToolChoice.named("get_time"))


def test_streamable_prefix_stops_before_anything_that_could_start_a_call():
    assert streamable_prefix("Let me check. ") == len("Let me check.")
    assert streamable_prefix("Let me check.\n<tool") == len("Let me check.")
    assert streamable_prefix("Let me check.\n<tool_call>{") == len("Let me check.")
    assert streamable_prefix("Code:\n``") == len("Code:")
    assert streamable_prefix('  {"name"') == 0
    assert streamable_prefix("a < b and c") == len("a < b and c")


@pytest.mark.parametrize(
    "text",
    [
        "Sure thing, 1 < 2.\n\nI will call it.\n" + tagged(PARIS) + "\nDone.",
        "On it.\n```xml\n" + tagged(PARIS) + "\n```",
        "Code first:\n```py\nx = [1]\n```\nNow: ```json\n" + json.dumps(PARIS) + "\n```",
        'Llama style <function=get_weather>{"city": "Paris"}</function>',
        "Mistral style [TOOL_CALLS] [" + json.dumps(PARIS) + "]",
    ],
)
def test_what_is_streamed_is_always_a_prefix_of_the_final_content(text):
    final, calls = parse_tool_calls(text, TOOLS)
    assert calls
    for end in range(len(text) + 1):
        assert final.startswith(text[: streamable_prefix(text[:end])])


def test_json5_as_models_write_it_by_hand_is_accepted():
    text = "<tool_call>{'name': 'get_weather', 'arguments': {'city': 'Paris',},}</tool_call>"
    _, calls = parse_tool_calls(text, TOOLS)
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"city": "Paris"})]


def test_llamas_function_tag_is_a_call():
    content, calls = parse_tool_calls('Checking.\n<function=get_weather>{"city": "Paris"}</function>', TOOLS)
    assert content == "Checking."
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"city": "Paris"})]


def test_mistrals_tool_calls_marker_is_a_call_list():
    text = (
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {}}]'
    )
    _, calls = parse_tool_calls(text, TOOLS)
    assert [c.name for c in calls] == ["get_weather", "get_time"]


def test_a_llama_call_with_bad_json_stays_text():
    text = "<function=get_weather>{city: Paris</function>"
    assert parse_tool_calls(text, TOOLS) == (text, [])


def test_a_call_inside_a_fence_leaves_no_dangling_fence_in_the_content():
    content, calls = parse_tool_calls("On it.\n```xml\n" + tagged(PARIS) + "\n```", TOOLS)
    assert (content, len(calls)) == ("On it.", 1)


PIECES = ["Hi ", " ", "\n", "<", "tool_call>", "</tool_call>", "```", "json\n", "py\n", "{", "[", json.dumps(PARIS)]
PIECES += ["[TOOL_CALLS]", "<function=get_weather>", '{"city": "Oslo"}', "</function>", "text"]


@given(st.lists(st.sampled_from(PIECES), max_size=8))
@settings(max_examples=150, deadline=None)
def test_any_streamed_prefix_is_a_prefix_of_what_the_whole_answer_becomes(pieces):
    text = "".join(pieces)
    content, calls = parse_tool_calls(text, TOOLS)
    final = content if calls else text
    sent = 0
    for end in range(len(text) + 1):
        safe = streamable_prefix(text[:end])
        assert final.startswith(text[:safe])
        assert streamable_prefix(text[:end], start=sent) == safe  # the hint changes nothing
        sent = max(sent, safe)


def test_raw_newlines_inside_a_json_string_are_accepted():
    patch = Tool("apply_patch", "", {"type": "object", "properties": {"input": {"type": "string"}}})
    text = (
        '<tool_call>{"name": "apply_patch", "arguments": {"input": "*** Begin Patch\n+hi\n*** End Patch"}}</tool_call>'
    )
    _, calls = parse_tool_calls(text, [patch])
    assert calls[0].arguments == {"input": "*** Begin Patch\n+hi\n*** End Patch"}


def test_a_tool_with_an_invalid_schema_stays_usable_with_any_object_arguments():
    odd = Tool("odd", "", {"type": "object", "properties": {"x": {"type": "nonsense"}}})
    check_tools([odd])
    _, calls = parse_tool_calls(tagged({"name": "odd", "arguments": {"x": 1}}), [odd])
    assert calls[0].arguments == {"x": 1}


def test_a_schema_with_a_ref_nothing_resolves_lets_the_arguments_through():
    remote = Tool("remote", "", {"$ref": "https://example.invalid/schema.json"})
    _, calls = parse_tool_calls(tagged({"name": "remote", "arguments": {"a": 1}}), [remote])
    assert calls[0].arguments == {"a": 1}
