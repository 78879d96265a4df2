"""The stream grammar, one complete line at a time (the page script does the line splitting)."""

import json
import random

import pytest

from browser.errors import ArenaFailure, FailureKind
from browser.stream import Finish, ImageResult, ReasoningDelta, StreamParser, TextDelta


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
    assert feed_all(['a8:{"x":1}', "f:{}", "", "   ", 'ae:{"finishReason":"stop"}']) == []


def test_malformed_usage_does_not_break_the_finish():
    (event,) = feed_all(['ad:{"finishReason":"length","usage":{"promptTokens":"many"}}'])
    assert event.reason == "length"


@pytest.mark.parametrize("seed", range(20))
def test_random_text_round_trips_through_the_line_grammar(seed):
    rng = random.Random(seed)
    alphabet = "abc \n\t\"\\/你好🙂é\u2028"
    pieces = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(rng.randint(1, 20))]
    lines = [f"a0:{json.dumps(p, ensure_ascii=rng.random() < 0.5)}" for p in pieces]
    events = feed_all(lines + ['ad:{"finishReason":"stop"}'])
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "".join(pieces)
