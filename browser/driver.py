"""The arena page: one persistent Chromium page that runs every arena fetch.

`ArenaPage.start()` launches the browser, opens the arena, injects `page.js`
and watches the page's health. `ArenaPage.stream(request)` runs one fetch in
the page and yields parsed stream events; many run at once on one page.
Page -> Python traffic is a single binding, `__lmbReport(id, kind, payload)`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from playwright.async_api import BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from . import arena
from .errors import BrowserError, FailureKind, FetchFailed, PageGone, PageNotReady, StreamTimeout
from .launcher import LaunchOptions, launch_context
from .stream import Event, Finish, StreamParser

log = logging.getLogger(__name__)

BINDING = "__lmbReport"
STARTING, READY, CHALLENGE, LOGGED_OUT, CRASHED = (
    "browser_starting",
    "ready",
    "cloudflare_challenge",
    "logged_out",
    "browser_crashed",
)
NOT_READY_MESSAGES = {
    STARTING: "the browser is still starting; retry in a few seconds",
    CHALLENGE: "the arena shows a Cloudflare challenge; the bridge is reloading the page "
    "(if it persists, run `lmarena-bridge serve --headed` and pass it by hand)",
    CRASHED: "the browser crashed; the bridge is reopening it",
}
WATCH_INTERVAL = 2.0
CHALLENGE_RELOAD_EVERY = 15.0
NAVIGATION_TIMEOUT_MS = 60_000


class ArenaPage:
    def __init__(self, url: str, options: LaunchOptions) -> None:
        self.url = url
        self.options = options
        self.state = STARTING
        self.detail = "starting"
        self._playwright: Playwright | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._streams: dict[str, asyncio.Queue[tuple[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False

    # -- life cycle -------------------------------------------------------

    async def start(self) -> None:
        """Launch the browser and open the arena; raises BrowserError if it cannot."""
        self._playwright = await async_playwright().start()
        try:
            self._context = await launch_context(self._playwright, self.options)
            await self._context.expose_binding(BINDING, self._on_report)
            script = resources.files(__package__).joinpath("page.js").read_text("utf-8")
            await self._context.add_init_script(script=script)
            await self._open_page()
        except BaseException:
            await self.close()
            raise
        self._watcher = asyncio.create_task(self._watch(), name="arena-page-watch")

    async def _open_page(self) -> None:
        assert self._context is not None
        pages = self._context.pages
        page = pages[0] if pages else await self._context.new_page()
        page.on("crash", lambda _: self._lost("the page crashed"))
        page.on("close", lambda _: self._lost("the page was closed"))
        page.on("domcontentloaded", lambda _: self._fail_streams(PageGone("the arena page reloaded")))
        self._page = page
        await self._navigate(page)

    async def _navigate(self, page: Page) -> None:
        self._set_state(STARTING, f"opening {self.url}")
        try:
            await page.goto(self.url, wait_until="domcontentloaded", timeout=NAVIGATION_TIMEOUT_MS)
        except PlaywrightError as exc:
            self._set_state(STARTING, f"could not open {self.url}: {exc.message.splitlines()[0]}")
            return
        await self.assess()

    async def close(self) -> None:
        self._closing = True
        self._fail_streams(PageGone("the bridge is shutting down"))
        for task in [self._watcher, *self._tasks]:
            if task is not None:
                task.cancel()
        if self._context is not None:
            try:
                await self._context.close()
            except PlaywrightError:
                log.debug("browser context was already gone")
        if self._playwright is not None:
            await self._playwright.stop()
        self._context = self._page = self._playwright = None

    # -- health -------------------------------------------------------------

    def _set_state(self, state: str, detail: str) -> None:
        if (state, detail) != (self.state, self.detail):
            log.info("arena page: %s (%s)", state, detail)
        self.state, self.detail = state, detail

    async def assess(self) -> str:
        """Look at the page and set the state: challenge, logged out or ready."""
        page = self._page
        if page is None or page.is_closed():
            return self.state
        try:
            title = await page.title()
            injected = await page.evaluate("() => Boolean(window.__lmb)")
            names = [c["name"] for c in await page.context.cookies(page.url)]
        except PlaywrightError as exc:
            self._set_state(STARTING, f"page not answering: {exc.message.splitlines()[0]}")
            return self.state
        if arena.is_challenge_title(title):
            self._set_state(CHALLENGE, "Cloudflare challenge page")
        elif not injected:
            self._set_state(STARTING, "page script not injected yet")
        elif not arena.has_auth_cookie(names):
            self._set_state(LOGGED_OUT, "no arena auth cookie: run `lmarena-bridge login`")
        else:
            self._set_state(READY, f"ready on {page.url}")
        return self.state

    async def _watch(self) -> None:
        """Re-check a page that is not ready; reload a challenged one now and then."""
        since_reload = 0.0
        while not self._closing:
            await asyncio.sleep(WATCH_INTERVAL)
            if self.state == READY:
                since_reload = 0.0
                continue
            if self.state == CRASHED:
                await self._reopen()
                continue
            await self.assess()
            since_reload += WATCH_INTERVAL
            if self.state in (CHALLENGE, STARTING) and since_reload >= CHALLENGE_RELOAD_EVERY:
                since_reload = 0.0
                await self.reload()

    async def reload(self) -> None:
        if self._page is not None and not self._page.is_closed():
            await self._navigate(self._page)

    async def _reopen(self) -> None:
        if self._context is None:
            return
        try:
            await self._open_page()
        except PlaywrightError as exc:
            log.warning("could not reopen the arena page: %s", exc.message.splitlines()[0])

    def _lost(self, why: str) -> None:
        if self._closing:
            return
        self._set_state(CRASHED, why)
        self._fail_streams(PageGone(why))

    def note_challenge(self) -> None:
        """An arena call met a Cloudflare challenge: reload the page and watch it."""
        if self.state == READY:
            self._set_state(CHALLENGE, "an arena call met a Cloudflare challenge")
            self._spawn(self.reload())

    # -- requests -------------------------------------------------------------

    def _on_report(self, source: Any, request_id: str, kind: str, payload: Any) -> None:
        queue = self._streams.get(request_id)
        if queue is not None:
            queue.put_nowait((kind, payload))

    def _fail_streams(self, error: BrowserError) -> None:
        for queue in self._streams.values():
            queue.put_nowait(("gone", error))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _ready_page(self) -> Page:
        if self.state not in (READY, LOGGED_OUT) or self._page is None:
            raise PageNotReady(self.state, NOT_READY_MESSAGES.get(self.state, self.detail))
        return self._page

    async def stream(self, request: arena.ArenaRequest, *, timeout: float) -> AsyncIterator[Event]:
        """Run `request` in the page; yield its events. Closing the iterator aborts the fetch."""
        page = self._ready_page()
        request_id = f"r{next(self._ids)}"
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._streams[request_id] = queue
        finished = False
        try:
            try:
                await page.evaluate("([id, r]) => window.__lmb.start(id, r)", [request_id, request.to_page()])
            except PlaywrightError as exc:
                raise PageGone(f"the arena page is not answering: {exc.message.splitlines()[0]}") from exc
            head = await _expect(queue, timeout, "head")
            status, headers = int(head["status"]), head.get("headers") or {}
            if not 200 <= status < 300:
                finished = True
                failure = arena.classify_failure(status, headers, await _read_body(queue, timeout))
                if failure.kind is FailureKind.CHALLENGE:
                    self.note_challenge()
                raise failure
            parser = StreamParser()
            while True:
                kind, payload = await _next(queue, timeout)
                if kind == "done":
                    finished = True
                    return
                for line in payload:
                    for event in parser.feed(line):
                        yield event
                        if isinstance(event, Finish):
                            finished = True
                            return
        finally:
            self._streams.pop(request_id, None)
            if not finished and not self._closing:
                self._spawn(self._abort(page, request_id))

    async def _abort(self, page: Page, request_id: str) -> None:
        try:
            await page.evaluate("(id) => window.__lmb && window.__lmb.abort(id)", request_id)
        except PlaywrightError:
            log.debug("abort of %s: page already gone", request_id)

    async def content(self) -> str:
        """The page's current HTML (for the embedded model list)."""
        page = self._ready_page()
        try:
            return await page.content()
        except PlaywrightError as exc:
            raise PageGone(f"the arena page is not answering: {exc.message.splitlines()[0]}") from exc


async def _next(queue: asyncio.Queue[tuple[str, Any]], timeout: float) -> tuple[str, Any]:
    try:
        async with asyncio.timeout(timeout):
            kind, payload = await queue.get()
    except TimeoutError:
        raise StreamTimeout(timeout) from None
    if kind == "gone":
        raise payload
    if kind == "error":
        raise FetchFailed(f"the arena connection failed: {payload.get('message', payload)}")
    return kind, payload


async def _expect(queue: asyncio.Queue[tuple[str, Any]], timeout: float, wanted: str) -> Any:
    kind, payload = await _next(queue, timeout)
    if kind != wanted:
        raise FetchFailed(f"page script sent {kind!r} before {wanted!r}")
    return payload


async def _read_body(queue: asyncio.Queue[tuple[str, Any]], timeout: float) -> str:
    lines: list[str] = []
    while True:
        kind, payload = await _next(queue, timeout)
        if kind == "done":
            return "\n".join(lines)
        lines.extend(payload)
