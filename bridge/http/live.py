"""The console's live view: `/ui/ws/live?account=N`, one arena page's screen and input.

Server -> viewer: binary messages are JPEG frames; text messages are JSON
`{"type": "state", "state", "detail", "width", "height"}` (the page's CSS size).
Viewer -> server, JSON text messages:
    {"type": "mouse", "action": "move"|"down"|"up"|"click"|"wheel", "x", "y", "button", "buttons",
     "deltaX", "deltaY"}
    {"type": "key", "action": "keydown"|"keyup"|"char", "key", "code", "text"}
    {"type": "text", "text"}            # Input.insertText (paste)
x and y are fractions (0..1) of the frame; modifier flags alt/ctrl/meta/shift ride along.

One screencast runs per page while at least one viewer watches (`LiveHub`), at most
`MAX_FPS` frames a second; it stops when the last viewer leaves. After input the page's
state is re-assessed, so a login or a passed challenge shows as ready without a restart.
A bad message gets `{"type": "error", "message"}`; the socket stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from browser import ArenaPage
from browser.errors import BrowserError
from browser.screencast import FrameSize, RemoteView

from ..errors import BridgeError
from .console_accounts import account
from .console_auth import authorize

log = logging.getLogger(__name__)

MAX_FPS = 5.0
MAX_VIEWERS = 8
ASSESS_AFTER_INPUT = 1.0  # seconds of quiet after input before the page's state is re-read
STATE_EVERY = 1.0
MAX_MESSAGE = 64 * 1024
POLICY_VIOLATION = 1008

live = APIRouter()


class LiveHub:
    """The screencast of one arena page, shared by its viewers; each viewer holds only the newest frame."""

    def __init__(self, page: ArenaPage) -> None:
        self.page = page
        self.view: RemoteView | None = None
        self.last_frame: bytes | None = None
        self._viewers: set[asyncio.Queue[bytes]] = set()
        self._lock = asyncio.Lock()
        self._last_sent = 0.0
        self._assess: asyncio.Task[None] | None = None

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    @property
    def size(self) -> FrameSize:
        return self.view.size if self.view is not None else FrameSize(0, 0)

    async def join(self) -> asyncio.Queue[bytes]:
        """A new viewer's frame queue (with the last frame, if any); the screencast starts if needed."""
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)
        self.page.person_at_hand()
        async with self._lock:
            self._viewers.add(queue)
            if self.last_frame is not None:
                queue.put_nowait(self.last_frame)
        return queue

    async def leave(self, queue: asyncio.Queue[bytes]) -> None:
        async with self._lock:
            self._viewers.discard(queue)
            if not self._viewers:
                self.page.person_gone()
                await self._stop()

    async def follow(self) -> None:
        """Screencast the page the arena page shows now (it changes when the page is reopened)."""
        async with self._lock:
            target = self.page.live_target()
            if not self._viewers or (self.view is not None and target is not None and self.view.page is target[1]):
                return
            await self._stop()
            if target is None:
                return
            view = await RemoteView.open(*target)
            try:
                await view.start(self._frame)
            except BrowserError:
                await view.close()
                raise
            self.view = view
            log.info("live view: screencast started for %d viewer(s)", len(self._viewers))

    async def _stop(self) -> None:
        if self.view is not None:
            view, self.view = self.view, None
            await view.close()
            log.info("live view: screencast stopped (%s)", "no viewers" if not self._viewers else "page changed")
        self.last_frame = None

    async def _frame(self, jpeg: bytes, _: FrameSize) -> None:
        self.last_frame = jpeg
        for queue in list(self._viewers):
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
            queue.put_nowait(jpeg)
        # Holding the ack back paces Chromium to MAX_FPS.
        wait = self._last_sent + 1 / MAX_FPS - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_sent = time.monotonic()

    async def handle(self, message: dict[str, Any]) -> None:
        """One input message from a viewer; ValueError when it is malformed."""
        self.page.person_at_hand()
        await self.follow()
        view = self.view
        if view is None:
            raise ValueError("the arena page is not open right now; wait for it or reload it")
        kind = message.get("type")
        if kind == "mouse":
            await view.mouse(message)
        elif kind == "key":
            await view.key(message)
        elif kind == "text":
            text = message.get("text")
            if not isinstance(text, str):
                raise ValueError("text must be a string")
            await view.insert_text(text)
        else:
            raise ValueError("type must be mouse, key or text")
        if kind != "mouse" or message.get("action") in ("up", "click"):
            self._assess_soon()

    def _assess_soon(self) -> None:
        if self._assess is not None:
            self._assess.cancel()
        self._assess = asyncio.create_task(self._assess_later(), name="live-assess")

    async def _assess_later(self) -> None:
        await asyncio.sleep(ASSESS_AFTER_INPUT)
        try:
            await self.page.assess()
        except BrowserError as exc:
            log.debug("assess after input: %s", exc)

    async def close(self) -> None:
        if self._assess is not None:
            self._assess.cancel()
        async with self._lock:
            self._viewers.clear()
            await self._stop()


def hub(app: Any, page: ArenaPage) -> LiveHub:
    hubs: dict[int, LiveHub] = app.state.live_hubs
    found = hubs.get(id(page))
    if found is None or found.page is not page:
        found = hubs[id(page)] = LiveHub(page)
    return found


@live.websocket("/ui/ws/live")
async def live_view(websocket: WebSocket) -> None:
    try:
        authorize(websocket, action=True)
        chosen = account(websocket.app, int(websocket.query_params.get("account", "0")))
    except (BridgeError, ValueError) as exc:
        log.info("live view refused: %s", exc)
        await websocket.close(code=POLICY_VIOLATION)
        return
    shared = hub(websocket.app, chosen.page)
    if shared.viewers >= MAX_VIEWERS:
        await websocket.close(code=POLICY_VIOLATION, reason="too many viewers")
        return
    await websocket.accept()
    queue = await shared.join()
    sender = asyncio.create_task(_send_frames(websocket, shared, queue), name="live-frames")
    receiver = asyncio.create_task(_receive_input(websocket, shared), name="live-input")
    try:
        await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, receiver):
            task.cancel()
        await asyncio.wait({sender, receiver})
        for task in (sender, receiver):
            if not task.cancelled() and not isinstance(task.exception(), WebSocketDisconnect | None):
                log.debug("live view ended: %r", task.exception())
        await shared.leave(queue)


async def _send_frames(websocket: WebSocket, shared: LiveHub, queue: asyncio.Queue[bytes]) -> None:
    """Frames as they come, and the page's state each STATE_EVERY seconds (following a reopened page)."""
    while True:
        try:
            await shared.follow()
        except BrowserError as exc:
            await websocket.send_json({"type": "error", "message": str(exc)})
        page, size = shared.page, shared.size
        await websocket.send_json(
            {"type": "state", "state": page.state, "detail": page.detail, "width": size.width, "height": size.height}
        )
        deadline = time.monotonic() + STATE_EVERY
        while (left := deadline - time.monotonic()) > 0:
            try:
                async with asyncio.timeout(left):
                    frame = await queue.get()
            except TimeoutError:
                break
            await websocket.send_bytes(frame)


async def _receive_input(websocket: WebSocket, shared: LiveHub) -> None:
    while True:
        received = await websocket.receive()
        if received["type"] == "websocket.disconnect":
            return
        raw = received.get("text") or ""
        try:
            if len(raw) > MAX_MESSAGE:
                raise ValueError("message too large")
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise ValueError("a message is a JSON object")
            await shared.handle(message)
        except (ValueError, BrowserError) as exc:
            await websocket.send_json({"type": "error", "message": str(exc)})
