"""`/internal/*`: what the CLI asks a running bridge to do in its page.

    POST /internal/capture         {"timeout": s} -> {"session_id", "message_id"}, 408 on timeout
    POST /internal/models/refresh  -> {"models": <count>, "added": [names]}
    POST /internal/doctor          -> {"page": browser.facts.PageFacts, "accounts": [...as /health]}
    POST /internal/accounts/resume -> {"resumed": [profile paths]}: end every cooldown now

For the CLI only: loopback clients that did not come through a proxy, and the API key
when one is set (checked by bridge.http.guards before the body is read). The server reports what it captured; the CLI writes the files.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from browser.facts import page_facts

from ..errors import BridgeError, CaptureTimeout, NotLoopback, browser_errors
from ..model_list import ModelFileError
from .disconnect import unless_disconnected

PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
DEFAULT_CAPTURE_TIMEOUT = 300.0


def require_loopback(request: Request) -> None:
    """Only a client on this machine, talking to the bridge directly."""
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback or any(name in request.headers for name in PROXY_HEADERS):
        raise NotLoopback(
            "/internal/* is for the lmarena-bridge CLI on the bridge's own machine: "
            "call it from 127.0.0.1, not from another host or through a proxy"
        )


internal = APIRouter(prefix="/internal", dependencies=[Depends(require_loopback)])


class CaptureRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    timeout: float = Field(DEFAULT_CAPTURE_TIMEOUT, gt=0, le=86_400)


@internal.post("/capture")
async def capture(request: Request, body: CaptureRequest | None = None) -> dict[str, Any]:
    """Arm capture in the server's page; answer once the user clicks Retry there."""
    timeout = body.timeout if body is not None else DEFAULT_CAPTURE_TIMEOUT
    with browser_errors():
        ids = await unless_disconnected(request, request.app.state.accounts.first_ready().page.capture_retry(timeout))
    if ids is None:
        raise CaptureTimeout(
            f"no Retry was clicked in the bridge's arena page within {timeout:g} s; run `lmarena-bridge capture` "
            "again and click Retry on the target model's answer (start the bridge with --headed to see its page)"
        )
    session_id, message_id = ids
    return {"session_id": session_id, "message_id": message_id}


@internal.post("/models/refresh")
async def refresh_models(request: Request) -> dict[str, Any]:
    """Read the model list from the server's page into its model files: `{"models": n, "added": [names]}`."""
    settings = request.app.state.config.current()
    try:
        with browser_errors():
            result = await request.app.state.model_updater.refresh(settings)
    except ModelFileError as exc:
        raise BridgeError(str(exc), code="invalid_models_file") from exc
    return {"models": result.models, "added": result.added}


@internal.post("/doctor")
async def doctor(request: Request) -> dict[str, Any]:
    """The facts `lmarena-bridge doctor` checks, from the first ready account's page."""
    accounts = request.app.state.accounts
    facts = await page_facts(accounts.first_ready().page)
    return {"page": facts.to_json(), "accounts": accounts.describe()}


@internal.post("/accounts/resume")
async def resume_accounts(request: Request) -> dict[str, Any]:
    """End every account's cooldown now: for a person who checked the account in its page."""
    return {"resumed": request.app.state.accounts.first.store.clear()}
