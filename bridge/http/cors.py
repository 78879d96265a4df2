"""CORS as SPEC says: any origin when `api_key` is set, else only `cors_allow_origins`;
`/internal/*` never. Starlette's CORSMiddleware does the work; this only picks which one.

Preflights (`OPTIONS` with `Access-Control-Request-Method`) are answered here, before the
API-key guard, so they never need the key (browsers send them without credentials).
Request headers are mirrored (so `Authorization` is allowed), `Retry-After` is exposed,
and Chrome's Private Network Access preflight is allowed (a web app calling a bridge on
localhost).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.middleware.cors import CORSMiddleware

NEVER = "/internal"


class Cors:
    """`api_key()` and `allowed()` are read per request, so config changes apply at once."""

    def __init__(self, app: Any, api_key: Callable[[], str], allowed: Callable[[], Sequence[str]]) -> None:
        self.app = app
        self.api_key = api_key
        self.allowed = allowed
        self._any = self._middleware(["*"])
        self._listed: tuple[tuple[str, ...], CORSMiddleware] = ((), self._middleware([]))

    def _middleware(self, origins: Sequence[str]) -> CORSMiddleware:
        return CORSMiddleware(
            self.app,
            allow_origins=origins,
            allow_methods=["*"],
            allow_headers=["*"],
            allow_private_network=True,
            expose_headers=["Retry-After"],
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NEVER):
            await self.app(scope, receive, send)
            return
        await self._pick()(scope, receive, send)

    def _pick(self) -> CORSMiddleware:
        if self.api_key():
            return self._any
        origins = tuple(o.rstrip("/") for o in self.allowed())
        if origins != self._listed[0]:
            self._listed = (origins, self._middleware(origins))
        return self._listed[1]
