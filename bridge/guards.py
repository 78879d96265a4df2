"""Pure ASGI guards that answer before any route work: the API key, then the body size.

Both run before the body is parsed, so an unauthenticated or oversized request never
costs a JSON parse, and the answer is OpenAI's error envelope.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

from .errors import AuthenticationFailed, BridgeError, RequestTooLarge

PROTECTED_PREFIXES = ("/v1/", "/internal/")


async def send_error(send: Any, error: BridgeError) -> None:
    payload = json.dumps(error.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers().items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _bearer(scope: dict[str, Any]) -> bytes:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" else b""
    return b""


class ApiKeyGuard:
    """When `api_key` is set, /v1/* and /internal/* need `Authorization: Bearer <api_key>`."""

    def __init__(self, app: Any, api_key: Callable[[], str]) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PROTECTED_PREFIXES):
            expected = self.api_key()
            if expected and not hmac.compare_digest(_bearer(scope), expected.encode()):
                await send_error(send, AuthenticationFailed(
                    "missing or wrong API key: send `Authorization: Bearer <api_key>` with the key set in "
                    "config.jsonc (or the API_KEY environment variable)"
                ))
                return
        await self.app(scope, receive, send)


class BodySizeLimit:
    """Reads the body (up to `limit() + 1` bytes), then replays it to the app; 413 beyond."""

    def __init__(self, app: Any, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        body, more, size = [], True, 0
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await send_error(send, RequestTooLarge(
                    f"the request body is over {limit} bytes (max_request_bytes); send less"
                ))
                return
            body.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
