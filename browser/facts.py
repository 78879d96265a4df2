"""What `lmarena-bridge doctor` needs to know about an arena page, read from the page itself.

    await page_facts(page) -> PageFacts (JSON-able with .to_json())

Read-only: a title, the cookie names, `navigator.webdriver` and `navigator.userAgent` (read in the
page's main world, leaving nothing behind), the reCAPTCHA site key (protocol.md §2: the
`enterprise.js?render=KEY` script URL, arena.RECAPTCHA_SITE_KEY_RE) and the model list
(protocol.md "Models", via `ArenaPage.read_models`). Nothing is sent to the arena's API.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from typing import Any

from playwright.async_api import Error as PlaywrightError

from . import arena
from .driver import ArenaPage
from .errors import BrowserError

log = logging.getLogger(__name__)

FACTS_TIMEOUT = 30.0
BOT_SIGNALS_JS = "() => ({ webdriver: navigator.webdriver === true, userAgent: navigator.userAgent })"


@dataclass(frozen=True, slots=True)
class PageFacts:
    url: str
    state: str  # the ArenaPage state: ready, browser_starting, cloudflare_challenge, logged_out, ...
    detail: str
    loaded: bool  # the arena page opened at all
    challenge: bool
    logged_in: bool
    webdriver: bool | None
    user_agent: str
    site_key: str | None
    models: int
    first_model: dict[str, Any] | None  # {"name", "id", "image"} of the first model offered

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def page_facts(page: ArenaPage) -> PageFacts:
    """The facts of `page` as it is now (it is assessed first)."""
    await page.assess()
    raw = page._page  # the Playwright page behind the ArenaPage; read-only use
    empty = PageFacts(page.url, page.state, page.detail, False, False, False, None, "", None, 0, None)
    if raw is None or raw.is_closed() or not raw.url.startswith(("http://", "https://")):
        return empty  # never opened, or Chromium's own error page (chrome-error://)
    try:
        async with asyncio.timeout(FACTS_TIMEOUT):
            title = await raw.title()
            names = [c["name"] for c in await raw.context.cookies(raw.url)]
            signals = await raw.evaluate(BOT_SIGNALS_JS)
            html = await raw.content()
    except (PlaywrightError, TimeoutError) as exc:
        log.debug("could not read the arena page: %s", exc)
        return empty
    challenge = arena.is_challenge_title(title) or any(marker in html for marker in arena.CHALLENGE_MARKERS)
    key = arena.RECAPTCHA_SITE_KEY_RE.search(html)
    models: list[dict[str, Any]] = []
    if not challenge:
        try:
            models = await page.read_models(fresh=False)
        except BrowserError as exc:
            log.debug("could not read the model list: %s", exc)
    text = [m for m in models if not arena.is_image_model(m) and m.get("publicName")]
    first = text[0] if text else None
    return PageFacts(
        url=raw.url,
        state=page.state,
        detail=page.detail,
        loaded=True,
        challenge=challenge,
        logged_in=arena.has_auth_cookie(names),
        webdriver=bool(signals.get("webdriver")),
        user_agent=str(signals.get("userAgent", "")),
        site_key=key.group(1) if key else None,
        models=len(models),
        first_model={"name": first["publicName"], "id": first["id"]} if first else None,
    )
