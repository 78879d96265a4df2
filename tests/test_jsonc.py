"""Tests for bridge.jsonc: lossless JSONC edits and atomic file writes."""

from __future__ import annotations

import json
import os
import stat

import json5
import pytest

from bridge import jsonc
from bridge.jsonc import append_to_list, atomic_write_text, set_values, update_file

CONFIG = """\
// LMArena Bridge configuration
{
  /* server */
  "version": "1.2.3", // do not edit
  "port": 5102,
  "enable_auto_update": true,
  "session_id": null,
  "url": "http://example.com//not-a-comment", // a real comment
  "quote": "say \\"hi\\" /* not a comment */",
  "models": {
    "a": [1, 2], // inside
    "port": 1
  },
  /* multi
     line { "port": 0 } */
  "last": 0 // after last
}
"""


def only_span_changed(old: str, old_value: str, new: str, new_value: str) -> None:
    """Assert `new` is `old` with the single occurrence of `old_value` replaced by `new_value`."""
    assert old.count(old_value) == 1
    i = old.index(old_value)
    prefix, suffix = old[:i], old[i + len(old_value) :]
    assert new.startswith(prefix)
    assert new.endswith(suffix)
    assert new[len(prefix) : len(new) - len(suffix)] == new_value


def parsed(text: str) -> dict:
    return json5.loads(text.lstrip("\ufeff"))


def expected(text: str, values: dict) -> dict:
    return {**parsed(text), **values}


def test_replacing_a_string_value_changes_only_its_bytes():
    new = set_values(CONFIG, {"version": "2.0"})
    only_span_changed(CONFIG, '"1.2.3"', new, '"2.0"')


def test_replacing_a_number_value_changes_only_its_bytes():
    new = set_values(CONFIG, {"port": 8080})
    only_span_changed(CONFIG, "5102", new, "8080")


def test_replacing_a_bool_value_changes_only_its_bytes():
    new = set_values(CONFIG, {"enable_auto_update": False})
    only_span_changed(CONFIG, "true", new, "false")


def test_replacing_null_with_a_string_changes_only_its_bytes():
    new = set_values(CONFIG, {"session_id": "abc-123"})
    only_span_changed(CONFIG, "null", new, '"abc-123"')


def test_replacing_a_value_with_null_changes_only_its_bytes():
    new = set_values(CONFIG, {"port": None})
    only_span_changed(CONFIG, "5102", new, "null")


def test_replacing_a_multiline_nested_value_writes_it_indented_to_match():
    old_value = CONFIG[CONFIG.index('{\n    "a"') : CONFIG.index("},\n  /* multi") + 1]
    new = set_values(CONFIG, {"models": {"x": {"id": "m1"}, "y": [1]}})
    new_value = '{\n    "x": {\n      "id": "m1"\n    },\n    "y": [\n      1\n    ]\n  }'
    only_span_changed(CONFIG, old_value, new, new_value)
    assert parsed(new) == expected(CONFIG, {"models": {"x": {"id": "m1"}, "y": [1]}})


def test_replacing_a_single_line_nested_value_keeps_it_on_one_line():
    text = '{\n  "m": {"a": 1},\n  "n": 2\n}\n'
    new = set_values(text, {"m": {"b": [1, 2]}})
    assert new == '{\n  "m": {"b": [1, 2]},\n  "n": 2\n}\n'


def test_replacing_a_value_keeps_the_comment_on_its_line():
    new = set_values(CONFIG, {"version": "9"})
    assert '  "version": "9", // do not edit\n' in new


def test_replacing_the_last_value_keeps_the_comment_after_it():
    new = set_values(CONFIG, {"last": 42})
    assert '  "last": 42 // after last\n}\n' in new


def test_comments_before_the_object_and_before_members_are_kept():
    new = set_values(CONFIG, {"port": 1, "version": "x"})
    assert new.startswith("// LMArena Bridge configuration\n{\n  /* server */\n")


def test_a_double_slash_inside_a_string_is_not_a_comment():
    new = set_values(CONFIG, {"url": "https://x//y"})
    only_span_changed(CONFIG, '"http://example.com//not-a-comment"', new, '"https://x//y"')


def test_an_escaped_quote_and_comment_markers_inside_a_string_are_part_of_the_string():
    new = set_values(CONFIG, {"quote": "q"})
    only_span_changed(CONFIG, '"say \\"hi\\" /* not a comment */"', new, '"q"')


def test_a_key_inside_a_block_comment_is_ignored():
    new = set_values(CONFIG, {"port": 7})
    assert 'line { "port": 0 } */' in new
    assert parsed(new)["port"] == 7


def test_a_key_of_the_same_name_in_a_nested_object_is_not_touched():
    new = set_values(CONFIG, {"port": 7})
    assert '    "port": 1\n' in new
    assert parsed(new)["models"]["port"] == 1


def test_a_key_written_with_escapes_is_matched_by_its_decoded_name():
    new = set_values('{"\\u0061": 1}', {"a": 2})
    assert new == '{"\\u0061": 2}'


