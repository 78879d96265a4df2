"""Lossless editing of JSONC files (JSON with ``//`` / ``/* */`` comments and trailing commas).

The program changes top-level settings in the user's ``config.jsonc`` and in JSON files such as
``model_endpoint_map.json``; re-serialising would lose comments, formatting and key order, so:
a small scanner tokenises the text (strings with escapes, comments, literals, punctuation), a
recursive-descent pass validates it and records the exact span of each top-level member's value,
and :func:`set_values` splices new JSON encodings into those spans (or appends members before the
closing brace), leaving every other byte as it was. :func:`update_file` writes the result with
:func:`atomic_write_text` (temp file, fsync, ``os.replace``): a crash leaves the old or new file.

Layout rules: replacement values keep the old value's shape (a value that was on one line stays on
one line; a value that spanned lines is written indented). Members appended to an object laid out
one member per line get the indentation of the existing members, and non-empty dicts/lists are
written multi-line; in an object written on a single line they are appended inline. The document's
newline style (LF or CRLF) is used for any newline that is added.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

__all__ = ["set_values", "atomic_write_text", "update_file"]

_PUNCT = "{}[]:,"
_LITERAL_STOP = _PUNCT + '"/'
_NEW_FILE_MODE = 0o644


class _Token(NamedTuple):
    kind: str  # one of _PUNCT, "str", "lit", "eof"
    start: int
    end: int


class _Member(NamedTuple):
    name: str
    key_start: int
    value_start: int
    value_end: int
    comma: int | None  # offset of the comma following the value, if any


def _error(text: str, pos: int, msg: str) -> ValueError:
    line, col = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
    return ValueError(f"invalid JSONC at line {line}, column {col}: {msg}")


def _tokenize(text: str) -> list[_Token]:
    toks, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace() or c == "\ufeff":
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise _error(text, i, "unterminated /* comment")
            i = j + 2
        elif c in _PUNCT:
            toks.append(_Token(c, i, i + 1))
            i += 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] not in '"\n':
                j += 2 if text[j] == "\\" else 1
            if j >= n or text[j] != '"':
                raise _error(text, i, "unterminated string")
            toks.append(_Token("str", i, j + 1))
            i = j + 1
        else:  # number, true, false, null (or another bare word, which json5 may accept)
            j = i
            while j < n and not text[j].isspace() and text[j] not in _LITERAL_STOP:
                j += 1
            if j == i:
                raise _error(text, i, f"unexpected character {c!r}")
            toks.append(_Token("lit", i, j))
            i = j
    toks.append(_Token("eof", n, n))
    return toks


class _Parser:
    """Recursive descent over the token list; validates structure and collects member spans."""

    def __init__(self, text: str) -> None:
        self.text, self.toks = text, _tokenize(text)

    def fail(self, k: int, msg: str) -> ValueError:
        tok = self.toks[k]
        found = "end of input" if tok.kind == "eof" else repr(self.text[tok.start : tok.end][:20])
        return _error(self.text, tok.start, f"{msg}, found {found}")

    def value(self, k: int) -> int:
        """Parse the value starting at token k; return the index of the token after it."""
        kind = self.toks[k].kind
        if kind in ("str", "lit"):
            return k + 1
        if kind == "{":
            return self.object(k)[0]
        if kind != "[":
            raise self.fail(k, "expected a value")
        k += 1
        while self.toks[k].kind != "]":
            k = self.value(k)
            if self.toks[k].kind == ",":
                k += 1
            elif self.toks[k].kind != "]":
                raise self.fail(k, "expected ',' or ']'")
        return k + 1

    def object(self, k: int) -> tuple[int, list[_Member]]:
        toks, members = self.toks, []
        k += 1
        while toks[k].kind != "}":
            key = toks[k]
            if key.kind not in ("str", "lit"):
                raise self.fail(k, "expected a key or '}'")
            if toks[k + 1].kind != ":":
                raise self.fail(k + 1, "expected ':'")
            end = self.value(k + 2)
            raw = self.text[key.start : key.end]
            name = json.loads(raw) if key.kind == "str" else raw
            comma = toks[end].start if toks[end].kind == "," else None
            members.append(_Member(name, key.start, toks[k + 2].start, toks[end - 1].end, comma))
            if toks[end].kind not in (",", "}"):
                raise self.fail(end, "expected ',' or '}'")
            k = end + (comma is not None)
        return k + 1, members


def _parse_object(text: str) -> tuple[int, int, list[_Member]]:
    """Return (offset of '{', offset of '}', members) of the top-level object of `text`."""
    p = _Parser(text)
    if p.toks[0].kind != "{":
        raise p.fail(0, "the top level must be an object")
    try:
        end, members = p.object(0)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSONC: bad string escape in a key ({exc.msg})") from None
    if p.toks[end].kind != "eof":
        raise p.fail(end, "unexpected content after the top-level object")
    return p.toks[0].start, p.toks[end - 1].start, members


def _line_indent(text: str, pos: int) -> str | None:
    """Whitespace before `pos` on its line, or None if something else precedes it there."""
    prefix = text[text.rfind("\n", 0, pos) + 1 : pos]
    return prefix if not prefix.strip() else None


def _encode(value: object, indent: str, unit: str, nl: str, multiline: bool) -> str:
    if multiline and isinstance(value, (dict, list, tuple)) and value:
        dumped = json.dumps(value, ensure_ascii=False, allow_nan=False, indent=unit)
        return dumped.replace("\n", nl + indent)
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _append_edits(
    text: str, open_pos: int, close_pos: int, members: list[_Member], new: list[str], indent: str, nl: str, inline: bool
) -> list[tuple[int, int, str]]:
    """Edits that append the rendered members `new` after the last member of the object."""
    last = members[-1] if members else None
    trailing = last is not None and last.comma is not None
    if inline and last is not None:
        if last.comma is not None:
            return [(last.comma + 1, last.comma + 1, "".join(f" {m}," for m in new))]
        return [(last.value_end, last.value_end, "".join(f", {m}" for m in new))]
    block = ("," + nl).join(indent + m for m in new) + ("," if trailing else "")
    edits = [] if last is None or trailing else [(last.value_end, last.value_end, ",")]
    close_line = text.rfind("\n", 0, close_pos) + 1
    if close_line > open_pos and _line_indent(text, close_pos) is not None:  # "}" on its own line
        edits.append((close_line, close_line, block + nl))
    elif last is None and not text[open_pos + 1 : close_pos].strip():  # "{}" or "{ }"
        edits.append((open_pos + 1, close_pos, nl + block + nl))
    else:
        edits.append((close_pos, close_pos, nl + block))
    return edits


def set_values(text: str, values: Mapping[str, object]) -> str:
    """Return `text` (a JSONC document whose top level is an object) with each top-level key in
    `values` set to the JSON encoding of its value (``json.dumps(value, ensure_ascii=False)``).

    An existing key's value is replaced in place: only the bytes of the old value change (comments,
    commas and whitespace around it stay; every occurrence of a duplicated key is replaced). A
    missing key is appended as the last member, after any comments that follow the current last
    member, with the members' indentation; a comma is added after the previous member, and a
    trailing-comma style is kept. Raises ValueError if `text` is not a JSONC object, TypeError or
    ValueError if a value cannot be encoded as JSON. Nothing is changed if `values` is empty.
    """
    for key in values:
        if not isinstance(key, str):
            raise TypeError(f"keys must be str, not {type(key).__name__}: {key!r}")
    open_pos, close_pos, members = _parse_object(text)
    nl = "\r\n" if "\r\n" in text else "\n"
    inline = bool(members) and "\n" not in text[open_pos : members[0].key_start]
    found = [] if inline else [_line_indent(text, m.key_start) for m in members[-1:] + members[:1]]
    indent = next((i for i in found if i is not None), "  ")
    unit = indent or "  "
    edits: list[tuple[int, int, str]] = []
    for m in members:
        if m.name in values:
            old_multiline = "\n" in text[m.value_start : m.value_end]
            own = _line_indent(text, m.key_start)
            new = _encode(values[m.name], indent if own is None else own, unit, nl, old_multiline)
            edits.append((m.value_start, m.value_end, new))
    present = {m.name for m in members}
    missing = [
        f"{json.dumps(k, ensure_ascii=False)}: {_encode(v, indent, unit, nl, not inline)}"
        for k, v in values.items()
        if k not in present
    ]
    if missing:
        edits += _append_edits(text, open_pos, close_pos, members, missing, indent, nl, inline)
    out, done = [], 0
    for start, end, new in sorted(edits, key=lambda e: e[0]):  # stable: comma before block
        out += [text[done:start], new]
        done = end
    out.append(text[done:])
    return "".join(out)


def _list_elements(text: str, start: int) -> tuple[list[tuple[int, int]], int | None, int]:
    """The (start, end) of each element of the list at `start`, its trailing comma, and its ']'."""
    p = _Parser(text)
    k = next(i for i, t in enumerate(p.toks) if t.start == start)
    elements, trailing = [], None
    k += 1
    while p.toks[k].kind != "]":
        end = p.value(k)
        elements.append((p.toks[k].start, p.toks[end - 1].end))
        trailing = p.toks[end].start if p.toks[end].kind == "," else None
        k = end + (trailing is not None)
    return elements, trailing, p.toks[k].start


def append_to_list(text: str, key: str, value: object) -> str:
    """`text` with `value` appended to the list held by top-level `key`, every other byte kept.

    An object held there (not in a list) becomes a list of that object and `value`, its own
    text and comments kept; a missing key is added holding `[value]`.
    """
    open_pos, _, members = _parse_object(text)
    member = next((m for m in members if m.name == key), None)
    if member is None:
        return set_values(text, {key: [value]})
    nl = "\r\n" if "\r\n" in text else "\n"
    outer = _line_indent(text, member.key_start) or ""
    unit = outer or "  "
    if text[member.value_start] != "[":
        inner = outer + unit
        new = _encode(value, inner, unit, nl, True)
        old = text[member.value_start : member.value_end]
        wrapped = f"[{nl}{inner}{old},{nl}{inner}{new}{nl}{outer}]"
        return text[: member.value_start] + wrapped + text[member.value_end :]
    elements, trailing, close = _list_elements(text, member.value_start)
    if not elements:
        inner = outer + unit
        return (
            text[: member.value_start]
            + f"[{nl}{inner}{_encode(value, inner, unit, nl, True)}{nl}{outer}]"
            + text[close + 1 :]
        )
    last_start, last_end = elements[-1]
    if "\n" not in text[member.value_start : close]:  # a one-line list stays on one line
        new = _encode(value, "", unit, nl, False)
        at = trailing + 1 if trailing is not None else last_end
        return text[:at] + (f" {new}," if trailing is not None else f", {new}") + text[at:]
    line_start = text.rfind("\n", 0, last_start) + 1
    inner = text[line_start:last_start][: len(text[line_start:last_start]) - len(text[line_start:last_start].lstrip())]
    new = _encode(value, inner, unit, nl, "\n" in text[last_start:last_end])
    after = trailing + 1 if trailing is not None else last_end
    eol = text.find("\n", after)
    eol = eol - 1 if eol > 0 and text[eol - 1] == "\r" else eol
    rest = text[after:eol] if 0 <= eol < close else None
    at = eol if rest is not None and (not rest.strip() or rest.strip().startswith("//")) else after
    comma = "" if trailing is not None else ","
    tail = "," if trailing is not None else ""
    return text[:after] + comma + text[after:at] + f"{nl}{inner}{new}{tail}" + text[at:]


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` (utf-8, newlines untranslated) to `path` via a temp file in the same directory,
    fsync and os.replace. Keeps the existing file's permission bits (new files get 0o644); writes
    through a symlink to its target. On failure the temp file is removed and the old file is intact.
    """
    path = Path(os.path.realpath(path))
    data = text.encode("utf-8")  # fail before touching the disk if `text` cannot be encoded
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = _NEW_FILE_MODE
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows it
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def update_file(path: Path, values: Mapping[str, object]) -> None:
    """Set top-level `values` in the JSONC file at `path` (utf-8, BOM and line endings preserved)
    and write it atomically. A missing file is created as ``{\\n  "key": value\\n}\\n``. The file is
    not rewritten if nothing changes. Raises ValueError if the file is not a JSONC object.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        text = None
    new = set_values("{}\n" if text is None else text, values)
    if new != text:
        atomic_write_text(path, new)
