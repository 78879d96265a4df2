"""Shared fixtures: the fake arena (a real HTTP server) and real bridge processes."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.models import entry_for
from browser.arena import model_modality
from tests.bridge_process import BridgeProcess
from tests.fake_arena import FakeArena


def system_chromium() -> str | None:
    configured = os.environ.get("LMARENA_BRIDGE_BROWSER")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """In-process tests (`@pytest.mark.anyio`) run on asyncio, as the bridge does."""
    return "asyncio"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's browser: the system Chromium when there is one."""
    executable = system_chromium()
    return {**browser_type_launch_args, **({"executable_path": executable} if executable else {})}


def models_json(models: list[dict[str, Any]]) -> dict[str, str]:
    return {m["publicName"]: entry_for(m["id"], model_modality(m)) for m in models}


@pytest.fixture(scope="session")
def arena_server() -> Iterator[FakeArena]:
    with FakeArena() as arena:
        yield arena


@pytest.fixture
def arena(arena_server: FakeArena) -> Iterator[FakeArena]:
    arena_server.reset()
    yield arena_server
    arena_server.reset()


@pytest.fixture(scope="session")
def shared_bridge(tmp_path_factory: pytest.TempPathFactory, arena_server: FakeArena) -> Iterator[BridgeProcess]:
    bridge = BridgeProcess(
        tmp_path_factory.mktemp("bridge"), arena_server.url, models=models_json(arena_server.models)
    ).start()
    yield bridge
    bridge.stop()


@pytest.fixture
def bridge(shared_bridge: BridgeProcess, arena: FakeArena) -> BridgeProcess:
    """The shared bridge; a test that edits its config gets it restored."""
    saved = dict(shared_bridge.config)
    yield shared_bridge
    # an arena 429 / 403 reCAPTCHA a test provoked must not leave the shared account cooling down
    key = shared_bridge.config.get("api_key") or ""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    httpx.post(f"{shared_bridge.url}/internal/accounts/resume", headers=headers, timeout=10).raise_for_status()
    if shared_bridge.config != saved:
        shared_bridge.config = saved
        shared_bridge.write_config()


@pytest.fixture
def make_bridge(tmp_path: Path, arena: FakeArena) -> Iterator[Any]:
    """Start a bridge of its own with extra config; stopped after the test."""
    started: list[BridgeProcess] = []

    def make(*, arena_url: str | None = None, wait_healthy: bool = True, **config: Any) -> BridgeProcess:
        folder = tmp_path / f"bridge{len(started)}"
        models = config.pop("models", models_json(arena.models))
        bridge = BridgeProcess(folder, arena_url or arena.url, models=models, **config)
        started.append(bridge)
        return bridge.start(wait_healthy=wait_healthy)

    yield make
    for bridge in started:
        bridge.stop()


@pytest.fixture
def client(bridge: BridgeProcess):
    with bridge.client() as client:
        yield client


def run(coro: Any) -> Any:
    return asyncio.run(coro)
