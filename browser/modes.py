"""How the browser runs: `browser_mode` (SPEC "Fixed design") and the virtual display.

    auto             headed under a virtual display on Linux without a display when Xvfb
                     is installed; otherwise full-Chromium headless (the disguise in
                     stealth.py hides "Headless" from the user agent and client hints)
    headless         full Chromium with `--headless=new` (never the headless shell)
    virtual_display  a headed Chromium on an Xvfb display the bridge starts and stops
    headed           a real window on the user's display

The older `headless` switch still counts: `headless: false` (or `serve --headed`) means
`headed`; `headless: true` only rules out `headed`, leaving the rest to `browser_mode`.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping

from .errors import LaunchFailed

log = logging.getLogger(__name__)

AUTO, HEADLESS, VIRTUAL_DISPLAY, HEADED = "auto", "headless", "virtual_display", "headed"
BROWSER_MODES = (AUTO, HEADLESS, VIRTUAL_DISPLAY, HEADED)
SCREEN = (1920, 1080)
XVFB_START_TIMEOUT = 10.0


def has_display(env: Mapping[str, str]) -> bool:
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def resolve_mode(
    browser_mode: str,
    headless: bool | None = None,
    *,
    platform: str = sys.platform,
    env: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> str:
    """The concrete mode (headless | virtual_display | headed) for the configured one."""
    env = os.environ if env is None else env
    if browser_mode not in BROWSER_MODES:
        raise ValueError(f"browser_mode {browser_mode!r} is not one of {', '.join(BROWSER_MODES)}")
    mode = browser_mode
    if headless is False:
        mode = HEADED
    elif headless is True and mode == HEADED:
        mode = AUTO
    if mode != AUTO:
        return mode
    if platform.startswith("linux") and not has_display(env) and which("Xvfb"):
        return VIRTUAL_DISPLAY
    return HEADLESS


class VirtualDisplay:
    """An Xvfb server on a free display number (Xvfb picks it: `-displayfd`).

    `-terminate`: it also ends by itself once its last client (the browser) is gone, so a
    bridge killed outright leaves no Xvfb behind.
    """

    def __init__(self, process: subprocess.Popen[bytes], number: str) -> None:
        self._process = process
        self.name = f":{number}"

    @classmethod
    def start(cls, size: tuple[int, int] = SCREEN) -> VirtualDisplay:
        """Start Xvfb; LaunchFailed if it is missing or does not come up within 10 s."""
        xvfb = shutil.which("Xvfb")
        if xvfb is None:
            raise LaunchFailed("browser_mode virtual_display needs Xvfb: install it (apt-get install xvfb)")
        read_end, write_end = os.pipe()
        try:
            process = subprocess.Popen(
                [
                    xvfb,
                    "-displayfd",
                    str(write_end),
                    "-screen",
                    "0",
                    f"{size[0]}x{size[1]}x24",
                    "-nolisten",
                    "tcp",
                    "-terminate",
                ],
                pass_fds=(write_end,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            os.close(write_end)
        number = _read_display_number(read_end, XVFB_START_TIMEOUT)
        if not number.isdigit():
            process.kill()
            process.wait()
            raise LaunchFailed("Xvfb did not start (no display number within 10 s)")
        display = cls(process, number)
        log.info("virtual display %s started (Xvfb pid %d)", display.name, process.pid)
        return display

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            log.info("virtual display %s stopped", self.name)


def _read_display_number(fd: int, timeout: float) -> str:
    import select

    with os.fdopen(fd, "rb", buffering=0) as reader:
        data = b""
        while not data.endswith(b"\n"):
            ready, _, _ = select.select([reader], [], [], timeout)
            if not ready:
                break
            chunk = reader.read(16)
            if not chunk:
                break
            data += chunk
    return data.decode("ascii", "replace").strip()
