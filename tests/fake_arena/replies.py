"""Canned answers of the fake arena's stream endpoint.

A :class:`Reply` is a status, headers and a list of byte fragments; the server
writes each fragment as its own ASGI body message (``more_body=True``), with
``delay`` seconds between fragments, then ends the response as ``end`` says:
``"finish"`` (a proper end), ``"hang"`` (never ends until the client goes away
or the server stops) or ``"die"`` (the TCP connection is aborted).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .models import CHALLENGE_HTML

STREAM_HEADERS: list[tuple[str, str]] = [
    ("content-type", "text/plain; charset=utf-8"),
    ("cache-control", "no-cache, no-transform"),
    ("x-vercel-ai-data-stream", "v1"),
]

DEFAULT_ERROR_BODIES: dict[int, Any] = {
    400: {
        "error": {
            "issues": [
                {
                    "code": "invalid_type",
                    "expected": "string",
                    "received": "undefined",
                    "path": ["messages", 0, "content"],
                    "message": "Required",
                }
            ],
            "name": "ZodError",
        }
    },
    401: {"error": "User anonymous does not have access to evaluation session 00000000-0000-4000-8000-000000000000"},
    403: {"error": "recaptcha validation failed"},
    404: {"error": "Model not found"},
    413: {"error": "Request Entity Too Large"},
    422: {"error": "Your message was flagged by our moderation system."},
    429: {"error": "Too many requests. Please try again later."},
}


def encode_json_string(text: str) -> str:
    """``text`` as a JSON string, deterministically mixing raw and escaped unicode.

    Every other non-ASCII character is written as a ``\\uXXXX`` escape (a
    surrogate pair above U+FFFF), the others stay raw UTF-8, so a stream has
    both kinds whenever a line has two or more non-ASCII characters.
    """
    out: list[str] = []
    count = 0
    for char in json.dumps(text, ensure_ascii=False):
        code = ord(char)
        if code < 128:
            out.append(char)
            continue
        if count % 2:
            if code > 0xFFFF:
                code -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
            else:
                out.append("\\u%04x" % code)
        else:
            out.append(char)
        count += 1
    return "".join(out)


def split_text(text: str, count: int = 3) -> list[str]:
    """``text`` cut into up to ``count`` non-empty pieces of similar length."""
    if not text:
        return []
    count = max(1, min(count, len(text)))
    step, rest = divmod(len(text), count)
    pieces, start = [], 0
    for index in range(count):
        end = start + step + (1 if index < rest else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


_BIG_WORDS = [
    "lorem",
    "ipsum",
    "héllo",
    "wörld",
    "你好",
    "世界",
    "😀",
    "naïve",
    '"quoted"',
    "back\\slash",
    "tab\tstop",
    "Ω≈ç√",
    "日本語",
    "🚀",
    "emoji👍🏽",
    "ß",
]


def big_text(size: int) -> str:
    """Deterministic text whose UTF-8 encoding is at least ``size`` bytes."""
    parts: list[str] = []
    total = index = 0
    while total < size:
        sep = "\n" if index % 17 == 16 else " "
        piece = f"{_BIG_WORDS[index % len(_BIG_WORDS)]}{index}{sep}"
        parts.append(piece)
        total += len(piece.encode("utf-8"))
        index += 1
    return "".join(parts)


def _finish_json(finish: str, usage: Any, text: str) -> str:
    record: dict[str, Any] = {"finishReason": finish}
    if usage is True:
        record["usage"] = {"promptTokens": 10, "completionTokens": max(1, len(text.split()))}
    elif isinstance(usage, dict):
        record["usage"] = usage
    return json.dumps(record, separators=(",", ":"))


def _encode_lines(lines: Iterable[str | bytes]) -> list[bytes]:
    out = []
    for line in lines:
        raw = line if isinstance(line, bytes) else line.encode("utf-8")
        out.append(raw + b"\n")
    return out


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=lambda: list(STREAM_HEADERS))
    fragments: list[bytes] = field(default_factory=list)
    delay: float = 0.0
    end: str = "finish"  # "finish" | "hang" | "die"
    #: what a correct client extracts from the stream (for assertions)
    expected_text: str = ""
    expected_reasoning: str = ""
    expected_images: list[str] = field(default_factory=list)
    finish_reason: str | None = None

    @property
    def body(self) -> bytes:
        return b"".join(self.fragments)

    # ------------------------------------------------------------ streamed
    @classmethod
    def text(
        cls,
        text: str,
        *,
        pieces: Sequence[str] | None = None,
        side: str = "a",
        finish: str | None = "stop",
        usage: Any = True,
        delay: float = 0.0,
        reasoning: str | Sequence[str] | None = None,
    ) -> Reply:
        """``ag:`` reasoning lines, ``a0:`` text lines, then ``ad:`` (``finish=None``: no end record)."""
        if pieces is None:
            pieces = split_text(text)
        elif "".join(pieces) != text:
            raise ValueError("pieces must add up to text")
        if isinstance(reasoning, str):
            reasoning = split_text(reasoning, 2)
        reasoning = list(reasoning or [])
        lines = [f"{side}g:{encode_json_string(r)}" for r in reasoning]
        lines += [f"{side}0:{encode_json_string(p)}" for p in pieces]
        if finish is not None:
            lines.append(f"{side}d:{_finish_json(finish, usage, text)}")
        return cls(
            fragments=_encode_lines(lines),
            delay=delay,
            expected_text=text,
            expected_reasoning="".join(reasoning),
            finish_reason=finish,
        )

    @classmethod
    def lines(cls, lines: Sequence[str | bytes], *, delay: float = 0.0) -> Reply:
        """Raw lines exactly as given, each terminated by a newline."""
        return cls(fragments=_encode_lines(lines), delay=delay)

    @classmethod
    def fragmented(cls, text: str, *, seed: int = 0, delay: float = 0.002) -> Reply:
        """The body of ``Reply.text(text)`` cut at random byte offsets.

        Cuts are forced inside the first ``\\uXXXX`` escape, inside the first
        multi-byte UTF-8 character and inside the first line prefix, plus
        seeded random cuts elsewhere.
        """
        base = cls.text(text)
        body = base.body
        rng = random.Random(seed)
        cuts = {1}
        escape_at = body.find(b"\\u")
        if escape_at >= 0:
            cuts.add(escape_at + 3)
        multi_at = next((i for i, byte in enumerate(body) if byte >= 0xC0), -1)
        if multi_at >= 0:
            cuts.add(multi_at + 1)
        for _ in range(max(3, min(len(body) // 6, 400))):
            cuts.add(rng.randrange(1, max(2, len(body))))
        ordered = sorted(c for c in cuts if 0 < c < len(body))
        bounds = [0, *ordered, len(body)]
        base.fragments = [body[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]
        base.delay = delay
        return base

    @classmethod
    def trickle(cls, text: str, *, delay: float) -> Reply:
        """One ``a0`` line per character, ``delay`` seconds apart."""
        return cls.text(text, pieces=list(text), delay=delay)

    @classmethod
    def in_stream_error(cls, message: str, *, before: str | None = None, side: str = "a") -> Reply:
        """Optionally one text line, then ``a3:"<message>"`` and the end of the body."""
        lines = [f"{side}0:{encode_json_string(before)}"] if before else []
        lines.append(f"{side}3:{json.dumps(message, ensure_ascii=False)}")
        return cls(fragments=_encode_lines(lines), expected_text=before or "")

    @classmethod
    def images(cls, urls: Sequence[str], *, heartbeats: int = 2, side: str = "a") -> Reply:
        """Heartbeats, one ``a2`` image record per url, then ``ad``."""
        lines = [f'{side}2:[{{"type":"heartbeat"}}]'] * heartbeats
        for url in urls:
            lines.append(f"{side}2:" + json.dumps([{"type": "image", "image": url}]))
        lines.append(f'{side}d:{{"finishReason":"stop"}}')
        return cls(fragments=_encode_lines(lines), expected_images=list(urls), finish_reason="stop")

    @classmethod
    def content_filter(cls, text: str) -> Reply:
        return cls.text(text, finish="content-filter", usage=False)

    @classmethod
    def hang(cls, after_text: str | None = None) -> Reply:
        """Status, headers, maybe some text, then nothing until the client leaves."""
        reply = cls.text(after_text or "", finish=None)
        reply.end = "hang"
        return reply

    @classmethod
    def die(cls, after_text: str = "partial") -> Reply:
        """Some text, then the connection is aborted with no proper end."""
        reply = cls.text(after_text, finish=None)
        reply.end = "die"
        return reply

    @classmethod
    def data_wrapped(cls, text: str) -> Reply:
        """Like :meth:`text`, every line prefixed with ``data: ``."""
        reply = cls.text(text)
        reply.fragments = [b"data: " + fragment for fragment in reply.fragments]
        return reply

    @classmethod
    def big(cls, size_bytes: int = 100_000, *, piece_chars: int = 200) -> Reply:
        """A long answer (text from :meth:`big_text`) in many ``a0`` lines."""
        text = big_text(size_bytes)
        pieces = [text[i : i + piece_chars] for i in range(0, len(text), piece_chars)]
        return cls.text(text, pieces=pieces)

    big_text = staticmethod(big_text)

    # ------------------------------------------------------------ the second edition's codes
    @classmethod
    def search(cls, text: str, sources: Sequence[tuple[str, str]], *, side: str = "a") -> Reply:
        """A search model's answer: a step (``af``/``ae``) whose ``ac`` tool-call deltas carry
        each source (the arguments split over two deltas), unknown codes, then the text and ``ad``."""
        lines = [f'{side}f:{{"messageId":"step-1"}}']
        for number, (title, url) in enumerate(sources):
            args = json.dumps({"source": {"title": title, "url": url}})
            call = f"call-{number}"
            lines.append(f'{side}b:{{"toolCallId":"{call}","toolName":"search"}}')
            for piece in (args[: len(args) // 2], args[len(args) // 2 :]):
                lines.append(f"{side}c:" + json.dumps({"toolCallId": call, "argsTextDelta": piece}))
        lines += [f'{side}e:{{"finishReason":"tool-calls","isContinued":true}}', f'{side}z:{{"future":"code"}}']
        lines += [f'{side}f:{{"messageId":"step-2"}}', f'{side}8:[{{"note":"annotation"}}]']
        lines += [f"{side}0:{encode_json_string(piece)}" for piece in split_text(text)]
        lines += [
            f'{side}e:{{"finishReason":"stop","isContinued":false}}',
            f"{side}d:{_finish_json('stop', True, text)}",
        ]
        return cls(fragments=_encode_lines(lines), expected_text=text, finish_reason="stop")

    @classmethod
    def arena_error(cls, *, before: str | None = None, how: str = "text") -> Reply:
        """A 200 that fails inside: optional text, then ``a0:"hasArenaError"`` (how="text") or
        ``ad:{"finishReason":"error"}`` (how="finish")."""
        lines = [f"a0:{encode_json_string(before)}"] if before else []
        lines.append('a0:"hasArenaError"' if how == "text" else 'ad:{"finishReason":"error"}')
        return cls(fragments=_encode_lines(lines), expected_text=before or "")

    # ------------------------------------------------------------ not streamed
    @classmethod
    def error(
        cls,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        retry_after: int | None = None,
    ) -> Reply:
        """A plain error response; ``body`` None -> the protocol's usual body for ``status``."""
        if body is None:
            body = DEFAULT_ERROR_BODIES.get(status, "Internal Server Error")
        if isinstance(body, (dict, list)):
            raw, ctype = json.dumps(body).encode("utf-8"), "application/json"
        elif isinstance(body, bytes):
            raw, ctype = body, "application/octet-stream"
        else:
            raw, ctype = str(body).encode("utf-8"), "text/plain; charset=utf-8"
        merged = {"content-type": ctype}
        if retry_after is not None:
            merged["retry-after"] = str(retry_after)
        merged.update({k.lower(): v for k, v in (headers or {}).items()})
        merged["content-length"] = str(len(raw))
        return cls(status=status, headers=list(merged.items()), fragments=[raw])

    @classmethod
    def challenge(cls) -> Reply:
        """403 with Cloudflare's 'Just a moment...' HTML."""
        raw = CHALLENGE_HTML.encode("utf-8")
        headers = [
            ("content-type", "text/html; charset=UTF-8"),
            ("cf-mitigated", "challenge"),
            ("server", "cloudflare"),
            ("content-length", str(len(raw))),
        ]
        return cls(status=403, headers=headers, fragments=[raw])
