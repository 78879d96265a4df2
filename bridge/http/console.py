"""The web console: `GET /ui` (static page) and the JSON routes it calls.

    GET  /ui, /ui/console.js, /ui/console.css   the page (package data in bridge/http/ui/)
    GET  /ui/api/session          {"login_required", "logged_in"}  (tells the page to ask for the key)
    POST /ui/login  {"key"}       204 + session cookie; 401 on a wrong key
    POST /ui/logout               204, session closed
    GET  /ui/api/status           health, accounts, protocol, arena URL, version, update notice
    GET  /ui/api/models           {"models": [{"name", "id", "image", "organization"}]}
    POST /ui/api/models/refresh   {"models": <count>, "added": [names]}
    GET  /ui/api/requests         {"requests": [RequestRecord, newest first]}
    GET  /ui/api/log?lines=N      {"lines": [...]}
    POST /ui/api/accounts/{n}/reload | /front   reload the arena page / bring it to the front

Every route but the page, its assets and /ui/api/session passes `console_auth.authorize`;
the live view's WebSocket is in live.py. Nothing here sends cookies, the key or profile paths.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from browser.screencast import bring_page_to_front

from .. import __version__
from ..errors import AuthenticationFailed, BridgeError, browser_errors
from .console_accounts import account, accounts
from .console_auth import SESSION_COOKIE, SESSION_SECONDS, authorize, check_key, local_only, same_origin
from .health import health_report
from .internal import refresh_models as internal_refresh

ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
}
# Errors a person fixes in the live view: their messages point at the console.
NEEDS_A_PERSON = frozenset({"recaptcha_failed", "logged_out", "cloudflare_challenge", "arena_unauthorized"})
LOG_LINES = 200
WRONG_KEY_PAUSE = 1.0


def console_url(request: Request) -> str:
    """The console's address as this client reaches the bridge (proxy-forwarded scheme and host included)."""
    return str(request.base_url).rstrip("/") + "/ui"


def console_hint(request: Request) -> str:
    return f"; or open {console_url(request)} and do it in the bridge's live view"


def with_console_hint(error: BridgeError, request: Request) -> dict[str, Any]:
    """The error's body, its message pointing at the console when a person must act."""
    body = error.body()
    if error.code in NEEDS_A_PERSON:
        body["error"]["message"] += console_hint(request)
    return body


def require_session(request: Request) -> None:
    authorize(request, action=request.method not in ("GET", "HEAD"))


def _static_gate(request: Request) -> None:
    same_origin(request, required=False)
    if not request.app.state.config.current().api_key:
        local_only(request)


pages = APIRouter(prefix="/ui", dependencies=[Depends(_static_gate)])
console = APIRouter(prefix="/ui/api", dependencies=[Depends(require_session)])


def _asset(name: str) -> Response:
    body = resources.files(__package__).joinpath("ui", name).read_bytes()
    return Response(body, media_type=ASSETS[name], headers=SECURITY_HEADERS)


@pages.get("", include_in_schema=False)
async def index() -> Response:
    return _asset("index.html")


@pages.get("/console.js", include_in_schema=False)
async def script() -> Response:
    return _asset("console.js")


@pages.get("/console.css", include_in_schema=False)
async def style() -> Response:
    return _asset("console.css")


@pages.get("/api/session")
async def session(request: Request) -> dict[str, bool]:
    key = request.app.state.config.current().api_key
    token = request.cookies.get(SESSION_COOKIE)
    return {"login_required": bool(key), "logged_in": not key or request.app.state.console_sessions.valid(token, key)}


class Login(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str


@pages.post("/login", status_code=204)
async def login(body: Login, request: Request) -> Response:
    same_origin(request, required=True)
    key = request.app.state.config.current().api_key
    if not key:
        return Response(status_code=204)
    if not check_key(body.key, key):
        await asyncio.sleep(WRONG_KEY_PAUSE)  # slows guessing down
        raise AuthenticationFailed("wrong api_key", code="invalid_api_key")
    token = request.app.state.console_sessions.open(key)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_SECONDS,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@pages.post("/logout", status_code=204)
async def logout(request: Request) -> Response:
    same_origin(request, required=True)
    request.app.state.console_sessions.close(request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/ui")
    return response


@console.get("/status")
async def status(request: Request) -> JSONResponse:
    app = request.app
    code, health = await health_report(app)
    settings = app.state.config.current()
    scrub = _scrubber(str(settings.profile_path))
    health["detail"] = scrub(health["detail"])
    body = {
        # /health's own `accounts` names profile folders; the console lists accounts without them.
        "health": {
            **{k: v for k, v in health.items() if k != "accounts"},
            "http_status": code,
            "console": console_url(request),
        },
        "accounts": [{**a.public(), "detail": scrub(a.detail)} for a in accounts(app)],
        "browser_mode": health["browser_mode"],
        "protocol": settings.protocol,
        "arena_url": settings.arena_url,
        "version": __version__,
        "update": _update_notice(app),
        "api_key_set": bool(settings.api_key),
        "log_content": settings.console_log_content,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _scrubber(profile: str) -> Any:
    """Page details with the profile path replaced: the console never shows where the profile is."""
    return lambda text: text.replace(profile, "<profile>") if isinstance(text, str) else text


def _update_notice(app: Any) -> str | None:
    task = getattr(app.state, "update_check", None)
    if task is None or not task.done() or task.cancelled() or task.exception() is not None:
        return None
    latest = task.result()
    return f"lmarena-bridge {latest} is available (this is {__version__})" if latest else None


@console.get("/models")
async def models(request: Request) -> dict[str, Any]:
    return {
        "models": [
            {"name": m.name, "id": m.id, "image": m.image, "organization": m.organization}
            for m in request.app.state.models.all()
        ]
    }


@console.post("/models/refresh")
async def refresh_models(request: Request) -> dict[str, Any]:
    """The console's refresh button: what `POST /internal/models/refresh` does, behind the console's session."""
    return await internal_refresh(request)


@console.get("/requests")
async def recent_requests(request: Request) -> dict[str, Any]:
    return {"requests": request.app.state.request_log.recent()}


@console.get("/log")
async def log_lines(request: Request, lines: int = LOG_LINES) -> dict[str, Any]:
    return {"lines": request.app.state.log_buffer.tail(max(1, min(lines, 1000)))}


@console.post("/accounts/{index}/reload")
async def reload_page(index: int, request: Request) -> dict[str, Any]:
    chosen = account(request.app, index)
    with browser_errors():
        await chosen.page.reload()
    return {"state": chosen.page.state, "detail": chosen.page.detail}


@console.post("/accounts/{index}/front")
async def bring_to_front(index: int, request: Request) -> dict[str, Any]:
    chosen = account(request.app, index)
    target = chosen.page.live_target()
    if target is None:
        raise BridgeError("the arena page is not open right now; reload it", code="browser_starting")
    with browser_errors():
        await bring_page_to_front(target[1])
    return {"state": chosen.page.state}
