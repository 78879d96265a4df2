"""`POST /v1/images/generations`: n parallel arena requests to an image model.

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

from fastapi import APIRouter, Request

from browser import ArenaPage
from browser.errors import BrowserError
from browser.stream import ImageResult, TextDelta

from .api import unless_disconnected
from .chat import ChatService
from .config import Settings
from .errors import BridgeError, InvalidRequest, ModelNotFound, UpstreamError, from_browser
from .models import Model, ModelRegistry
from .schemas import ChatCompletionRequest, ChatMessage, ImageGenerationRequest

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

    async def generate(self, body: ImageGenerationRequest, settings: Settings) -> dict[str, Any]:
        model = self.resolve_model(body.model)
        if body.size:
            log.debug("size %s requested; the arena picks the size itself", body.size)
        results = await asyncio.gather(
            *(self._one(model, body.prompt, body.response_format, settings) for _ in range(body.n)),
            return_exceptions=True,
        )
        unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, BridgeError)]
        if unexpected:
            raise unexpected[0]
        images = [r for r in results if not isinstance(r, BridgeError)]
        failures = [r for r in results if isinstance(r, BridgeError)]
        if not images:
            raise _all_failed(failures, body.n)
        if failures:
            log.warning("%d of %d images failed; the first: %s", len(failures), body.n, failures[0].message)
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
        request = ChatCompletionRequest(model=model, messages=[ChatMessage(role="user", content=prompt)])
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
        try:
            data = await self.page.download(url, timeout=settings.stream_response_timeout_seconds)
        except BrowserError as exc:
            raise from_browser(exc) from exc
        return base64.b64encode(data).decode("ascii")


def _all_failed(failures: list[BridgeError], n: int) -> BridgeError:
    """The first failure, its message saying that all n failed."""
    first = failures[0]
    if n == 1:
        return first
    error = type(first)(
        f"all {n} image requests failed; the first: {first.message}",
        code=first.code,
        param=first.param,
        retry_after=first.retry_after,
    )
    error.status, error.type = first.status, first.type
    return error


router = APIRouter(prefix="/v1")


@router.post("/images/generations")
async def image_generations(body: ImageGenerationRequest, request: Request) -> dict[str, Any]:
    """The images; a client that leaves first cancels the work, which aborts the in-page fetches."""
    service: ImageService = request.app.state.images
    return await unless_disconnected(request, service.generate(body, request.app.state.config.current()))
