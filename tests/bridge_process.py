"""Run `lmarena-bridge serve` as a real process against the fake arena."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai

SESSION_ID = "0b0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b"
MESSAGE_ID = "1c2d3e4f-5a6b-4c7d-9e8f-0a1b2c3d4e5f"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def end_process(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL if it has not ended within 20 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def ids(n: int) -> tuple[str, str]:
    """The n-th made-up (session_id, message_id) pair, shaped like the arena's."""
    return f"5e55105{n}-0000-4000-8000-000000000000", f"3e55a6e{n}-0000-4000-8000-000000000000"


def entry(n: int, **extra: str) -> dict[str, str]:
    """A model_endpoint_map.json entry with the n-th ids."""
    session_id, message_id = ids(n)
    return {"session_id": session_id, "message_id": message_id, **extra}


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll `condition` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


class BridgeProcess:
    """A bridge server in its own process, with its own config folder and profile."""

    def __init__(self, folder: Path, arena_url: str, *, models: dict[str, str] | None = None, **config: Any) -> None:
        self.folder = folder
        self.port = free_port()
        self.config_path = folder / "config.jsonc"
        self.log_path = folder / "server.log"
        self.config = {
            "session_id": SESSION_ID,
            "message_id": MESSAGE_ID,
            "arena_url": arena_url,
            "port": self.port,
            "ignore_https_errors": True,
            "auto_update_models": False,
            "stream_response_timeout_seconds": 30,
            "pace_seconds": 0,  # the suite sends many requests quickly; pacing has its own tests
            **config,
        }
        self.models = models
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self, **changes: Any) -> None:
        self.config.update(changes)
        text = "// written by the tests\n" + json.dumps(self.config, indent=2) + "\n"
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.config_path)

    def start(self, *, wait_healthy: bool = True, timeout: float = 60) -> BridgeProcess:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.write_config()
        if self.models is not None:
            (self.folder / "models.json").write_text(json.dumps(self.models, indent=2))
        env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "API_KEY")}
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve", "--config", str(self.config_path)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.folder,
        )
        try:
            self.wait_healthy(timeout, listening_is_enough=not wait_healthy)
        except BaseException:
            self.stop()  # a bridge that never came up must not outlive the test (with its browser)
            raise
        return self

    def wait_healthy(self, timeout: float = 60, *, listening_is_enough: bool = False) -> dict[str, Any]:
        """Wait for /health to say ok (or, with listening_is_enough, to answer at all)."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"bridge exited with {self.process.returncode}:\n{self.log()}")
            try:
                response = httpx.get(f"{self.url}/health", timeout=5)
                last = response.json()
                if response.status_code == 200 or listening_is_enough:
                    return last
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.1)
        raise RuntimeError(f"bridge not healthy after {timeout}s (last: {last}):\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, **kwargs: Any) -> openai.OpenAI:
        kwargs.setdefault("api_key", "unused")
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 60)
        return openai.OpenAI(base_url=f"{self.url}/v1", **kwargs)

    def async_client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        kwargs.setdefault("api_key", "unused")
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 60)
        return openai.AsyncOpenAI(base_url=f"{self.url}/v1", **kwargs)

    def stop(self) -> int | None:
        if self.process is None:
            return None
        end_process(self.process)
        self._log.close()
        code, self.process = self.process.returncode, None
        return code
