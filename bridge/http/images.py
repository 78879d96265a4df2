"""`POST /v1/images/generations`: OpenAI's images API over `ImageService`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..activity import RequestLog
from ..errors import BridgeError
from ..images import ImageService
from .console_accounts import serving_account
from .disconnect import unless_disconnected
from .schemas import ImageGenerationRequest

router = APIRouter(prefix="/v1")


@router.post("/images/generations")
async def image_generations(body: ImageGenerationRequest, request: Request) -> dict[str, Any]:
    """The images; a client that leaves first cancels the work, which aborts the in-page fetches."""
    service: ImageService = request.app.state.images
    settings = request.app.state.config.current()
    requests: RequestLog = request.app.state.request_log
    record = requests.start(
        "images.generations",
        body.model or "",
        account=serving_account(request.app),
        stream=False,
        prompt=body.prompt if settings.console_log_content else None,
    )
    try:
        result: dict[str, Any] = await unless_disconnected(
            request,
            service.generate(
                body.prompt, settings, model=body.model, n=body.n, response_format=body.response_format, size=body.size
            ),
        )
    except BridgeError as exc:
        requests.finish(record, exc.status, exc.code)
        raise
    except BaseException:
        requests.finish(record, 499, "client_closed_request")
        raise
    record.size = len(result.get("data", []))
    requests.finish(record, 200)
    return result
