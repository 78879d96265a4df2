"""Helpers for tests that act in a browser like a user: CLI processes, Xvfb, CDP.

A `login` or `capture` process (or a server) started with
`browser_args: ["--remote-debugging-port=N"]` lets the test attach to its Chromium
with Playwright's `connect_over_cdp` and click in the very page the user would see.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from tests.bridge_process import end_process, free_port, wait_for

WAIT = 60.0


@pytest.fixture(scope="module")
def xvfb_display() -> Iterator[str]:
    """A private X display for the headed browsers of one test module (skips without Xvfb).

    Module-scoped: each module imports this fixture, so each gets (and stops) its own.
    """
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("headed test: Xvfb is not installed (apt-get install xvfb)")
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        number = reader.readline().strip()
    try:
        if not number.isdigit():
            pytest.skip("headed test: Xvfb did not start")
        yield f":{number}"
    finally:
        process.terminate()
        process.wait(10)


def write_config(folder: Path, arena_url: str, **values: Any) -> Path:
    """A config.jsonc for a CLI command against the fake arena; nothing listens on its port."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"arena_url": arena_url, "ignore_https_errors": True, "port": free_port(), **values}
    path = folder / "config.jsonc"
    path.write_text("// written by the tests\n" + json.dumps(config, indent=2) + "\n")
    return path


class CliProcess:
    """`python -m bridge ARGS` running in the background, its output in files."""

    def __init__(self, folder: Path, *args: str, display: str | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.stdout_path = folder / f"{args[0]}.stdout"
        self.stderr_path = folder / f"{args[0]}.stderr"
        env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "API_KEY", "DISPLAY")}
        if display:
            env["DISPLAY"] = display
        self._out, self._err = open(self.stdout_path, "wb"), open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bridge", *args], stdout=self._out, stderr=self._err, env=env, cwd=folder
        )

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_for_stderr(self, text: str, timeout: float = WAIT) -> None:
        def seen() -> bool:
            if self.process.poll() is not None and text not in self.stderr:
                raise AssertionError(f"the command exited ({self.process.returncode}) first:\n{self.stderr}")
            return text in self.stderr

        wait_for(seen, f"{text!r} in the command's output")

    def wait(self, timeout: float = WAIT) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the command did not finish in {timeout:g} s:\n{self.stderr}") from None

    def close(self) -> None:
        end_process(self.process)
        self._out.close()
        self._err.close()


@contextlib.contextmanager
def cli(folder: Path, *args: str, display: str | None = None) -> Iterator[CliProcess]:
    process = CliProcess(folder, *args, display=display)
    try:
        yield process
    finally:
        process.close()


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "API_KEY")}
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd
    )


def debugging_args(port: int) -> list[str]:
    return [f"--remote-debugging-port={port}"]


@contextlib.contextmanager
def attach(port: int) -> Iterator[Any]:
    """Playwright attached over CDP to the Chromium listening on `port` (detached after).

    Its own short-lived Playwright: a session-wide sync one would keep an event loop
    running in the main thread and break later tests that call asyncio.run().
    """

    def answering() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/json/version", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(answering, f"Chromium's debugging port {port}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
        try:
            yield browser
        finally:
            with contextlib.suppress(PlaywrightError):  # the browser may have closed itself (login done)
                browser.close()


def arena_tab(browser: Any, arena_url: str) -> Any:
    """The tab showing the arena, once it has loaded."""
    context = browser.contexts[0]

    def find() -> Any:
        pages = context.pages
        for page in pages:
            if page.url.startswith(arena_url):
                return page
        # The sync API takes in the browser's news (new tabs, navigations) only while it waits.
        if pages:
            pages[0].wait_for_timeout(100)
        else:
            context.wait_for_event("page", timeout=WAIT * 1000)
        return None

    page = wait_for(find, f"a tab on {arena_url}")
    page.wait_for_load_state("domcontentloaded")
    return page


def click_retry(page: Any, *, window_closes: bool = False) -> None:
    """Click Retry on the answer card and wait for the new answer, like a user.

    With `window_closes`, the capture command closes its window on the click, so
    there is no answer to wait for (and the click may not even be acknowledged).
    """
    retry = page.get_by_role("button", name="Retry")
    if not window_closes:
        retry.click()
        page.locator("#answer[data-state=retried]").wait_for()
        return
    with contextlib.suppress(PlaywrightError):
        retry.click(no_wait_after=True)
