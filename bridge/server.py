"""Run the app under uvicorn and say where it listens."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import uvicorn
from playwright.async_api import async_playwright

from browser.errors import BrowserNotFound
from browser.launcher import find_browser
from browser.profile import profile_holder

from .app import create_app
from .config import Settings
from .errors import CommandError

log = logging.getLogger(__name__)


async def check_browser(settings: Settings) -> None:
    """Fail fast, in one line, when no browser can be launched or the profile is taken."""
    async with async_playwright() as playwright:
        try:
            find_browser(settings.browser_executable or None, playwright)
        except BrowserNotFound as exc:
            raise CommandError(str(exc)) from exc
    holder = profile_holder(settings.profile_path)
    if holder:
        raise CommandError(
            f"the browser profile {settings.profile_path} is in use by {holder}; "
            "stop the other lmarena-bridge (or close its login window) first"
        )


async def serve(
    settings: Settings, *, cli: Mapping[str, Any] | None = None, on_ready: Callable[[], None] = lambda: None
) -> None:
    """Serve until a signal; `on_ready` is called once the server listens."""
    await check_browser(settings)
    app = create_app(settings, cli=cli)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    announce = asyncio.create_task(_when_started(server, on_ready))
    try:
        await server.serve()
    finally:
        announce.cancel()


async def _when_started(server: uvicorn.Server, on_ready: Callable[[], None]) -> None:
    while not server.started:
        await asyncio.sleep(0.05)
    on_ready()
