"""Stop sequences over a streamed answer (OpenAI's `stop`, Anthropic's `stop_sequences`).

The answer ends just before the first occurrence of any stop string, wherever the
pieces were cut: a stop string may arrive split over several pieces. Only the tail
that could still grow into a stop string is held back, so text reaches the client as
early as possible. The stop string itself is never emitted (OpenAI's behaviour).

    matcher = StopMatcher(["\\nUser:"])
    matcher.feed("Hi\\nUs")   -> "Hi"      ("\\nUs" held back)
    matcher.feed("er: x")     -> ""        matcher.stopped is True
    matcher.flush()           -> ""        (after a normal end: whatever was held back)
"""

from __future__ import annotations

from collections.abc import Iterable


class StopMatcher:
    """Feeds text pieces through; `stopped` turns True at the first stop string.

    `stops`: the stop strings (empty ones are ignored). With none, text passes through unchanged.
    """

    def __init__(self, stops: Iterable[str] = ()) -> None:
        self.stops = tuple(s for s in stops if s)
        self.stopped = False
        self.matched: str | None = None  # the stop string that ended the answer (Anthropic's `stop_sequence`)
        self._held = ""

    def feed(self, text: str) -> str:
        """The part of `text` (plus what was held back) that is safe to emit now."""
        if self.stopped:
            return ""
        if not self.stops:
            return text
        buffer = self._held + text
        hit = self._first_hit(buffer)
        pending = self._first_partial(buffer)
        if hit is not None and (pending is None or hit[0] <= pending):
            return self._stop_at(buffer, hit)
        # A stop string that starts earlier may still complete: hold from there on.
        keep_from = len(buffer) if pending is None else pending
        self._held = buffer[keep_from:]
        return buffer[:keep_from]

    def flush(self) -> str:
        """What was held back, once the answer has ended (cut at a stop string held in it)."""
        held, self._held = self._held, ""
        if self.stopped:
            return ""
        hit = self._first_hit(held) if self.stops else None
        return held if hit is None else self._stop_at(held, hit)

    def _stop_at(self, buffer: str, hit: tuple[int, str]) -> str:
        cut, self.matched = hit
        self.stopped = True
        self._held = ""
        return buffer[:cut]

    def _first_hit(self, buffer: str) -> tuple[int, str] | None:
        """(start, stop string) of the earliest complete stop string in `buffer`."""
        hits = [(at, stop) for stop in self.stops if (at := buffer.find(stop)) >= 0]
        return min(hits, key=lambda hit: hit[0]) if hits else None

    def _first_partial(self, buffer: str) -> int | None:
        """The earliest position from which `buffer`'s tail is a proper prefix of a stop string."""
        longest = max(len(stop) for stop in self.stops)
        for start in range(max(0, len(buffer) - longest + 1), len(buffer)):
            tail = buffer[start:]
            if any(len(tail) < len(stop) and stop.startswith(tail) for stop in self.stops):
                return start
        return None
