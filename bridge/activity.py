"""What the console shows of the bridge's recent work: requests and log lines, in bounded rings.

`RequestLog` keeps the last `RECENT_REQUESTS` requests as `RequestRecord`s (no prompt or
answer text unless `console_log_content` is on); `RequestLog.track(events, record)` wraps
an answer's event stream and fills the record's timing, size and status as it flows.
`LogBuffer` is a logging.Handler that keeps the last `RECENT_LOG_LINES` formatted lines,
with the API key and the profile path replaced. Nothing here raises; errors pass through `track` unchanged.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from browser.stream import Event, ImageResult, ReasoningDelta, TextDelta

from .errors import BridgeError

RECENT_REQUESTS = 200
RECENT_LOG_LINES = 500
CONTENT_LIMIT = 4000  # characters of prompt / answer kept per request when content logging is on
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_monotonic = time.monotonic  # RequestRecord's field `time` hides the module inside its class body


@dataclass(slots=True)
class RequestRecord:
    """One request as the console lists it. Times in seconds (Unix time for `time`), size in characters."""

    id: int
    time: float
    surface: str  # the client API: "chat.completions", "images.generations", ...
    model: str
    account: str
    stream: bool
    status: int | None = None  # HTTP status, or None while running
    code: str | None = None  # the error code when it failed
    ttft: float | None = None  # seconds to the first answer event
    duration: float | None = None
    size: int = 0  # characters of answer (text, reasoning, image URLs)
    prompt: str | None = None
    answer: str | None = None
    _started: float = field(default_factory=_monotonic, repr=False)
    _parts: list[str] | None = field(default=None, repr=False)

    def view(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_started")
        data.pop("_parts")
        if self._parts is not None:
            data["answer"] = "".join(self._parts)[:CONTENT_LIMIT]
        return data


def _text(event: Event) -> str:
    if isinstance(event, TextDelta | ReasoningDelta):
        return event.text
    if isinstance(event, ImageResult):
        return event.url
    return ""


class RequestLog:
    def __init__(self, size: int = RECENT_REQUESTS) -> None:
        self._records: collections.deque[RequestRecord] = collections.deque(maxlen=size)
        self._ids = itertools.count(1)

    def start(
        self, surface: str, model: str, *, account: str, stream: bool, prompt: str | None = None
    ) -> RequestRecord:
        """A new running record; `prompt` is kept (cut to CONTENT_LIMIT) only when given."""
        record = RequestRecord(next(self._ids), time.time(), surface, model, account, stream)
        if prompt is not None:
            record.prompt = prompt[:CONTENT_LIMIT]
            record._parts = []
        self._records.append(record)
        return record

    def recent(self) -> list[dict[str, Any]]:
        """Newest first."""
        return [r.view() for r in reversed(self._records)]

    @staticmethod
    def finish(record: RequestRecord, status: int, code: str | None = None) -> None:
        if record.status is None:
            record.status, record.code = status, code
            record.duration = time.monotonic() - record._started

    async def track(self, events: AsyncGenerator[Event, None], record: RequestRecord) -> AsyncGenerator[Event, None]:
        """`events`, unchanged, while the record learns the first-event time, size and outcome."""
        try:
            async for event in events:
                if record.ttft is None:
                    record.ttft = time.monotonic() - record._started
                text = _text(event)
                record.size += len(text)
                if record._parts is not None and sum(map(len, record._parts)) < CONTENT_LIMIT:
                    record._parts.append(text)
                yield event
        except BridgeError as exc:
            self.finish(record, exc.status, exc.code)
            raise
        except (asyncio.CancelledError, GeneratorExit):
            self.finish(record, 499, "client_closed_request")
            raise
        except Exception:
            self.finish(record, 500, "internal_error")
            raise
        finally:
            await events.aclose()
        self.finish(record, 200)


class LogBuffer(logging.Handler):
    """The last log lines, formatted; `secrets()` maps strings never to show (the key, the profile path)
    to what stands in their place."""

    def __init__(self, secrets: Callable[[], dict[str, str]], size: int = RECENT_LOG_LINES) -> None:
        super().__init__(logging.INFO)
        self.lines: collections.deque[str] = collections.deque(maxlen=size)
        self._secrets = secrets
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            for secret, stand_in in self._secrets().items():
                if secret:
                    line = line.replace(secret, stand_in)
            self.lines.append(line)
        except Exception:  # a logging handler never raises into the code that logs
            self.handleError(record)

    def tail(self, count: int = RECENT_LOG_LINES) -> list[str]:
        return list(self.lines)[-count:]
