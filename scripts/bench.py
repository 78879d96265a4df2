"""Benchmark: the same streaming workload through the bridge and straight to the fake arena.

Prints, for each path and concurrency: time to first token (p50/p95), the delay between
chunks, aggregate chunk throughput and errors; then the memory of the server plus its
Chromium, idle and at peak. Loopback only; every loop is bounded.

    scripts/bench                      # full run (about a minute per browser)
    scripts/bench --mode headless --concurrency 1 8   # browser_mode headless instead of the default
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import openai
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from browser.arena import RETRY_PATH  # noqa: E402
from tests.bridge_process import MESSAGE_ID, SESSION_ID, BridgeProcess  # noqa: E402

MODEL = "gpt-4o-2024-08-06"
DIRECT_AGENT = "lmarena-bridge-bench"  # the direct client's User-Agent, let past the arena's gate
CHUNKS, CHUNK_DELAY = 20, 0.02  # every answer: 20 one-letter chunks, 20 ms apart


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Result:
    def __init__(self) -> None:
        self.ttft: list[float] = []
        self.gaps: list[float] = []
        self.chunks = 0
        self.errors = 0

    def chunk_clock(self) -> ChunkClock:
        return ChunkClock(self)

    def line(self, label: str, concurrency: int, elapsed: float) -> str:
        return (
            f"{label:7} c={concurrency:<3} ttft p50 {percentile(self.ttft, 0.5) * 1000:7.1f} ms"
            f"  p95 {percentile(self.ttft, 0.95) * 1000:7.1f} ms"
            f"  chunk gap p50 {percentile(self.gaps, 0.5) * 1000:6.1f} ms"
            f"  throughput {self.chunks / elapsed:8.1f} chunks/s  errors {self.errors}"
        )


class ChunkClock:
    """Times one stream: the first chunk's arrival (TTFT), then the gaps between chunks."""

    def __init__(self, result: Result) -> None:
        self.result = result
        self.start = time.perf_counter()
        self.last: float | None = None

    def chunk(self) -> None:
        now = time.perf_counter()
        if self.last is None:
            self.result.ttft.append(now - self.start)
        else:
            self.result.gaps.append(now - self.last)
        self.last = now
        self.result.chunks += 1


def retry_body() -> str:
    now = "2026-01-01T00:00:00.000Z"
    message = {
        "role": "user",
        "content": "bench",
        "id": str(uuid.uuid4()),
        "evaluationId": None,
        "evaluationSessionId": SESSION_ID,
        "parentMessageIds": [],
        "experimental_attachments": [],
        "failureReason": None,
        "metadata": None,
        "participantPosition": "a",
        "createdAt": now,
        "updatedAt": now,
        "status": "pending",
    }
    return json.dumps({"messages": [message], "modelId": None})


class FakeArenaProcess:
    """The fake arena in a process of its own, so that it does not share the clients' CPU."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fake_arena",
                "--http2",
                "--trickle",
                str(CHUNKS),
                "--delay",
                str(CHUNK_DELAY),
                "--pass-agent",
                DIRECT_AGENT,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        said = dict(self.process.stdout.readline().partition(": ")[::2] for _ in range(4))
        self.url = said["fake arena at"].strip()
        self.cookie = said["auth cookie"].strip()
        self.clearance = said["cf_clearance"].strip()
        self.models = json.loads(said["models.json for it"])

    def retry_url(self) -> str:
        return self.url + RETRY_PATH.format(session_id=SESSION_ID, message_id=MESSAGE_ID)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


async def direct_stream(client: httpx.AsyncClient, arena: FakeArenaProcess, result: Result) -> None:
    clock = result.chunk_clock()
    try:
        async with client.stream(
            "PUT",
            arena.retry_url(),
            content=retry_body(),
            headers={"content-type": "text/plain;charset=UTF-8"},
        ) as response:
            async for line in response.aiter_lines():
                if line.startswith("a0:"):
                    clock.chunk()
    except httpx.HTTPError:
        result.errors += 1


async def bridge_stream(client: httpx.AsyncClient, url: str, result: Result) -> None:
    """The bridge's SSE read with the same HTTP client as the direct path."""
    clock = result.chunk_clock()
    body = {"model": MODEL, "messages": [{"role": "user", "content": "bench"}], "stream": True}
    try:
        async with client.stream("POST", url, json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: {") and json.loads(line[6:])["choices"][0]["delta"].get("content"):
                    clock.chunk()
    except (httpx.HTTPError, KeyError, IndexError):
        result.errors += 1


async def sdk_stream(client: openai.AsyncOpenAI, result: Result) -> None:
    """The bridge through the official openai SDK (--sdk)."""
    clock = result.chunk_clock()
    try:
        stream = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "bench"}], stream=True
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                clock.chunk()
    except openai.OpenAIError:
        result.errors += 1


