"""The arena page: one persistent Chromium page that runs every arena fetch.

`ArenaPage.start()` launches the browser (in its browser mode), opens the arena,
injects `page.js` into an isolated world and watches the page's health.
`ArenaPage.stream(request)` runs one fetch in the page and yields parsed stream
events; many run at once on one page. Page -> Python traffic is a single binding,
`__lmbReport(id, kind, payload)`, that only the isolated world has (channel.py).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import replace
from importlib import resources
from typing import Any
from urllib.parse import urljoin, urlsplit

from playwright.async_api import BrowserContext, Page, Playwright, Request, Response, async_playwright
from playwright.async_api import Error as PlaywrightError

from . import arena
from .capture import OwnRequests, RetryCapture
from .channel import CALL_TIMEOUT, PageChannel
from .errors import BrowserError, FailureKind, PageGone, PageNotReady, UploadFailed
from .launcher import Launched, LaunchOptions, launch
from .recaptcha import with_fresh_token
from .reports import download, expect_report, next_report, read_body
from .stream import Event, Finish, StreamParser

log = logging.getLogger(__name__)

STARTING, READY, CHALLENGE, LOGGED_OUT, CRASHED, UNREACHABLE = (
    "browser_starting",
    "ready",
    "cloudflare_challenge",
    "logged_out",
    "browser_crashed",
    "arena_unreachable",
)
NOT_READY_MESSAGES = {
    STARTING: "the browser is still starting; retry in a few seconds",
    CHALLENGE: "the arena shows a Cloudflare challenge; the bridge is reloading the page "
    "(if it persists, run `lmarena-bridge serve --headed` and pass it by hand)",
    CRASHED: "the browser crashed; the bridge is reopening it",
}
RELOADING_STATES = (CHALLENGE, STARTING, UNREACHABLE)
WATCH_INTERVAL = 2.0
START_RETRY_FIRST, START_RETRY_MAX = 5.0, 60.0
CHALLENGE_RELOAD_EVERY = 15.0
PERSON_HOLD = 90.0  # seconds a person's input (the console's live view) keeps the page theirs
NAVIGATION_TIMEOUT_MS = 60_000


class ArenaPage:
    def __init__(self, url: str, options: LaunchOptions, *, idle_reload_after: float | None = None) -> None:
        self.url = url
        self.options = options
        self.idle_reload_after = idle_reload_after
        self.state = STARTING
        self.detail = "starting"
        self.last_activity = time.monotonic()
        self._browser_gone = False
        self._playwright: Playwright | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._channel: PageChannel | None = None
        self._streams: dict[str, asyncio.Queue[tuple[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False
        self._capture = RetryCapture()
        self._own = OwnRequests()
        self._launched: Launched | None = None
        self.mode = options.mode  # headless | virtual_display | headed (modes.py)
        self._person_until = 0.0  # time.monotonic() until which a person is at the page
        self._actions: dict[str, str] | None = None  # server-action ids by name, read from the page
        self._followed_old_host = False

    # -- life cycle -------------------------------------------------------

    async def start_until_up(self) -> None:
        """start(), retried with a growing pause while it fails; the state says why meanwhile."""
        pause = START_RETRY_FIRST
        while True:
            try:
                await self.start()
                return
            except BrowserError as exc:
                why = str(exc)
            except Exception as exc:  # a bug or an OS error: say it, keep trying
                log.exception("starting the browser failed")
                why = f"{type(exc).__name__}: {exc}"
            self._set_state(CRASHED, f"the browser did not start ({why}); retrying in {pause:.0f} s")
            await asyncio.sleep(pause)
            pause = min(pause * 2, START_RETRY_MAX)

    async def start(self) -> None:
        """Launch the browser and open the arena; raises BrowserError if it cannot."""
        self._closing = False
        self._playwright = await async_playwright().start()
        try:
            await self._launch()
        except BaseException:
            await self.close()
            raise
        self._watcher = asyncio.create_task(self._watch(), name="arena-page-watch")

    async def _launch(self) -> None:
        assert self._playwright is not None
        self._launched = await launch(self._playwright, self.options)
        self._context = self._launched.context
        self.mode = self._launched.mode
        self._browser_gone = False
        self._context.on("close", lambda _: self._on_browser_closed())
        await self._open_page()

    async def _open_page(self) -> None:
        assert self._context is not None
        if self._page is not None and not self._page.is_closed():
            await self._page.close()
        pages = [p for p in self._context.pages if p is not self._page]
        page = pages[0] if pages else await self._context.new_page()
        if self._channel is not None:
            await self._channel.detach()
        if self._launched is not None:
            await self._launched.prepare(page)
        script = resources.files(__package__).joinpath("page.js").read_text("utf-8")
        self._channel = await PageChannel.open(self._context, page, self._on_report, script)
        self._watch_events(page)
        self._page = page
        await self._navigate(page)

    def _watch_events(self, page: Page) -> None:
        """Page events that change the state, for as long as `page` is the current one."""

        def on_request(request: Request) -> None:
            if page is self._page:
                self._on_page_request(request)

        def on_lost(why: str) -> Callable[[Page], None]:
            return lambda p: self._lost(why) if p is self._page else None

        def on_reload(p: Page) -> None:
            if p is self._page:
                self._fail_streams(PageGone("the arena page reloaded"))

        def on_load(p: Page) -> None:
            # A challenge page that clears itself reloads the page: look again at once, not at the next watch.
            if p is self._page and self.state != READY:
                self._spawn(self.assess())

        page.on("request", on_request)
        page.on("crash", on_lost("the page crashed"))
        page.on("close", on_lost("the page was closed"))
        page.on("domcontentloaded", on_reload)
        page.on("load", on_load)

    async def _navigate(self, page: Page) -> None:
        self._set_state(STARTING, f"opening {self.url}")
        try:
            response = await page.goto(self.url, wait_until="domcontentloaded", timeout=NAVIGATION_TIMEOUT_MS)
            if response is not None and not self._followed_old_host:
                await self._follow_moved_host(response)
        except PlaywrightError as exc:
            first_line = exc.message.splitlines()[0]
            network = arena.unreachable_reason(exc.message)
            self._set_state(UNREACHABLE if network else STARTING, f"could not open {self.url}: {first_line}")
            return
        await self.assess()

    async def _follow_moved_host(self, response: Response) -> None:
        """arena_url answered a permanent redirect to another host (lmarena.ai -> arena.ai): use the
        new host from now on, once (writes through the redirect would arrive as GETs: 405)."""
        first = response.request
        while first.redirected_from is not None:
            first = first.redirected_from
        if first is response.request:
            return
        moved_from = await first.response()
        old, new = urlsplit(self.url), urlsplit(response.url)
        if moved_from is None or moved_from.status not in arena.MOVED_STATUSES or old.netloc == new.netloc:
            return
        self._followed_old_host = True
        moved = f"{new.scheme}://{new.netloc}"
        log.warning(
            "arena_url %s redirects to %s: the bridge uses %s from now on (set arena_url to it in config.jsonc; "
            "writes through the redirect would fail with 405)",
            self.url,
            moved,
            moved,
        )
        self.url = moved + (old.path if old.path not in ("", "/") else "")

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
        self._context = self._page = self._playwright = self._launched = None

    def live_target(self) -> tuple[BrowserContext, Page] | None:
        """The context and page a person watches and drives (the console's live view); None while down."""
        if self._context is None or self._page is None or self._page.is_closed():
            return None
        return self._context, self._page

    # -- health -------------------------------------------------------------

    def _set_state(self, state: str, detail: str) -> None:
        if (state, detail) != (self.state, self.detail):
            log.info("arena page: %s (%s)", state, detail)
        self.state, self.detail = state, detail

    async def assess(self) -> str:
        """Look at the page and set the state: challenge, logged out or ready."""
        page = self._page
        if page is None or page.is_closed() or self.state == UNREACHABLE:
            return self.state
        try:
            async with asyncio.timeout(CALL_TIMEOUT):
                title = await page.title()
                injected = self._channel is not None and await self._channel.call("ready") is True
                names = [c["name"] for c in await page.context.cookies(page.url)]
        except PlaywrightError as exc:
            self._set_state(STARTING, f"page not answering: {exc.message.splitlines()[0]}")
            return self.state
        except TimeoutError:
            self._set_state(STARTING, f"page not answering within {CALL_TIMEOUT:g} s")
            return self.state
        except BrowserError as exc:
            self._set_state(STARTING, f"page not answering: {exc}")
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
        """Keep the page usable: reopen after crashes, reload challenged or idle pages."""
        since_reload = 0.0
        while not self._closing:
            await asyncio.sleep(WATCH_INTERVAL)
            try:
                if self.state == READY:
                    since_reload = 0.0
                    await self._reload_if_idle()
                elif self.state == CRASHED:
                    await self._recover()
                else:
                    await self.assess()
                    since_reload += WATCH_INTERVAL
                    due = since_reload >= CHALLENGE_RELOAD_EVERY and not self.person_present
                    if self.state in RELOADING_STATES and due:
                        since_reload = 0.0
                        await self.reload()
            except (PlaywrightError, BrowserError) as exc:
                log.warning("arena page watch: %s", str(exc).splitlines()[0])
            except Exception:  # never let recovery stop for good
                log.exception("arena page watch failed; it keeps watching")

    async def reload(self) -> None:
        if self._page is not None and not self._page.is_closed():
            await self._navigate(self._page)

    async def _reload_if_idle(self) -> None:
        """The seed's idle restart, as a page reload that waits for in-flight requests."""
        if self.idle_reload_after is None or self._streams:
            return
        if time.monotonic() - self.last_activity >= self.idle_reload_after:
            log.info("reloading the arena page after %.0f s without requests", self.idle_reload_after)
            self.last_activity = time.monotonic()
            await self.reload()

    async def _recover(self) -> None:
        """Reopen the page, or relaunch the whole browser if its process died."""
        if self._browser_gone or self._context is None:
            log.warning("relaunching the browser on %s", self.options.profile_dir)
            self._context = None
            await self._launch()
        else:
            log.warning("reopening the arena page")
            await self._open_page()

    def _on_browser_closed(self) -> None:
        self._browser_gone = True
        self._lost("the browser process exited")

    def _lost(self, why: str) -> None:
        if self._closing:
            return
        self._set_state(CRASHED, why)
        self._fail_streams(PageGone(why))
        self._capture.fail(PageGone(why))

    def note_challenge(self) -> None:
        """An arena call met a Cloudflare challenge: reload the page and watch it."""
        if self.state == READY:
            self._set_state(CHALLENGE, "an arena call met a Cloudflare challenge")
            self._spawn(self.reload())

    # -- requests -------------------------------------------------------------

    def _on_page_request(self, request: Request) -> None:
        """Every request the page sends: the page's own Retry goes to the capture."""
        if not arena.RETRY_URL_RE.search(request.url) or self._own.claim(request.method, request.url):
            return
        self._capture.report(request.url)

    def _on_report(self, request_id: str, kind: str, payload: Any) -> None:
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

    def _not_ready(self) -> PageNotReady:
        message = NOT_READY_MESSAGES.get(self.state, self.detail)
        if self.state == CRASHED and self.detail:
            message = f"{message}: {self.detail}"
        return PageNotReady(self.state, message)

    def _ready_page(self) -> Page:
        if self.state not in (READY, LOGGED_OUT) or self._page is None:
            raise self._not_ready()
        return self._page

    async def stream(self, request: arena.ArenaRequest, *, timeout: float) -> AsyncGenerator[Event, None]:
        """Run `request` in the page; yield its events. Closing the iterator aborts the fetch
        (and, for the create protocol, presses the site's Stop for the answer).

        Attachments are uploaded with the site's server actions, read from the page's scripts;
        when the site no longer knows those ids (a new deploy) they are read again, once.
        """
        for attempt in range(2):
            actions = await self.server_actions(refresh=attempt > 0) if request.uploads else None
            started = False
            inner = self._stream_once(request, actions, timeout=timeout)
            async with aclosing(inner):
                try:
                    async for event in inner:
                        started = True
                        yield event
                    return
                except UploadFailed as exc:
                    if started or not exc.action_unknown or attempt:
                        raise
                    log.info("the arena's server actions changed (%s); reading them from the page again", exc)

    async def server_actions(self, *, refresh: bool = False) -> dict[str, str]:
        """The upload flow's server-action ids by name, discovered in the page's scripts (cached)."""
        if self._actions is None or refresh:
            self._ready_page()
            channel = self._channel
            assert channel is not None
            found = await channel.call("discoverActions", arena.SERVER_ACTION_RE.pattern, wait=True)
            actions = {k: v for k, v in (found or {}).items() if k in arena.UPLOAD_ACTIONS}
            log.info("server actions found in the arena page: %s", actions or "none")
            self._actions = actions
        return self._actions

    def person_at_hand(self) -> None:
        """A person is using the page (the console's live view): for PERSON_HOLD s the watcher does
        not reload a challenge under their hands, and a v2 image challenge waits for them."""
        self._person_until = time.monotonic() + PERSON_HOLD

    def person_gone(self) -> None:
        """The last person watching left: the page is the bridge's again."""
        self._person_until = 0.0

    @property
    def person_present(self) -> bool:
        return self.mode == "headed" or time.monotonic() < self._person_until

    def _with_person_time(self, request: arena.ArenaRequest) -> arena.ArenaRequest:
        spec = request.recaptcha
        if spec is not None and spec.version == 2 and self.person_present:
            # a person at the window or in the live view can solve an image challenge: give them time
            headed = replace(spec, challenge_wait_ms=arena.RECAPTCHA_V2_CHALLENGE_WAIT_HEADED_MS)
            request = replace(request, recaptcha=headed)
        return request

    async def _stream_once(
        self, request: arena.ArenaRequest, actions: dict[str, str] | None, *, timeout: float
    ) -> AsyncGenerator[Event, None]:
        self._ready_page()
        channel = self._channel
        assert channel is not None
        request_id = f"r{next(self._ids)}"
        self.last_activity = time.monotonic()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._streams[request_id] = queue
        finished = False
        answering = False
        try:
            request = await with_fresh_token(channel, self._with_person_time(request))
            if arena.RETRY_URL_RE.search(request.path):  # not the user's Retry, for the capture
                self._own.note(request.method, request.path)
            if not await channel.call("start", request_id, request.to_page(actions)):
                self._spawn(self.reload())
                raise PageGone("the bridge's page script is missing from the arena page; it is reloading the page")
            head = await expect_report(queue, timeout, "head")
            status, headers = int(head["status"]), head.get("headers") or {}
            if not 200 <= status < 300:
                finished = True
                failure = arena.classify_failure(status, headers, await read_body(queue, timeout))
                if failure.kind is FailureKind.CHALLENGE:
                    self.note_challenge()
                raise failure
            answering = True
            parser = StreamParser()
            while True:
                kind, payload = await next_report(queue, timeout)
                if kind == "done":
                    finished = True
                    parser.log_unknown()
                    citations = parser.citations()
                    if citations.sources:
                        yield citations
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
                self._spawn(self._abort(channel, request_id, request.stop_path if answering else None))

    async def _abort(self, channel: PageChannel, request_id: str, stop_path: str | None = None) -> None:
        try:
            await channel.call("abort", request_id)
            if stop_path is not None:
                log.debug("stopping the answer upstream: POST %s", stop_path)
                await channel.call("stop", stop_path, dict(arena.REQUEST_HEADERS))
        except PageGone:
            log.debug("abort of %s: page already gone", request_id)

    async def content(self) -> str:
        """The page's current HTML (for the embedded model list)."""
        page = self._ready_page()
        try:
            return await page.content()
        except PlaywrightError as exc:
            raise PageGone(f"the arena page is not answering: {exc.message.splitlines()[0]}") from exc

    async def read_models(self, *, fresh: bool = True) -> list[dict[str, Any]]:
        """The arena's model objects, from a fresh copy of the page fetched inside it.

        Fetching keeps the list current without reloading the page (which would cut the
        requests in flight); without `fresh`, or when that fails, the loaded document is read.
        """
        page = self._ready_page()
        if not fresh:
            return arena.extract_models(await self.content()) or await self._models_from_rsc(page)
        try:
            assert self._channel is not None
            copy = await self._channel.call("fetchText", page.url, timeout=NAVIGATION_TIMEOUT_MS / 1000, wait=True)
        except BrowserError as exc:
            log.debug("could not fetch a fresh copy of the arena page: %s", exc)
            copy = None
        if copy and 200 <= copy["status"] < 300:
            models = arena.extract_models(copy["text"])
        else:
            models = arena.extract_models(await self.content())
        return models or await self._models_from_rsc(page)

    async def _models_from_rsc(self, page: Page) -> list[dict[str, Any]]:
        """The model list from the RSC reply of the chat page (fetched with `RSC: 1`), when the page has none."""
        channel = self._channel
        assert channel is not None
        url = urljoin(page.url, arena.MODELS_RSC_PATH)
        try:
            reply = await channel.call(
                "fetchText", url, dict(arena.RSC_HEADERS), timeout=NAVIGATION_TIMEOUT_MS / 1000, wait=True
            )
        except BrowserError as exc:
            log.debug("could not fetch the model list's RSC reply: %s", exc)
            return []
        if not reply:
            return []
        if not 200 <= reply["status"] < 300:
            log.debug("the model list's RSC reply answered HTTP %s", reply["status"])
            return []
        models = arena.extract_models_from_rsc(reply["text"])
        log.info(
            "the arena page has no model list; read %d models from the RSC reply of %s",
            len(models),
            arena.MODELS_RSC_PATH,
        )
        return models

    async def capture_retry(self, timeout: float) -> tuple[str, str] | None:
        """Arm capture; the (session_id, message_id) of the user's next Retry in the page.

        None after `timeout` seconds without one; PageGone if the page goes away meanwhile.
        Only the page's own requests count, never the bridge's (see capture.py).
        """
        if self._context is None:
            raise self._not_ready()
        return await self._capture.wait(timeout)

    async def download(self, url: str, *, timeout: float) -> bytes:
        """GET `url` (relative to the page) with the browser context's cookies; the body's bytes."""
        if self._context is None:
            raise self._not_ready()
        base = self._page.url if self._page is not None else self.url
        headers = self._launched.download_headers() if self._launched is not None else {}
        return await download(self._context, urljoin(base, url), timeout=timeout, headers=headers)
