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
from ..chat import ChatService
from ..config import ConfigStore, Settings, launch_options
from ..errors import BridgeError, HttpError, InvalidRequest
from ..images import ImageService
from ..limiter import Limiter
from ..model_list import ModelUpdater
from ..models import ModelRegistry
from ..routing import ProtocolRouter, describe_protocol
from ..update_check import start_update_check
from .guards import ApiKeyGuard, BodySizeLimit
from .images import router as images_router
from .internal import internal
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
        update_check = start_update_check(settings)
        app.state.model_updater.start(settings)
        try:
            yield
        finally:
            for task in starting:
                task.cancel()
            await asyncio.wait(starting)
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
    app.include_router(v1)
    app.include_router(images_router)
    app.include_router(public)
    app.include_router(internal)
    _install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=lambda: app.state.config.current().max_request_bytes)
    app.add_middleware(
        ApiKeyGuard,
        api_key=lambda: app.state.config.current().api_key,
        bound_to=lambda: settings.host,
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


def _render(error: BridgeError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers())


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BridgeError)
    async def bridge_error(_: Request, exc: BridgeError) -> JSONResponse:
        return _render(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _render(_from_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _render(HttpError(exc.status_code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _render(BridgeError(f"internal error ({type(exc).__name__}); see the server log"))


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
