"""`create_app(settings)`: the FastAPI application with everything it owns on `app.state`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from browser import ArenaPage
from browser.idle import IdleActivity

from ..accounts import AccountPool
from ..activity import LogBuffer, RequestLog
from ..chat import ChatService
from ..config import ConfigStore, Settings, launch_options
from ..errors import BridgeError, HttpError, InvalidRequest
from ..images import ImageService
from ..limiter import Limiter
from ..model_list import ModelUpdater
from ..models import ModelRegistry
from ..routing import ProtocolRouter, describe_protocol
from ..update_check import start_update_check
from .anthropic import anthropic
from .anthropic_format import error_body, is_anthropic_path
from .console import console, with_console_hint
from .console import pages as console_pages
from .console_auth import ConsoleSessions
from .cors import Cors
from .guards import ApiKeyGuard, BodySizeLimit
from .images import router as images_router
from .internal import internal
from .live import live
from .paths import V1Alias, not_found_message
from .responses_api import router as responses_router
from .streaming import StreamTiming
from .v1 import public, v1

log = logging.getLogger(__name__)


def create_app(
    config: ConfigStore, *, page: ArenaPage | None = None, pages: Sequence[ArenaPage] | None = None
) -> FastAPI:
    """Build the app around the settings in force; the browsers start in the background when the app starts.

    One arena page per profile (`profiles`, else `profile_dir`); `page` / `pages` replace the
    pages the settings describe (tests pass scripted subclasses).
    """
    settings = config.current()
    if pages is None:
        pages = [page] if page is not None else _pages(settings)
    accounts = AccountPool.of_pages(pages, settings.accounts_state_path, _account_names(settings, len(pages)))
    page = accounts.first.page

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        starting = [asyncio.create_task(p.start_until_up(), name="browser-start") for p in pages]
        idle = [IdleActivity(p) for p in pages] if settings.idle_activity else []
        for activity in idle:
            activity.start()
        log.info("arena protocol: %s", describe_protocol(settings.protocol))
        update_check = app.state.update_check = start_update_check(settings)
        app.state.model_updater.start(settings)
        logging.getLogger().addHandler(app.state.log_buffer)
        try:
            yield
        finally:
            logging.getLogger().removeHandler(app.state.log_buffer)
            for task in starting:
                task.cancel()
            await asyncio.wait(starting)
            for hub in app.state.live_hubs.values():
                await hub.close()
            app.state.model_updater.stop()
            for activity in idle:
                await activity.stop()
            if update_check is not None:
                update_check.cancel()
            await asyncio.gather(*(p.close() for p in pages))

    app = FastAPI(title="lmarena-bridge", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.config = config
    app.state.page = page
    app.state.accounts = accounts
    app.state.models = ModelRegistry(settings.models_path, settings.available_models_path)
    app.state.router = ProtocolRouter(settings.endpoint_map_path)
    limiter = Limiter(settings.max_concurrent_requests, settings.max_queued_requests)
    app.state.chat = ChatService(page, app.state.models, app.state.router, limiter, accounts=accounts)
    app.state.images = ImageService(app.state.chat, page, app.state.models)
    app.state.model_updater = ModelUpdater(page, choose=lambda: accounts.first_ready().page)
    app.state.stream_timing = StreamTiming()
    app.state.update_check = None
    app.state.request_log = RequestLog()
    app.state.log_buffer = LogBuffer(
        lambda: {app.state.config.current().api_key: "[api_key]", str(settings.profile_path): "<profile>"}
    )
    app.state.console_sessions = ConsoleSessions()
    app.state.live_hubs = {}
    app.include_router(v1)
    app.include_router(anthropic)
    app.include_router(images_router)
    app.include_router(responses_router)
    app.include_router(public)
    app.include_router(internal)
    app.include_router(console_pages)
    app.include_router(console)
    app.include_router(live)
    _install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=lambda: app.state.config.current().max_request_bytes)
    app.add_middleware(
        ApiKeyGuard,
        api_key=lambda: app.state.config.current().api_key,
        bound_to=lambda: settings.host,
    )
    app.add_middleware(V1Alias, routes=lambda: app.router.routes)
    app.add_middleware(
        Cors,
        api_key=lambda: app.state.config.current().api_key,
        allowed=lambda: app.state.config.current().cors_allow_origins,
    )
    return app


def _pages(settings: Settings) -> list[ArenaPage]:
    timeout = settings.idle_restart_timeout_seconds
    idle = timeout if settings.enable_idle_restart and timeout > 0 else None
    return [
        ArenaPage(settings.arena_url, launch_options(settings, profile), idle_reload_after=idle)
        for profile in settings.profile_paths
    ]


def _account_names(settings: Settings, count: int) -> list[str]:
    names = settings.profiles or [settings.profile_dir]
    return names if len(names) == count else [str(i + 1) for i in range(count)]


def _render(request: Request, error: BridgeError) -> JSONResponse:
    """The error in the client's API shape, its message pointing at the console when a person must act."""
    body = with_console_hint(error, request)
    if is_anthropic_path(request.url.path):
        body = error_body(error, message=body["error"]["message"])
    return JSONResponse(body, status_code=error.status, headers=error.headers())


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BridgeError)
    async def bridge_error(request: Request, exc: BridgeError) -> JSONResponse:
        return _render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _render(request, _from_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = not_found_message(app.router.routes, request.scope, str(request.base_url))
            return _render(request, HttpError(404, message))
        return _render(request, HttpError(exc.status_code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _render(request, BridgeError(f"internal error ({type(exc).__name__}); see the server log"))


def _from_validation(exc: RequestValidationError) -> InvalidRequest:
    error = exc.errors()[0]
    loc = [str(p) for p in error.get("loc", ()) if p != "body"]
    param = ".".join(loc) or None
    kind = error.get("type", "")
    if kind == "json_invalid":
        return InvalidRequest(
            f"the request body is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})",
            code="invalid_json",
        )
    if kind == "missing":
        return InvalidRequest(f"missing required field {param!r}", code="missing_field", param=param)
    return InvalidRequest(f"{param or 'body'}: {error.get('msg', 'invalid value')}", code="invalid_value", param=param)
