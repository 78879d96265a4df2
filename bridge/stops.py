"""Stop sequences over a streamed answer (OpenAI's `stop` request field).

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
        self._held = ""

    def feed(self, text: str) -> str:
        """The part of `text` (plus what was held back) that is safe to emit now."""
        if self.stopped:
            return ""
        if not self.stops:
            return text
        buffer = self._held + text
        cut = min((i for i in (buffer.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._held = ""
            return buffer[:cut]
        keep = self._partial_tail(buffer)
        self._held = buffer[len(buffer) - keep :] if keep else ""
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        """What was held back, once the answer has ended without a stop string."""
        held, self._held = self._held, ""
        return "" if self.stopped else held

    def _partial_tail(self, buffer: str) -> int:
        """The length of the longest tail of `buffer` that is a proper prefix of a stop string."""
        longest = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(buffer)), longest, -1):
                if buffer.endswith(stop[:size]):
                    longest = size
                    break
        return longest
