"""An arena page without a browser, for fast in-process tests of the HTTP layer.

`ScriptedPage` is a real subclass of `browser.ArenaPage`: ready at once, and each
`stream()` records the `ArenaRequest` it was given and replays what `answer(request)`
returns (a list of stream events, or a `BrowserError` to raise). `in_process_app()`
builds the real app around it; clients talk to it through `httpx.ASGITransport`
(`asgi_client`, and `openai_client` for the official SDK on top of one).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
from fastapi import FastAPI

from bridge.config import ConfigSource, ConfigStore
from bridge.http import create_app
from browser import ArenaPage, ArenaRequest, LaunchOptions
from browser.driver import READY
from browser.errors import BrowserError
from browser.stream import Event, Finish, TextDelta

Answer = Callable[[ArenaRequest], Sequence[Event] | BrowserError]


def says(*pieces: str) -> Answer:
    """An answer of these text pieces, then a normal finish."""
    return lambda _request: [*(TextDelta(p) for p in pieces), Finish("stop")]


class ScriptedPage(ArenaPage):
    def __init__(self, answer: Answer = says("Hello", " there"), models: list[dict[str, Any]] | None = None) -> None:
        super().__init__("https://arena.test", LaunchOptions(profile_dir=Path("/nonexistent")))
        self.answer = answer
        self.models = models or []
        self.requests: list[ArenaRequest] = []
        self.state, self.detail = READY, "scripted page"

    async def start_until_up(self) -> None:
        self.state = READY

    async def start(self) -> None:
        self.state = READY

    async def close(self) -> None:
        return None

    async def assess(self) -> str:
        return self.state

    async def read_models(self, *, fresh: bool = True) -> list[dict[str, Any]]:
        return self.models

    async def stream(self, request: ArenaRequest, *, timeout: float) -> AsyncGenerator[Event, None]:
        self.requests.append(request)
        script = self.answer(request)
        if isinstance(script, BrowserError):
            raise script
        for event in script:
            yield event

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the requests the bridge sent, in order."""
        return [json.loads(r.body) for r in self.requests]


def in_process_app(folder: Path, page: ArenaPage, models: dict[str, str], **config: Any) -> FastAPI:
    """The real app on a config in `folder` (models.json from `models`), around `page`."""
    path = folder / "config.jsonc"
    path.write_text(json.dumps({"auto_update_models": False, "enable_auto_update": False, "pace_seconds": 0, **config}))
    (folder / "models.json").write_text(json.dumps(models))
    return create_app(ConfigStore(ConfigSource({"config": str(path)}, env={})), page=page)


BASE_URL = "http://127.0.0.1"


@asynccontextmanager
async def asgi_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client that calls `app` in-process, as from 127.0.0.1."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        yield client


def openai_client(http: httpx.AsyncClient) -> openai.AsyncOpenAI:
    """The official `openai` client over an `asgi_client`, without retries."""
    return openai.AsyncOpenAI(api_key="unused", base_url=f"{BASE_URL}/v1", http_client=http, max_retries=0)