async def run_rounds(label: str, concurrency: int, rounds: int, make_one) -> str:
    result = Result()
    elapsed = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        await asyncio.gather(*(make_one(result) for _ in range(concurrency)))
        elapsed += time.perf_counter() - started
    return result.line(label, concurrency, elapsed)


class MemoryWatch:
    """Samples the PSS (or RSS) of a process and all its children."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> float:
        return sum(self.breakdown().values())

    def breakdown(self) -> dict[str, float]:
        """MB by part: the bridge (Python + Playwright's driver), Chromium, Xvfb (virtual display)."""
        parts: dict[str, float] = {"bridge": 0.0, "chromium": 0.0, "xvfb": 0.0}
        for proc in [self.root, *self.root.children(recursive=True)]:
            try:
                info = proc.memory_full_info()
                name = proc.name().lower()
            except psutil.Error:
                continue
            part = "xvfb" if "xvfb" in name else "chromium" if ("chrom" in name or "chrome" in name) else "bridge"
            parts[part] += getattr(info, "pss", info.rss) / 2**20
        return parts

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, self.now())

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def bench(
    arena: FakeArenaProcess, bridge: BridgeProcess, levels: list[int], rounds: int, sdk: bool = False
) -> list[str]:
    lines = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with (
        httpx.AsyncClient(
            http2=True,
            verify=False,
            timeout=60,
            limits=limits,
            cookies={"arena-auth-prod-v1": arena.cookie, "cf_clearance": arena.clearance},
            headers={"user-agent": DIRECT_AGENT},
        ) as direct,
        httpx.AsyncClient(timeout=60, limits=limits) as plain,
        openai.AsyncOpenAI(
            base_url=f"{bridge.url}/v1",
            api_key="x",
            max_retries=0,
            timeout=60,
            http_client=openai.DefaultAsyncHttpxClient(limits=limits),
        ) as client,
    ):
        chat_url = f"{bridge.url}/v1/chat/completions"
        through_bridge = (lambda r: sdk_stream(client, r)) if sdk else (lambda r: bridge_stream(plain, chat_url, r))
        await run_rounds("warm-up", 4, 1, through_bridge)
        for level in levels:
            lines.append(await run_rounds("direct", level, rounds, lambda r: direct_stream(direct, arena, r)))
            lines.append(await run_rounds("bridge", level, rounds, through_bridge))
            print(lines[-2], lines[-1], sep="\n", flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", default=None, help="Chromium executable (default: the bridge's choice)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--mode",
        default=None,
        choices=["auto", "headless", "virtual_display", "headed"],
        help="browser_mode of the bridge (default: its default, auto)",
    )
    parser.add_argument("--sdk", action="store_true", help="read the bridge with the openai SDK instead of httpx")
    args = parser.parse_args()
    arena = FakeArenaProcess()
    with tempfile.TemporaryDirectory() as folder:
        config = {"max_concurrent_requests": 128, "log_level": "WARNING"}
        if args.browser:
            config["browser_executable"] = args.browser
        if args.mode:
            config["browser_mode"] = args.mode
        bridge = BridgeProcess(Path(folder), arena.url, models=arena.models, **config).start()
        try:
            mode = httpx.get(f"{bridge.url}/health", timeout=10).json().get("browser_mode")
            time.sleep(3)
            with MemoryWatch(bridge.process.pid) as memory:
                parts = memory.breakdown()
                idle = sum(parts.values())
                print(
                    f"browser: {args.browser or 'default'}, browser_mode {mode}; answer: {CHUNKS} chunks, "
                    f"{CHUNK_DELAY * 1000:.0f} ms apart; {args.rounds} rounds per level",
                    flush=True,
                )
                print("memory idle (PSS): " + ", ".join(f"{k} {v:.0f} MB" for k, v in parts.items()), flush=True)
                asyncio.run(bench(arena, bridge, args.concurrency, args.rounds, args.sdk))
            print(f"memory (server + Chromium, PSS): idle {idle:.0f} MB, peak {memory.peak:.0f} MB")
        finally:
            bridge.stop()
            arena.stop()


if __name__ == "__main__":
    main()
