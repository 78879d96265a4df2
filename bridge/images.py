"""Image generation: n parallel arena requests to an image model.

Each image is one arena request (built by ChatService, so sessions, model ids
and the image models' all-"success" statuses are the chat path's). With
`response_format: b64_json` the bytes are downloaded through the browser
context, so the user's cookies apply. Some images failing: the others are
returned; all failing: the first failure, in OpenAI's envelope.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from contextlib import aclosing
from typing import Any

from browser import ArenaMessage, ArenaPage
from browser.stream import ImageResult, TextDelta

from .chat import ChatRequest, ChatService
from .config import Settings
from .errors import BridgeError, InvalidRequest, ModelNotFound, UpstreamError, browser_errors
from .models import Model, ModelRegistry

log = logging.getLogger(__name__)

REFRESH_HINT = "run `lmarena-bridge models --refresh`; image models end in ':image' in models.json"


class ImageService:
    def __init__(self, chat: ChatService, page: ArenaPage, models: ModelRegistry) -> None:
        self.chat = chat
        self.page = page
        self.models = models

    def resolve_model(self, name: str | None) -> str:
        """The image model to use: the one named, or the first image model in models.json."""
        image_models = [m.name for m in self.models.all() if m.image]
        if name is None:
            if not image_models:
                raise ModelNotFound(f"no image model in models.json: {REFRESH_HINT}", param="model")
            return image_models[0]
        model: Model | None = self.models.get(name)
        if model is None:
            raise ModelNotFound(
                f"model {name!r} is not in models.json (image models: {', '.join(image_models) or 'none'}); "
                f"{REFRESH_HINT}",
                param="model",
            )
        if not model.image:
            raise InvalidRequest(
                f"model {name!r} does not make images; use one of: {', '.join(image_models) or 'none'} "
                f"({REFRESH_HINT})",
                param="model",
            )
        return name

    async def generate(
        self,
        prompt: str,
        settings: Settings,
        *,
        model: str | None = None,
        n: int = 1,
        response_format: str = "url",
        size: str | None = None,
    ) -> dict[str, Any]:
        """OpenAI's images response `{"created", "data": [{"url"} | {"b64_json"}]}` for `n` images."""
        name = self.resolve_model(model)
        if self.chat.accounts is not None:
            self.chat.accounts.check_room(n, settings)
        if size:
            log.debug("size %s requested; the arena picks the size itself", size)
        results = await asyncio.gather(
            *(self._one(name, prompt, response_format, settings) for _ in range(n)),
            return_exceptions=True,
        )
        unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, BridgeError)]
        if unexpected:
            raise unexpected[0]
        images = [r for r in results if not isinstance(r, BridgeError)]
        failures = [r for r in results if isinstance(r, BridgeError)]
        if not images:
            raise _all_failed(failures, n)
        if failures:
            log.warning("%d of %d images failed; the first: %s", len(failures), n, failures[0].message)
        return {"created": int(time.time()), "data": images}

    async def _one(
        self, model: str, prompt: str, response_format: str, settings: Settings
    ) -> dict[str, Any] | BridgeError:
        """One image as an OpenAI `data` item, or the BridgeError that stopped it."""
        try:
            url = await self._first_image(model, prompt, settings)
            if response_format == "b64_json":
                return {"b64_json": await self._b64(url, settings)}
            return {"url": url}
        except BridgeError as exc:
            return exc

    async def _first_image(self, model: str, prompt: str, settings: Settings) -> str:
        request = ChatRequest(model, [ArenaMessage("user", prompt)])
        urls: list[str] = []
        text: list[str] = []
        async with aclosing(self.chat.events(request, settings)) as events:
            async for event in events:
                if isinstance(event, ImageResult):
                    urls.append(event.url)
                elif isinstance(event, TextDelta):
                    text.append(event.text)
        if not urls:
            said = "".join(text).strip()
            why = f": {said[:300]}" if said else "; retry, or try another prompt"
            raise UpstreamError("the arena answered without an image" + why)
        if len(urls) > 1:
            log.debug("the arena sent %d images for one request; using the first", len(urls))
        return urls[0]

    async def _b64(self, url: str, settings: Settings) -> str:
        if url.startswith("data:"):
            header, _, payload = url.partition(",")
            if header.endswith(";base64"):
                try:
                    return base64.b64encode(base64.b64decode(payload, validate=True)).decode("ascii")
                except (binascii.Error, ValueError) as exc:
                    raise UpstreamError("the arena sent an image data: URL that is not valid base64") from exc
        with browser_errors():
            page = self.chat.accounts.first_ready().page if self.chat.accounts is not None else self.page
            data = await page.download(url, timeout=settings.stream_response_timeout_seconds)
        return base64.b64encode(data).decode("ascii")


def _all_failed(failures: list[BridgeError], n: int) -> BridgeError:
    """The first failure, its message saying that all n failed."""
    first = failures[0]
    if n == 1:
        return first
    return type(first)(
        f"all {n} image requests failed; the first: {first.message}",
        code=first.code,
        param=first.param,
        retry_after=first.retry_after,
    )
