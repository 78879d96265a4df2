"""A person's hands on the arena page: its screencast out, mouse and keyboard in.

`RemoteView` opens its own DevTools session on one Playwright page and speaks CDP:
`Page.startScreencast` / `Page.screencastFrameAck` / `Page.stopScreencast` for the
frames (JPEG, base64, with `metadata.deviceWidth/deviceHeight` in CSS pixels), and
`Input.dispatchMouseEvent`, `Input.dispatchKeyEvent`, `Input.insertText` for input
(CDP reference, domains Page and Input). Mouse positions come in as fractions of the
frame (0..1) and go out in CSS pixels of the page's viewport, so the viewer may draw
the frame at any size.

Errors: every CDP failure leaves as `PageGone` (browser.errors); a malformed input
event is `ValueError`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from playwright.async_api import BrowserContext, CDPSession, Page
from playwright.async_api import Error as PlaywrightError

from .errors import PageGone

log = logging.getLogger(__name__)

JPEG_QUALITY = 60
MAX_WIDTH, MAX_HEIGHT = 1280, 1280
MOUSE_TYPES = {"move": "mouseMoved", "down": "mousePressed", "up": "mouseReleased"}
BUTTONS = ("left", "middle", "right", "none")
HELD_BUTTONS = ((1, "left"), (2, "right"), (4, "middle"))
KEY_TYPES = {"keydown": "keyDown", "keyup": "keyUp", "char": "char"}
# Keys whose keyDown must carry text so that the page sees them typed (CDP sends no `char` for them).
TEXT_KEYS = {"Enter": "\r", "Tab": "", "Backspace": "", "Delete": "", "Escape": ""}
# Windows virtual key codes of the keys that do something without text.
KEY_CODES = {
    "Backspace": 8,
    "Tab": 9,
    "Enter": 13,
    "Shift": 16,
    "Control": 17,
    "Alt": 18,
    "Escape": 27,
    "PageUp": 33,
    "PageDown": 34,
    "End": 35,
    "Home": 36,
    "ArrowLeft": 37,
    "ArrowUp": 38,
    "ArrowRight": 39,
    "ArrowDown": 40,
    "Delete": 46,
    "Meta": 91,
}
MODIFIER_BITS = {"alt": 1, "ctrl": 2, "meta": 4, "shift": 8}  # CDP Input modifiers bit field

Frame = Callable[[bytes, "FrameSize"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FrameSize:
    """The page area one frame shows, in CSS pixels (`Page.ScreencastFrameMetadata`)."""

    width: float
    height: float


def modifiers(event: dict[str, Any]) -> int:
    return sum(bit for name, bit in MODIFIER_BITS.items() if event.get(name))


def _number(event: dict[str, Any], name: str, default: float | None = None) -> float:
    value = event.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number")
    return float(value)


async def bring_page_to_front(page: Page) -> None:
    """Activate the page's tab (CDP `Page.bringToFront`), e.g. so a headed window paints it."""
    try:
        await page.bring_to_front()
    except PlaywrightError as exc:
        raise PageGone(f"the arena page is not answering: {exc.message.splitlines()[0]}") from exc


