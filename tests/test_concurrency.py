"""Many streams at once through one browser page, over the HTTP/2 fake arena."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.fake_arena import FakeArena

MODEL = "gpt-4o-2024-08-06"


@pytest.fixture(scope="module")
def h2_arena() -> Iterator[FakeArena]:
    with FakeArena(http2=True) as arena:
        yield arena


async def one_stream(client, index: int) -> tuple[int, str]:
    prompt = f"request {index} " + "x" * index
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": prompt}], stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    return index, text


@pytest.mark.parametrize("streams", [20, 64])
def test_concurrent_streams_through_one_page_each_get_their_own_answer(make_bridge, h2_arena, streams):
    h2_arena.reset()
    bridge = make_bridge(arena_url=h2_arena.url, max_concurrent_requests=64)

    async def main():
        async with bridge.async_client() as client:
            return await asyncio.gather(*(one_stream(client, i) for i in range(streams)))

    results = asyncio.run(main())
    for index, text in results:
        assert text == f"echo: request {index} " + "x" * index
    assert len(h2_arena.requests) == streams
    assert all(r.problems == [] for r in h2_arena.requests)
    assert {r.http_version for r in h2_arena.requests} == {"2"}