def test_setting_several_keys_keeps_the_rest_of_the_file_and_parses_to_the_new_data():
    values = {"port": 1, "version": "v", "last": [1], "session_id": {"k": "v"}}
    new = set_values(CONFIG, values)
    assert parsed(new) == expected(CONFIG, values)
    for line in CONFIG.splitlines():
        if line.strip().startswith(("//", "/*", "line {", "}")):
            assert line in new.splitlines()


def test_setting_no_values_returns_the_text_unchanged():
    assert set_values(CONFIG, {}) == CONFIG


def test_a_missing_key_is_appended_after_comments_following_the_last_member():
    text = '{\n  "a": 1, // one\n  "b": 2 // two\n  // "c": 3\n}\n'
    new = set_values(text, {"d": "x"})
    assert new == '{\n  "a": 1, // one\n  "b": 2, // two\n  // "c": 3\n  "d": "x"\n}\n'


def test_a_missing_key_is_appended_with_a_trailing_comma_when_the_file_uses_them():
    text = '{\n  "a": 1,\n  "b": 2,\n}\n'
    new = set_values(text, {"c": 3, "d": 4})
    assert new == '{\n  "a": 1,\n  "b": 2,\n  "c": 3,\n  "d": 4,\n}\n'


def test_a_missing_key_uses_the_indentation_of_the_existing_members():
    text = '{\n\t"a": 1\n}\n'
    new = set_values(text, {"b": {"c": [1]}})
    assert new == '{\n\t"a": 1,\n\t"b": {\n\t\t"c": [\n\t\t\t1\n\t\t]\n\t}\n}\n'


def test_a_missing_key_is_appended_at_column_zero_when_the_members_are_there():
    assert set_values('{\n"a": 1\n}\n', {"b": 2}) == '{\n"a": 1,\n"b": 2\n}\n'


def test_a_missing_key_is_appended_to_an_empty_object():
    assert set_values("{}", {"a": 1}) == '{\n  "a": 1\n}'


def test_a_missing_key_is_appended_to_an_empty_object_that_holds_only_a_comment():
    text = "{\n  // nothing yet\n}\n"
    assert set_values(text, {"a": 1}) == '{\n  // nothing yet\n  "a": 1\n}\n'


def test_a_missing_key_is_appended_inline_to_a_single_line_object():
    assert set_values('{"a": 1}', {"b": [1, 2]}) == '{"a": 1, "b": [1, 2]}'
    assert set_values('{"a": 1,}', {"b": 2}) == '{"a": 1, "b": 2,}'


def test_a_missing_key_is_appended_when_the_closing_brace_follows_the_last_value():
    new = set_values('{\n  "a": 1}', {"b": 2})
    assert new == '{\n  "a": 1,\n  "b": 2}'


def test_unicode_values_are_written_unescaped_and_round_trip():
    values = {"name": "Grüße 🤖 中文", "new": {"emoji": "✓"}}
    new = set_values(CONFIG, values)
    assert "Grüße 🤖 中文" in new and '"emoji": "✓"' in new
    assert parsed(new) == expected(CONFIG, values)


def test_crlf_line_endings_are_kept_for_replaced_and_appended_members():
    text = '{\r\n  "a": {\r\n    "x": 1\r\n  } // c\r\n}\r\n'
    new = set_values(text, {"a": {"y": 2}, "b": [3]})
    assert new == '{\r\n  "a": {\r\n    "y": 2\r\n  }, // c\r\n  "b": [\r\n    3\r\n  ]\r\n}\r\n'
    assert "\n" not in new.replace("\r\n", "")


@pytest.mark.parametrize("text", ["[]", '"x"', "1", "null", "", "  // only a comment\n"])
def test_a_document_whose_top_level_is_not_an_object_raises_value_error(text):
    with pytest.raises(ValueError, match="top level must be an object"):
        set_values(text, {"a": 1})


@pytest.mark.parametrize(
    "text",
    ['{"a" 1}', '{"a": 1} x', '{"a": [1 2]}', '{"a": "x}', '{"a": 1 /* x }', '{"a": 1,,}', '{"a": 1', "{a: }"],
)
def test_malformed_jsonc_raises_value_error_with_a_position(text):
    with pytest.raises(ValueError, match=r"line \d+, column \d+"):
        set_values(text, {"a": 1})


def test_a_value_that_is_not_finite_json_raises_value_error():
    with pytest.raises(ValueError):
        set_values("{}", {"a": float("nan")})


def test_atomic_write_text_replaces_the_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "config.jsonc"
    path.write_text("old")
    atomic_write_text(path, "new\r\nline ✓")
    assert path.read_bytes() == "new\r\nline ✓".encode()
    assert os.listdir(tmp_path) == ["config.jsonc"]


