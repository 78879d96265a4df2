"""The bridge's health, as `/health` and the console report it."""

from __future__ import annotations

from typing import Any

from browser.driver import READY


async def health_report(app: Any) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 200 `{"status": "ok", ...}` while at least one account is ready, else 503
    with the first account's reason; `accounts` lists each account (profile) with its state and
    cooldown (bridge.accounts)."""
    accounts = app.state.accounts
    limiter = app.state.chat.limiter
    for account in accounts.accounts:
        if account.page.state == READY:
            await account.page.assess()
    ready = accounts.ready()
    shown = ready[0] if ready else accounts.first
    state = shown.state
    body = {
        "status": "ok" if ready else state,
        "reason": None if ready else state,
        "detail": shown.describe()["detail"],
        "arena_url": shown.page.url,
        "browser_mode": shown.page.mode,
        "models": len(app.state.models.all()),
        "protocol": app.state.config.current().protocol,
        "requests": {"active": limiter.active, "waiting": limiter.waiting},
        "accounts": accounts.describe(),
    }
    return (200 if ready else 503), body
