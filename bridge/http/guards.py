"""Pure ASGI guards that answer before any route work: who may call, then the body size.

They run before the body is parsed, so a refused or oversized request never costs a
JSON parse, and the answer is the error envelope of the API called (Anthropic's on
/v1/messages*, OpenAI's elsewhere). Besides the API key, a bridge on a loopback
address only answers requests addressed to a loopback name (a web page that rebinds its
own domain to 127.0.0.1 cannot drive it), and /internal/* never answers a request a
browser page sent (one with an Origin header).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Callable
from typing import Any

from ..errors import AuthenticationFailed, BridgeError, NotLoopback, RequestTooLarge
from .anthropic_format import error_body, is_anthropic_path

PROTECTED_PREFIXES = ("/v1/", "/internal/")


def _header(scope: dict[str, Any], wanted: bytes) -> str | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


def _is_loopback(name: str) -> bool:
    try:
        return name == "localhost" or ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _hostname(host: str) -> str:
    """`[::1]:5102` -> `::1`; `localhost:5102` -> `localhost`."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


async def send_error(send: Any, error: BridgeError, scope: dict[str, Any] | None = None) -> None:
    """The error as JSON: Anthropic's shape on the Messages API paths, OpenAI's elsewhere."""
    anthropic = scope is not None and is_anthropic_path(scope["path"])
    payload = json.dumps(error_body(error) if anthropic else error.body()).encode()
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


def _keys(scope: dict[str, Any]) -> list[bytes]:
    """The keys a request presents: `Authorization: Bearer` (OpenAI's) and `x-api-key` (Anthropic's)."""
    keys = [_bearer(scope)]
    keys += [value.strip() for name, value in scope["headers"] if name == b"x-api-key"]
    return keys


def _preflight(scope: dict[str, Any]) -> bool:
    """A CORS preflight (browsers send it without credentials); /internal/* gets none."""
    return (
        scope["method"] == "OPTIONS"
        and _header(scope, b"access-control-request-method") is not None
        and not scope["path"].startswith("/internal/")
    )


class ApiKeyGuard:
    """When `api_key` is set, /v1/* and /internal/* need `Authorization: Bearer <api_key>` (or `x-api-key`);
    without one, a loopback-bound bridge needs a loopback Host."""

    def __init__(self, app: Any, api_key: Callable[[], str], bound_to: Callable[[], str]) -> None:
        self.app = app
        self.api_key = api_key
        self.bound_to = bound_to

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PROTECTED_PREFIXES) and not _preflight(scope):
            refusal = self._refusal(scope)
            if refusal is not None:
                await send_error(send, refusal, scope)
                return
            expected = self.api_key()
            if expected and not any(hmac.compare_digest(key, expected.encode()) for key in _keys(scope)):
                await send_error(
                    send,
                    AuthenticationFailed(
                        "missing or wrong API key: send `Authorization: Bearer <api_key>` (or `x-api-key: <api_key>`) "
                        "with the key set in config.jsonc (or the API_KEY environment variable)"
                    ),
                    scope,
                )
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: dict[str, Any]) -> BridgeError | None:
        if scope["path"].startswith("/internal/") and _header(scope, b"origin") is not None:
            return NotLoopback("/internal/* is for the lmarena-bridge CLI, not for web pages")
        host = _hostname(_header(scope, b"host") or "")
        if self.api_key():
            return None
        if _is_loopback(self.bound_to()) and not _is_loopback(host):
            return NotLoopback(
                f"this bridge listens on loopback and answers only requests to localhost, not to {host!r}; "
                "to serve other names, set host and an api_key"
            )
        if not (_is_loopback(host) or _is_ip_literal(host)):
            # Without a key, a host name could be a web page's own DNS name rebound to this bridge.
            return NotLoopback(
                f"without an api_key this bridge answers requests to an IP address or localhost, not to the name "
                f"{host!r} (a web page could rebind such a name to the bridge); set an api_key to serve names"
            )
        return None


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
                await send_error(
                    send,
                    RequestTooLarge(f"the request body is over {limit} bytes (max_request_bytes); send less"),
                    scope,
                )
                return
            body.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(body), "more_body": False}
            message: dict[str, Any] = await receive()
            return message

        await self.app(scope, replay, send)
