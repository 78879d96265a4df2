"""`POST /v1/images/generations`: OpenAI's images API over `ImageService`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..images import ImageService
from .disconnect import unless_disconnected
from .schemas import ImageGenerationRequest

router = APIRouter(prefix="/v1")


@router.post("/images/generations")
async def image_generations(body: ImageGenerationRequest, request: Request) -> dict[str, Any]:
    """The images; a client that leaves first cancels the work, which aborts the in-page fetches."""
    service: ImageService = request.app.state.images
    settings = request.app.state.config.current()
    return await unless_disconnected(
        request,
        service.generate(
            body.prompt, settings, model=body.model, n=body.n, response_format=body.response_format, size=body.size
        ),
    )
