"""The page <-> Python channel over the page's own DevTools session.

Page -> Python: page.js batches its reports and calls the `__lmbReport` binding
(CDP `Runtime.addBinding`) with one JSON string; the call is one-way, with no
reply to wait for. Python -> page: `Runtime.evaluate` of a one-line call.
Both are cheaper than Playwright's `expose_binding` / `evaluate`, and the
answer stream runs through them once per chunk.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from playwright.async_api import BrowserContext, CDPSession, Page
from playwright.async_api import Error as PlaywrightError

from .errors import PageGone

log = logging.getLogger(__name__)

BINDING = "__lmbReport"
CALL_TIMEOUT = 15.0  # one round trip to a page that should answer at once
Report = Callable[[str, str, Any], None]


class PageChannel:
    def __init__(self, session: CDPSession, on_report: Report) -> None:
        self._session = session
        self._on_report = on_report
        session.on("Runtime.bindingCalled", self._on_binding)

    @classmethod
    async def open(cls, context: BrowserContext, page: Page, on_report: Report) -> PageChannel:
        """Install the binding on `page` (it survives reloads) before it navigates."""
        session = await context.new_cdp_session(page)
        channel = cls(session, on_report)
        await session.send("Runtime.enable")
        await session.send("Runtime.addBinding", {"name": BINDING})
        return channel

    def _on_binding(self, params: dict[str, Any]) -> None:
        if params.get("name") != BINDING:
            return
        try:
            batch = json.loads(params["payload"])
        except (KeyError, ValueError):
            log.debug("unreadable report from the page: %.200r", params.get("payload"))
            return
        if not isinstance(batch, list):
            return
        for item in batch:  # the page's own scripts could call the binding too: take only our shape
            if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and isinstance(item[1], str):
                self._on_report(*item)

    async def call(
        self, function: str, *args: Any, timeout: float = CALL_TIMEOUT, await_promise: bool = False
    ) -> Any:
        """Call `window.__lmb.<function>(...args)` in the page; PageGone if it cannot.

        `await_promise`: the function is async; its promise's value is the result.
        """
        expression = f"window.__lmb && window.__lmb.{function}(...{json.dumps(args)})"
        params = {"expression": expression, "returnByValue": True, "awaitPromise": await_promise}
        try:
            async with asyncio.timeout(timeout):
                result = await self._session.send("Runtime.evaluate", params)
        except PlaywrightError as exc:
            raise PageGone(f"the arena page is not answering: {exc.message.splitlines()[0]}") from exc
        except TimeoutError as exc:
            raise PageGone(f"the arena page did not answer within {timeout:g} s") from exc
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise PageGone(f"the page script failed: {details.get('exception', {}).get('description', details)}")
        return result.get("result", {}).get("value")

    async def detach(self) -> None:
        try:
            await self._session.detach()
        except PlaywrightError:
            pass