def test_atomic_write_text_leaves_the_old_file_intact_and_no_temp_file_when_replace_fails(tmp_path, monkeypatch):
    path = tmp_path / "config.jsonc"
    path.write_text("old contents")

    def broken_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(jsonc.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write_text(path, "new contents")
    assert path.read_text() == "old contents"
    assert os.listdir(tmp_path) == ["config.jsonc"]


def test_update_file_leaves_the_file_intact_when_a_value_cannot_be_encoded(tmp_path):
    path = tmp_path / "model_endpoint_map.json"
    path.write_text('{"a": 1}\n')
    with pytest.raises(TypeError):
        update_file(path, {"a": object()})
    assert path.read_text() == '{"a": 1}\n'
    assert os.listdir(tmp_path) == ["model_endpoint_map.json"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_atomic_write_text_keeps_the_permission_bits(tmp_path, mode):
    path = tmp_path / "config.jsonc"
    path.write_text("{}")
    path.chmod(mode)
    atomic_write_text(path, '{"a": 1}')
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_atomic_write_text_writes_through_a_symlink_to_its_target(tmp_path):
    target = tmp_path / "real.jsonc"
    target.write_text("old")
    link = tmp_path / "config.jsonc"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_update_file_edits_in_place_and_keeps_comments(tmp_path):
    path = tmp_path / "config.jsonc"
    path.write_text(CONFIG)
    update_file(path, {"port": 9000, "new_key": "v"})
    text = path.read_text()
    assert parsed(text) == expected(CONFIG, {"port": 9000, "new_key": "v"})
    assert "// LMArena Bridge configuration" in text and '"last": 0, // after last' in text


def test_update_file_keeps_a_byte_order_mark_and_crlf(tmp_path):
    path = tmp_path / "config.jsonc"
    path.write_bytes('\ufeff{\r\n  "a": 1 // c\r\n}\r\n'.encode())
    update_file(path, {"a": 2})
    assert path.read_bytes() == '\ufeff{\r\n  "a": 2 // c\r\n}\r\n'.encode()


def test_update_file_creates_a_missing_file(tmp_path):
    path = tmp_path / "model_endpoint_map.json"
    update_file(path, {"key": {"session_id": "s"}})
    assert path.read_text() == '{\n  "key": {\n    "session_id": "s"\n  }\n}\n'


def test_update_file_does_not_rewrite_a_file_that_would_not_change(tmp_path):
    path = tmp_path / "config.jsonc"
    path.write_text('{"a": 1}\n')
    inode = path.stat().st_ino
    update_file(path, {"a": 1})
    assert path.stat().st_ino == inode
    update_file(path, {"a": 2})
    assert path.stat().st_ino != inode


def test_update_file_raises_value_error_for_a_file_that_is_not_a_jsonc_object(tmp_path):
    path = tmp_path / "config.jsonc"
    path.write_text("[1, 2]\n")
    with pytest.raises(ValueError):
        update_file(path, {"a": 1})
    assert path.read_text() == "[1, 2]\n"


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is optional
    st = None

if st is not None:
    _text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
    _floats = st.floats(allow_nan=False, allow_infinity=False)
    _scalars = st.none() | st.booleans() | st.integers() | _floats | _text
    _json = st.recursive(
        _scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
        max_leaves=8,
    )
    _keys = st.sampled_from(["version", "port", "models", "last", "url", "quote"]) | _text
    _docs = st.sampled_from(
        [CONFIG, "{}", '{"a": 1}', '{\n  "a": 1, // c\n  /* d */\n}\n', CONFIG.replace("\n", "\r\n")]
    )

    @settings(max_examples=200, deadline=None)
    @given(doc=_docs, values=st.dictionaries(_keys, _json, max_size=5))
    def test_property_set_values_parses_to_the_expected_data_and_keeps_every_comment(doc, values):
        new = set_values(doc, values)
        want = expected(doc, values)
        assert json.dumps(parsed(new)) == json.dumps(want)
        comments = [
            "// LMArena Bridge configuration",
            "/* server */",
            "// do not edit",
            "// a real comment",
            "// inside",
            'line { "port": 0 } */',
            "// after last",
            "// c",
            "/* d */",
        ]
        for comment in comments:
            inside_replaced_value = comment == "// inside" and "models" in values
            if comment in doc and not inside_replaced_value:
                assert comment in new


def test_appending_to_a_pool_keeps_the_comments_inside_it():
    text = '{\n  "m": [\n    {"a": 1}, // first\n    /* keep */ {"a": 2} // last\n  ],\n}\n'
    out = append_to_list(text, "m", {"a": 3})
    assert json5.loads(out)["m"] == [{"a": 1}, {"a": 2}, {"a": 3}]
    for comment in ("// first", "/* keep */", "// last"):
        assert comment in out
    assert out.startswith(text[: text.index(" // last")])


def test_appending_to_an_old_single_object_turns_it_into_a_list_keeping_its_text():
    text = '{\n  "m": {"a": 1 /* mine */}, // old style\n}\n'
    out = append_to_list(text, "m", {"a": 2})
    assert json5.loads(out)["m"] == [{"a": 1}, {"a": 2}]
    assert '{"a": 1 /* mine */}' in out and "// old style" in out


def test_appending_to_a_missing_key_adds_a_one_element_list():
    assert json5.loads(append_to_list('{"x": 1}', "m", 5)) == {"x": 1, "m": [5]}


def test_appending_to_a_one_line_list_stays_on_its_line():
    assert append_to_list('{"m": [1, 2]}', "m", 3) == '{"m": [1, 2, 3]}'
