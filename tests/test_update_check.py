"""The start-up update notice, against a real release server on loopback."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bridge.config import Settings
from bridge.update_check import newer_release, release_tuple, start_update_check

LOGGER = "bridge.update_check"


class ReleaseServer:
    """Serves `body` with `status` at every path; `hits` counts the requests."""

    def __init__(self) -> None:
        self.status, self.body, self.hits = 200, b"{}", 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/pypi/lmarena-bridge/json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def serve(self, document: object, status: int = 200) -> str:
        self.status = status
        self.body = document if isinstance(document, bytes) else json.dumps(document).encode()
        return self.url


@pytest.fixture
def releases() -> Iterator[ReleaseServer]:
    server = ReleaseServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/pypi/lmarena-bridge/json"


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run on a thread of its own: a sync Playwright session may hold this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.INFO]


def run_check(url: str) -> None:
    async def main() -> None:
        task = start_update_check(Settings(enable_auto_update=True, update_check_url=url))
        assert task is not None
        await task

    run(main())


@pytest.fixture(autouse=True)
def _capture_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)


def test_a_newer_release_is_logged_once_at_info_and_nothing_else_happens(releases, caplog):
    run_check(releases.serve({"info": {"version": "99.0.0"}}))
    (line,) = notices(caplog)
    assert "lmarena-bridge 99.0.0 is available" in line and "nothing was changed" in line
    assert releases.hits == 1


def test_the_same_release_logs_nothing(releases, caplog):
    from bridge import __version__

    run_check(releases.serve({"info": {"version": __version__}}))
    assert notices(caplog) == [] and releases.hits == 1


def test_an_older_release_is_not_newer(releases):
    assert run(newer_release(releases.serve({"info": {"version": "1.1.9"}}), "1.2.0")) is None


def test_a_github_release_tag_is_understood(releases):
    assert run(newer_release(releases.serve({"tag_name": "v1.10.0"}), "1.2.0")) == "v1.10.0"


def test_a_pre_release_is_not_announced(releases):
    assert run(newer_release(releases.serve({"info": {"version": "2.0.0rc1"}}), "1.2.0")) is None


def test_offline_the_check_is_silent(caplog):
    run_check(closed_port_url())
    assert notices(caplog) == []
    assert any("could not read" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)


@pytest.mark.parametrize(("body", "status"), [(b"<html>oops</html>", 200), (b'{"error": "x"}', 500), (b"[1]", 200)])
def test_a_broken_answer_is_silent(releases, caplog, body, status):
    run_check(releases.serve(body, status))
    assert notices(caplog) == []


def test_without_enable_auto_update_nothing_is_started(releases):
    assert start_update_check(Settings(enable_auto_update=False, update_check_url=releases.url)) is None
    assert releases.hits == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.2", (1, 2)), ("v1.2.0", (1, 2)), ("0.10.1", (0, 10, 1)), ("1.0b1", None), ("", None), ("latest", None)],
)
def test_versions_compare_by_their_numbers(text, expected):
    assert release_tuple(text) == expected
