"""Run the app under uvicorn and say where it listens."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import uvicorn

from browser.profile import profile_holder
from browser.standalone import locate_browser

from ..config import ConfigStore, Settings, launch_options
from ..http import create_app
from .errors import CommandError

log = logging.getLogger(__name__)


async def check_browser(settings: Settings) -> None:
    """Fail fast, in one line, when no browser can be launched or the profile is taken."""
    await locate_browser(launch_options(settings))  # BrowserNotFound says how to install one
    for profile in settings.profile_paths:
        holder = profile_holder(profile)
        if holder:
            raise CommandError(
                f"the browser profile {profile} is in use by {holder}; "
                "stop the other lmarena-bridge (or close its login window) first"
            )


async def serve(config: ConfigStore, *, on_ready: Callable[[], None] = lambda: None) -> None:
    """Serve until a signal; `on_ready` is called once the server listens."""
    settings = config.current()
    await check_browser(settings)
    app = create_app(config)
    server_config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
        lifespan="on",
    )
    server = uvicorn.Server(server_config)
    announce = asyncio.create_task(_when_started(server, on_ready))
    try:
        await server.serve()
    finally:
        announce.cancel()


async def _when_started(server: uvicorn.Server, on_ready: Callable[[], None]) -> None:
    while not server.started:
        await asyncio.sleep(0.05)
    on_ready()