class RemoteView:
    """One viewer's screencast and input on `page`; `close()` stops the screencast."""

    def __init__(self, page: Page, session: CDPSession) -> None:
        self.page = page
        self._session = session
        self.size = FrameSize(0, 0)
        self._on_frame: Frame | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, context: BrowserContext, page: Page) -> RemoteView:
        try:
            session = await context.new_cdp_session(page)
        except PlaywrightError as exc:
            raise PageGone(f"cannot attach to the arena page: {exc.message.splitlines()[0]}") from exc
        view = cls(page, session)
        session.on("Page.screencastFrame", view._frame)
        return view

    async def _send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return await self._session.send(method, params or {})
        except PlaywrightError as exc:
            raise PageGone(f"the arena page is not answering ({method}): {exc.message.splitlines()[0]}") from exc

    async def start(self, on_frame: Frame, *, every_nth_frame: int = 1) -> None:
        """Send each new frame to `on_frame(jpeg, size)`; Chromium sends the next one after the ack."""
        self._on_frame = on_frame
        viewport = await self.viewport()
        self.size = FrameSize(*viewport)
        await self._send(
            "Page.startScreencast",
            {
                "format": "jpeg",
                "quality": JPEG_QUALITY,
                "maxWidth": MAX_WIDTH,
                "maxHeight": MAX_HEIGHT,
                "everyNthFrame": every_nth_frame,
            },
        )

    def _frame(self, params: dict[str, Any]) -> None:
        task = asyncio.create_task(self._deliver(params))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, params: dict[str, Any]) -> None:
        meta = params.get("metadata", {})
        if meta.get("deviceWidth") and meta.get("deviceHeight"):
            self.size = FrameSize(float(meta["deviceWidth"]), float(meta["deviceHeight"]))
        try:
            if self._on_frame is not None:
                await self._on_frame(base64.b64decode(params["data"]), self.size)
        finally:
            try:  # the ack paces Chromium: one frame in flight per viewer
                await self._session.send("Page.screencastFrameAck", {"sessionId": params["sessionId"]})
            except PlaywrightError:
                log.debug("screencast ack: page gone")

    async def viewport(self) -> tuple[float, float]:
        """The page's layout viewport in CSS pixels."""
        metrics = await self._send("Page.getLayoutMetrics")
        view = metrics.get("cssLayoutViewport") or metrics.get("layoutViewport") or {}
        return float(view.get("clientWidth", 0)), float(view.get("clientHeight", 0))

    def _point(self, event: dict[str, Any]) -> tuple[float, float]:
        """Frame fractions (0..1) -> CSS pixels of the viewport."""
        x, y = _number(event, "x"), _number(event, "y")
        if not (0 <= x <= 1 and 0 <= y <= 1):
            raise ValueError("x and y are fractions of the frame, from 0 to 1")
        return x * self.size.width, y * self.size.height

    async def mouse(self, event: dict[str, Any]) -> None:
        """{"action": "move"|"down"|"up"|"click"|"wheel", "x", "y", "button", "buttons", "deltaX", "deltaY",
        modifiers}; `buttons` is the DOM bit mask of the buttons held (a move with one held is a drag)."""
        action = event.get("action")
        x, y = self._point(event)
        mods = modifiers(event)
        if action == "wheel":
            params = {"type": "mouseWheel", "x": x, "y": y, "modifiers": mods}
            params |= {"deltaX": _number(event, "deltaX", 0), "deltaY": _number(event, "deltaY", 0)}
            await self._send("Input.dispatchMouseEvent", params)
            return
        button = event.get("button", "left")
        if button not in BUTTONS:
            raise ValueError(f"button must be one of {', '.join(BUTTONS)}")
        if action == "click":
            for kind in ("mousePressed", "mouseReleased"):
                await self._mouse(kind, x, y, button, mods, 1)
            return
        if action not in MOUSE_TYPES:
            raise ValueError("action must be move, down, up, click or wheel")
        kind = MOUSE_TYPES[action]
        held = int(_number(event, "buttons", 0))  # DOM MouseEvent.buttons: 1 left, 2 right, 4 middle
        if kind == "mouseMoved":  # a move with a button held drags (sliders, text selection)
            button = next((name for bit, name in HELD_BUTTONS if held & bit), "none")
            await self._mouse(kind, x, y, button, mods, 0, held)
            return
        await self._mouse(kind, x, y, button, mods, int(_number(event, "clickCount", 1)), held)

    async def _mouse(self, kind: str, x: float, y: float, button: str, mods: int, clicks: int, held: int = 0) -> None:
        params = {"type": kind, "x": x, "y": y, "button": button, "modifiers": mods, "clickCount": clicks}
        await self._send("Input.dispatchMouseEvent", params | {"buttons": held})

    async def key(self, event: dict[str, Any]) -> None:
        """{"action": "keydown"|"keyup"|"char", "key", "code", "text", modifiers} (DOM KeyboardEvent names)."""
        action = event.get("action")
        if action not in KEY_TYPES:
            raise ValueError("action must be keydown, keyup or char")
        key, code = str(event.get("key", "")), str(event.get("code", ""))
        params: dict[str, Any] = {"type": KEY_TYPES[action], "key": key, "code": code, "modifiers": modifiers(event)}
        if key in KEY_CODES:
            params["windowsVirtualKeyCode"] = params["nativeVirtualKeyCode"] = KEY_CODES[key]
        text = event.get("text")
        if action == "keydown" and text is None and TEXT_KEYS.get(key):
            text = TEXT_KEYS[key]
        if isinstance(text, str) and text and action != "keyup":
            params["text"] = params["unmodifiedText"] = text
        await self._send("Input.dispatchKeyEvent", params)

    async def insert_text(self, text: str) -> None:
        """Type `text` at the focus as one input (CDP `Input.insertText`), e.g. a paste."""
        await self._send("Input.insertText", {"text": text})

    async def close(self) -> None:
        """Stop the screencast and detach; safe when the page is already gone."""
        self._on_frame = None
        try:
            await self._session.send("Page.stopScreencast")
        except PlaywrightError:
            log.debug("stopScreencast: page already gone")
        try:
            await self._session.detach()
        except PlaywrightError:
            log.debug("screencast session already detached")
