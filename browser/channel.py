"""The page <-> Python channel over the page's own DevTools session, in an isolated world.

page.js runs in an isolated world (`WORLD`) of the arena page's main frame: CDP
`Page.addScriptToEvaluateOnNewDocument` with `worldName`. That world shares the
page's DOM, origin and cookies (its fetches leave from the page, same-origin), but
not its JavaScript globals: the page's own scripts see no `__lmb`, no binding and
their own, untouched `window.fetch`.

Page -> Python: page.js batches its reports and calls the `__lmbReport` binding
(CDP `Runtime.addBinding` with `executionContextName`, so it exists only in that
world) with one JSON string; one-way, no reply. Python -> page: `Runtime.evaluate`
in the world's execution context, whose id `Runtime.executionContextCreated` tells.
`evaluate_in_main_world` is for what only the page's own world has (its `grecaptcha`):
one expression, no globals left behind.
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
WORLD = "lmarena-bridge"
CALL_TIMEOUT = 15.0  # one round trip to a page that should answer at once
Report = Callable[[str, str, Any], None]


class PageChannel:
    def __init__(self, session: CDPSession, on_report: Report) -> None:
        self._session = session
        self._on_report = on_report
        self._frame_id: str | None = None
        self._world: int | None = None
        session.on("Runtime.bindingCalled", self._on_binding)
        session.on("Runtime.executionContextCreated", self._on_context_created)
        session.on("Runtime.executionContextDestroyed", self._on_context_destroyed)
        session.on("Runtime.executionContextsCleared", self._on_contexts_cleared)

    @classmethod
    async def open(cls, context: BrowserContext, page: Page, on_report: Report, script: str) -> PageChannel:
        """Install `script` in the isolated world of every document of `page`, and the binding."""
        session = await context.new_cdp_session(page)
        channel = cls(session, on_report)
        tree = await session.send("Page.getFrameTree")
        channel._frame_id = tree["frameTree"]["frame"]["id"]
        await session.send("Page.enable")
        await session.send("Runtime.addBinding", {"name": BINDING, "executionContextName": WORLD})
        await session.send(
            "Page.addScriptToEvaluateOnNewDocument", {"source": script, "worldName": WORLD, "runImmediately": True}
        )
        await session.send("Runtime.enable")
        return channel

    @property
    def ready(self) -> bool:
        """True while the main frame's isolated world (with page.js) exists."""
        return self._world is not None

    def _on_context_created(self, params: dict[str, Any]) -> None:
        context = params.get("context", {})
        aux = context.get("auxData", {})
        if context.get("name") == WORLD and aux.get("frameId") == self._frame_id:
            self._world = context["id"]

    def _on_context_destroyed(self, params: dict[str, Any]) -> None:
        if params.get("executionContextId") == self._world:
            self._world = None

    def _on_contexts_cleared(self, _: Any) -> None:
        self._world = None

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
        for item in batch:
            if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and isinstance(item[1], str):
                self._on_report(*item)

    async def call(self, function: str, *args: Any, timeout: float = CALL_TIMEOUT, wait: bool = False) -> Any:
        """`__lmb.<function>(...args)` in the isolated world; None while page.js is not there.

        With `wait`, a returned promise is awaited. PageGone if the page cannot answer.
        """
        if self._world is None:
            return None
        expression = f"globalThis.__lmb && __lmb.{function}(...{json.dumps(args)})"
        return await self._evaluate({"expression": expression, "contextId": self._world, "awaitPromise": wait}, timeout)

    async def evaluate_in_main_world(self, expression: str, *, timeout: float = CALL_TIMEOUT) -> Any:
        """Evaluate `expression` (a promise is awaited) in the page's own world; its value."""
        return await self._evaluate({"expression": expression, "awaitPromise": True, "silent": True}, timeout)

    async def _evaluate(self, params: dict[str, Any], timeout: float) -> Any:
        try:
            async with asyncio.timeout(timeout):
                result = await self._session.send("Runtime.evaluate", {**params, "returnByValue": True})
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
