"""The stop-sequence matcher on its own (bridge/stops.py)."""

from __future__ import annotations

from bridge.stops import StopMatcher


def run(stops, pieces):
    matcher = StopMatcher(stops)
    out = [matcher.feed(p) for p in pieces]
    return "".join(out) + matcher.flush(), matcher.stopped, out


def test_text_passes_through_unchanged_without_stop_strings():
    assert run([], ["a", "b"]) == ("ab", False, ["a", "b"])


def test_the_answer_ends_before_a_stop_string_inside_one_piece():
    assert run(["STOP"], ["one STOP two"])[:2] == ("one ", True)


def test_a_stop_string_split_over_three_pieces_is_found():
    assert run(["\nUser:"], ["Hi there\nU", "se", "r: more"])[:2] == ("Hi there", True)


def test_only_the_possible_stop_prefix_is_held_back():
    _, _, out = run(["STOP"], ["abcST", "x"])
    assert out == ["abc", "STx"]


def test_a_held_back_tail_is_released_when_the_answer_ends():
    assert run(["STOP"], ["end ST"]) == ("end ST", False, ["end "])


def test_the_earliest_of_several_stop_strings_wins():
    assert run(["b", "zz", "a"], ["xx", "zzab"])[:2] == ("xx", True)


def test_nothing_is_emitted_after_the_stop():
    matcher = StopMatcher(["!"])
    assert matcher.feed("hey! you") == "hey"
    assert (matcher.feed("more"), matcher.flush()) == ("", "")


def test_empty_stop_strings_are_ignored():
    assert run([""], ["abc"]) == ("abc", False, ["abc"])


def test_a_stop_string_at_the_very_start_gives_an_empty_answer():
    assert run(["Hi"], ["H", "i there"])[:2] == ("", True)
