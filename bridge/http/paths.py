"""Paths clients get wrong: the routes without `/v1`, and a 404 that names the right path.

Users set the base URL to `http://HOST:PORT` (no `/v1`) or to `.../v1/v1`; SPEC serves
every `/v1` route without the prefix too, and answers any other unknown path with a 404
whose message says which path was meant and which base URL to set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.routing import BaseRoute, Match

V1 = "/v1"
BASE_DEFAULTS = {"POST": "/v1/chat/completions", "GET": "/v1/models", "HEAD": "/v1/models"}


def _matches(routes: Sequence[BaseRoute], scope: Mapping[str, Any], path: str) -> bool:
    probe = {**scope, "path": path, "root_path": ""}
    return any(route.matches(probe)[0] is not Match.NONE for route in routes)


class V1Alias:
    """Serves `/v1/<x>` at `/<x>` too: a path no route has is tried with `/v1` in front."""

    def __init__(self, app: Any, routes: Callable[[], Sequence[BaseRoute]]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and not path.startswith(V1 + "/"):
            routes = self.routes()
            if not _matches(routes, scope, path) and _matches(routes, scope, V1 + path):
                raw = scope.get("raw_path") or path.encode()
                scope = {**scope, "path": V1 + path, "raw_path": V1.encode() + raw}
        await self.app(scope, receive, send)


def suggest(routes: Sequence[BaseRoute], scope: Mapping[str, Any]) -> str | None:
    """The `/v1` path an unknown path most likely meant, or None.

    `/v1/v1/chat/completions`, `/api/v1/chat/completions` -> `/v1/chat/completions`;
    the bare base (`/`, `/v1`) -> the chat route for POST, the model list for GET.
    """
    parts = [p for p in scope.get("path", "").split("/") if p]
    for start in range(len(parts)):
        candidate = V1 + "/" + "/".join(parts[start:])
        if _matches(routes, scope, candidate):
            return candidate
    if all(p == V1[1:] for p in parts):
        return BASE_DEFAULTS.get(scope.get("method", ""))
    return None


def not_found_message(routes: Sequence[BaseRoute], scope: Mapping[str, Any], base_url: str) -> str:
    """What to tell a client whose path matched no route."""
    method, path = scope.get("method", ""), scope.get("path", "")
    base = base_url.rstrip("/")
    guess = suggest(routes, scope)
    if guess is not None:
        return f"{method} {path} is not a route of this bridge: did you mean {guess}? set the base URL to {base}/v1"
    return (
        f"{method} {path} is not a route of this bridge; its OpenAI API is under {base}/v1 "
        "(POST /v1/chat/completions, GET /v1/models, POST /v1/images/generations)"
    )
