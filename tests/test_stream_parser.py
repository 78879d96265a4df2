"""The stream grammar, one complete line at a time (the page script does the line splitting)."""

import json
import random

import pytest

from browser.errors import ArenaFailure, FailureKind
from browser.stream import Citation, Citations, Finish, ImageResult, ReasoningDelta, StreamParser, TextDelta
from tests.fake_arena import Reply


def feed_all(lines):
    parser = StreamParser()
    events = []
    for line in lines:
        events.extend(parser.feed(line))
    return events


def test_text_lines_become_text_deltas_with_escapes_decoded():
    events = feed_all(['a0:"Hello"', 'a0:" wor\\nld \\u4f60\\u597d"'])
    assert events == [TextDelta("Hello"), TextDelta(" wor\nld 你好")]


def test_reasoning_lines_become_reasoning_deltas():
    assert feed_all(['ag:"Let me think"']) == [ReasoningDelta("Let me think")]


def test_image_results_are_reported_and_heartbeats_skipped():
    events = feed_all(['a2:[{"type":"heartbeat"}]', 'a2:[{"type":"image","image":"https://x/y.png"}]'])
    assert events == [ImageResult("https://x/y.png")]


def test_finish_carries_reason_and_usage():
    (event,) = feed_all(['ad:{"finishReason":"stop","usage":{"promptTokens":10,"completionTokens":20}}'])
    assert event == Finish("stop", {"prompt_tokens": 10, "completion_tokens": 20})


def test_content_filter_finish_maps_to_openai_reason():
    assert feed_all(['ad:{"finishReason":"content-filter"}']) == [Finish("content_filter", None)]


def test_in_stream_error_raises_upstream_failure_with_the_arena_text():
    with pytest.raises(ArenaFailure) as caught:
        feed_all(['a0:"partial"', 'a3:"Resource exhausted. Please try again later."'])
    assert caught.value.kind is FailureKind.UPSTREAM
    assert "Resource exhausted" in str(caught.value)


def test_data_wrapped_lines_are_unwrapped():
    assert feed_all(['data: a0:"hi"', "data: ", 'data: ad:{"finishReason":"stop"}']) == [
        TextDelta("hi"),
        Finish("stop", None),
    ]


def test_parser_follows_side_b_when_it_speaks_first_and_ignores_side_a():
    events = feed_all(['b0:"from b"', 'a0:"from a"', 'bd:{"finishReason":"stop"}'])
    assert events == [TextDelta("from b"), Finish("stop", None)]


def test_json_error_body_line_raises_classified_failure():
    with pytest.raises(ArenaFailure) as caught:
        feed_all(['{"error":"something broke"}'])
    assert "something broke" in str(caught.value)


def test_cloudflare_page_inside_the_stream_raises_challenge():
    with pytest.raises(ArenaFailure) as caught:
        feed_all(["<html><head><title>Just a moment...</title></head>"])
    assert caught.value.kind is FailureKind.CHALLENGE


def test_unknown_record_types_and_noise_are_ignored():
    assert feed_all(['a8:{"x":1}', "f:{}", "", "   ", 'ae:{"finishReason":"stop"}', 'ax:{"x":1}']) == []


def test_malformed_usage_does_not_break_the_finish():
    (event,) = feed_all(['ad:{"finishReason":"length","usage":{"promptTokens":"many"}}'])
    assert event.reason == "length"


@pytest.mark.parametrize("seed", range(20))
def test_random_text_round_trips_through_the_line_grammar(seed):
    rng = random.Random(seed)
    alphabet = 'abc \n\t"\\/你好🙂é\u2028'
    pieces = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(rng.randint(1, 20))]
    lines = [f"a0:{json.dumps(p, ensure_ascii=rng.random() < 0.5)}" for p in pieces]
    events = feed_all(lines + ['ad:{"finishReason":"stop"}'])
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "".join(pieces)


def test_a_step_end_neither_ends_nor_fails_the_answer():
    events = feed_all(
        [
            'af:{"messageId":"m"}',
            'a0:"one"',
            'ae:{"finishReason":"stop","isContinued":false}',
            'a0:" two"',
            'ad:{"finishReason":"stop"}',
        ]
    )
    assert events == [TextDelta("one"), TextDelta(" two"), Finish("stop", None)]


def test_unknown_codes_are_skipped_and_counted_while_known_ones_are_not():
    parser = StreamParser()
    for line in ['az:{"new":1}', 'az:{"new":2}', "ay:[1]", "a9:{}", "aa:{}", "ab:{}", "a8:[]", "ah:{}", "ak:{}"]:
        assert parser.feed(line) == []
    assert dict(parser.unknown) == {"z": 2, "y": 1}


@pytest.mark.parametrize("line", ['a0:"hasArenaError"', 'ad:{"finishReason":"error"}'])
def test_a_failure_inside_a_200_is_an_upstream_failure_not_text(line):
    with pytest.raises(ArenaFailure) as caught:
        feed_all(['a0:"partial"', line])
    assert caught.value.kind is FailureKind.UPSTREAM


def test_search_citations_from_split_tool_call_deltas_come_just_before_the_finish():
    reply = Reply.search(
        "Paris.", [("Paris - Wikipedia", "https://en.wikipedia.org/wiki/Paris"), ("Visit", "https://visit.paris")]
    )
    events = feed_all(reply.body.decode().splitlines())
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Paris."
    assert events[-2:] == [
        Citations(
            (
                Citation("Paris - Wikipedia", "https://en.wikipedia.org/wiki/Paris"),
                Citation("Visit", "https://visit.paris"),
            )
        ),
        Finish("stop", {"prompt_tokens": 10, "completion_tokens": 1}),
    ]
