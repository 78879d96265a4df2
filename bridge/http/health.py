"""The bridge's health, as `/health` and the console report it."""

from __future__ import annotations

from typing import Any

from browser.driver import READY


async def health_report(app: Any) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 200 `{"status": "ok", ...}` when the page is ready, else 503 with the reason."""
    page = app.state.page
    limiter = app.state.chat.limiter
    state = page.state
    if state == READY:
        state = await page.assess()
    body = {
        "status": "ok" if state == READY else state,
        "reason": None if state == READY else state,
        "detail": page.detail,
        "arena_url": page.url,
        "browser_mode": page.mode,
        "models": len(app.state.models.all()),
        "protocol": app.state.config.current().protocol,
        "requests": {"active": limiter.active, "waiting": limiter.waiting},
    }
    return (200 if state == READY else 503), body
