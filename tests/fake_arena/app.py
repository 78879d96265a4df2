"""The fake arena's ASGI application (runs on the server thread's event loop)."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from . import current_site
from .create import answer_create, is_create_path, recaptcha_response, with_recaptcha
from .gate import (
    BLOCKED_PAGE,
    BOTD_PATH,
    CHALLENGE_PAGE,
    CLEARANCE_COOKIE,
    PAGE_PROBE,
    PROBE_PATH,
    VERIFY_PATH,
    botd_source,
    says_headless,
)
from .models import is_image_model, page_html, png_bytes
from .pages import CHECKBOX_PATH, LOGIN_PATH
from .replies import Reply
from .validation import RecordedRequest, check_body, check_content_type

if TYPE_CHECKING:  # pragma: no cover
    from .server import FakeArena

AUTH_COOKIE = "arena-auth-prod-v1"
RETRY_PATH = re.compile(r"^/nextjs-api/stream/retry-evaluation-session-message/([^/]+)/messages/([^/]+)$")
IMAGE_PATH = re.compile(r"^/fake/image/([^/]+)\.png$")


def parse_headers(scope: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Lower-case header dict (repeats joined) and the request's cookies."""
    headers: dict[str, str] = {}
    cookie_parts: list[str] = []
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "cookie":
            cookie_parts.append(value)
        elif name in headers:
            headers[name] += ", " + value
        else:
            headers[name] = value
    cookies: dict[str, str] = {}
    if cookie_parts:
        headers["cookie"] = "; ".join(cookie_parts)
        for part in headers["cookie"].split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name:
                cookies[name] = value
    return headers, cookies


def image_name(prompt: str) -> str:
    """The name of the image the echo draws for `prompt` (served at /fake/image/<name>.png)."""
    return re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")[:40] or "image"


def _set_cookie(name: str, value: str, extra: str = "") -> tuple[bytes, bytes]:
    return b"set-cookie", (f"{name}={value}; Path=/; SameSite=Lax" + extra).encode("latin-1")


class ArenaApp:
    def __init__(
        self,
        arena: FakeArena,
        stopping: asyncio.Event,
        abort_client: Callable[[Any], Awaitable[None]],
    ) -> None:
        self.arena = arena
        self.stopping = stopping
        self.abort_client = abort_client

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        headers, cookies = parse_headers(scope)
        gate = self.arena.gate
        gate.note(headers)
        if await self._other_host(scope, receive, send, headers):
            return
        image = IMAGE_PATH.match(path)
        if gate.enabled and says_headless(headers):
            await _respond(
                send,
                403,
                [("content-type", "text/html; charset=UTF-8"), ("server", "cloudflare")],
                BLOCKED_PAGE.encode(),
            )
        elif path == BOTD_PATH and method in ("GET", "HEAD"):
            await _respond(send, 200, [("content-type", "text/javascript")], botd_source())
        elif path == VERIFY_PATH and method == "POST":
            await self._verify(receive, send, headers)
        elif path == PROBE_PATH and method == "POST":
            gate.page_report((await _read_body(receive)).decode("utf-8", errors="replace"))
            await _respond(send, 204, [], b"")
        elif path.startswith("/recaptcha/") and method in ("GET", "HEAD"):
            query = scope.get("query_string", b"").decode()
            v2 = current_site.recaptcha_v2_response(self.arena, path, query)
            await _respond(send, *(v2 or recaptcha_response(self.arena, path, query)))
        elif path != "/favicon.ico" and not gate.is_cleared(headers, cookies):
            await self._challenge(send, page=not (path.startswith("/nextjs-api/") or path.startswith("/api/")))
        elif await self._current_site(scope, receive, send, headers):
            pass
        elif image and method in ("GET", "HEAD"):
            # Like the API, the images need the login cookie: a client that fetches
            # them outside the browser's cookie jar gets a 401.
            if self.arena.is_authenticated(cookies):
                await _respond(send, 200, [("content-type", "image/png")], png_bytes(image.group(1)))
            else:
                await _respond(send, 401, [("content-type", "application/json")], b'{"error":"Unauthorized"}')
        elif path.startswith("/nextjs-api/") or path.startswith("/api/"):
            await self._api(scope, receive, send, headers, cookies)
        elif path == "/favicon.ico":
            await _respond(send, 404, [("content-type", "text/plain")], b"Not found")
        elif path == LOGIN_PATH and method == "POST":
            await self._login(receive, send)
        elif path == CHECKBOX_PATH and method == "POST":
            await self._tick_checkbox(send, headers)
        elif method in ("GET", "HEAD"):
            await self._page(send, cookies)
        else:
            await _respond(send, 405, [("content-type", "text/plain")], b"Method not allowed")

    async def _lifespan(self, receive: Callable, send: Callable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ------------------------------------------------------------------ gate (gate.py)
    async def _challenge(self, send: Callable, *, page: bool) -> None:
        """Cloudflare's managed challenge: the checking page, or for the API the bare 403."""
        if not page:
            reply = Reply.challenge()
            await _respond(send, reply.status, reply.headers, reply.body)
            return
        headers = [
            ("content-type", "text/html; charset=UTF-8"),
            ("cf-mitigated", "challenge"),
            ("server", "cloudflare"),
            ("cache-control", "no-store"),
        ]
        await _respond(send, 403, headers, CHALLENGE_PAGE.encode("utf-8"))

    async def _verify(self, receive: Callable, send: Callable, headers: dict[str, str]) -> None:
        clearance = self.arena.gate.verify(headers, (await _read_body(receive)).decode("utf-8", errors="replace"))
        if clearance is None:
            await _respond(send, 403, [("content-type", "application/json")], b'{"success":false}')
            return
        cookie = _set_cookie(CLEARANCE_COOKIE, clearance, "; HttpOnly; Max-Age=31536000")
        await _respond(
            send, 200, [("content-type", "application/json"), tuple(v.decode() for v in cookie)], b'{"success":true}'
        )

    async def _other_host(self, scope: dict, receive: Callable, send: Callable, headers: dict) -> bool:
        """The second edition's other hosts (current_site.py), not behind the gate: the old host's
        301 and the upload storage. False: not one of those."""
        arena, path, method = self.arena, scope["path"], scope["method"]
        port = (scope.get("server") or ("", 0))[1]
        query = scope.get("query_string", b"").decode()
        if port == arena.old_port:
            await _respond(send, *current_site.old_host_redirect(arena, path, query))
        elif port == arena.upload_port:
            body = await _read_body(receive)
            await _respond(send, *arena.actions.storage(arena, method, path, query, headers, body))
        else:
            return False
        return True

    async def _current_site(self, scope: dict, receive: Callable, send: Callable, headers: dict) -> bool:
        """The second edition's parts on the arena's host (current_site.py): server actions, JS
        chunks, the RSC model list and the stop endpoint. False: not one of those."""
        arena, path, method = self.arena, scope["path"], scope["method"]
        if method == "POST" and "next-action" in headers and not path.startswith("/nextjs-api/"):
            body = (await _read_body(receive)).decode("utf-8", "replace")
            await _respond(send, *arena.actions.run(arena, headers["next-action"], body))
        elif method == "GET" and (chunk := arena.actions.chunk(path)) is not None:
            await _respond(send, *chunk)
        elif method == "GET" and headers.get("rsc") == "1" and path == "/text/direct":
            await _respond(send, *current_site.rsc_reply(arena.models))
        elif method == "POST" and (stop := current_site.STOP_PATH.match(path)) is not None:
            await _read_body(receive)
            arena._record_stop(stop.group(1), stop.group(2))
            await _respond(send, 200, [("content-type", "application/json")], b'{"success":true}')
        else:
            return False
        return True

    # ------------------------------------------------------------------ page
    async def _page(self, send: Callable, cookies: dict[str, str]) -> None:
        arena = self.arena
        arena._count_page_load()
        if arena.challenge:
            reply = Reply.challenge()
            await _respond(send, reply.status, reply.headers, reply.body)
            return
        headers = [("content-type", "text/html; charset=utf-8"), ("cache-control", "no-store")]
        raw_headers = [(k.encode(), v.encode()) for k, v in headers]
        if "__cf_bm" not in cookies:
            raw_headers.append(_set_cookie("__cf_bm", "fakecfbm." + arena._token, "; HttpOnly"))
        logged_in = arena.is_authenticated(cookies)
        login = None if logged_in else arena.visitor_login()
        if login is not None:
            raw_headers.append(_set_cookie(AUTH_COOKIE, login))
        in_page = not arena.models_in_rsc_only
        html = page_html(arena.models, logged_in=logged_in or login is not None, models_in_page=in_page)
        html = html.replace("</head>", f'<script src="{arena.actions.chunk_path}" async></script></head>', 1)
        if arena.serve_site_key:
            html = with_recaptcha(html, arena.recaptcha.site_key)
        if arena.gate.enabled:
            html = html.replace("</body>", PAGE_PROBE + "</body>", 1)
        body = html.encode("utf-8")
        await send({"type": "http.response.start", "status": 200, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _login(self, receive: Callable, send: Callable) -> None:
        """The login form's POST: with an email and a password, the auth cookie (kept a year, like
        the real one) and back to the page; an incomplete form goes back to the page logged out."""
        raw = bytearray()
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        form = urllib.parse.parse_qs(raw.decode("utf-8", errors="replace"))
        email, password = form.get("email", [""])[0], form.get("password", [""])[0]
        headers = [(b"location", b"/"), (b"content-length", b"0")]
        if email and password:
            self.arena.logins.append(email)
            headers.append(_set_cookie(AUTH_COOKIE, self.arena.auth_cookie_value, "; Max-Age=31536000"))
        await send({"type": "http.response.start", "status": 303, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _tick_checkbox(self, send: Callable, request_headers: dict[str, str]) -> None:
        """The challenge's box was ticked: the challenge ends, with a clearance the gate honours for this
        browser (gate.py), and back to the page."""
        headers = [(b"location", b"/"), (b"content-length", b"0")]
        if self.arena.challenge:
            self.arena.challenge = False
            self.arena.challenges_passed += 1
            clearance = self.arena.gate.clear(request_headers.get("user-agent", ""))
            headers.append(_set_cookie(CLEARANCE_COOKIE, clearance, "; HttpOnly; Max-Age=31536000"))
        await send({"type": "http.response.start", "status": 303, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    # ------------------------------------------------------------------ API
    async def _api(self, scope: dict, receive: Callable, send: Callable, headers: dict, cookies: dict) -> None:
        raw = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            raw += message.get("body", b"")
            if not message.get("more_body", False):
                break
        body_text = raw.decode("utf-8", errors="replace")
        try:
            body_json = json.loads(body_text)
            valid_json = True
        except ValueError:
            body_json, valid_json = None, False
        if is_create_path(scope["path"]):
            reply = answer_create(self.arena, scope, headers, cookies, body_text, image_name)
            await self._send_reply(reply, scope, receive, send)
            return
        match = RETRY_PATH.match(scope["path"])
        record = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            headers=headers,
            cookies=cookies,
            body_text=body_text,
            body_json=body_json,
            session_id=match.group(1) if match else None,
            message_id=match.group(2) if match else None,
            http_version=scope.get("http_version", "1.1"),
        )
        record.problems += self._problems(record, valid_json, match is not None)
        self.arena._record(record)

        if self.arena.challenge:
            reply = Reply.challenge()
        elif match is None:
            reply = Reply.error(404, {"error": "Not found"})
        elif record.method != "PUT":
            reply = Reply.error(405, {"error": "Method not allowed"})
        elif not self.arena.is_authenticated(cookies):
            reply = Reply.error(
                401,
                {"error": f"User anonymous does not have access to evaluation session {record.session_id}"},
            )
        elif not valid_json:
            reply = Reply.error(400, {"error": "Invalid JSON"})
        else:
            reply = self.arena.verdict(cookies) or self.arena._next_reply() or self._echo(record)
        await self._send_reply(reply, scope, receive, send)

    def _problems(self, record: RecordedRequest, valid_json: bool, matched: bool) -> list[str]:
        if not matched:
            return [f"unknown API path {record.path}"]
        problems = []
        if record.method != "PUT":
            problems.append(f"method must be PUT, got {record.method}")
        problems += check_content_type(record.headers.get("content-type"))
        if not valid_json:
            return problems + ["body is not JSON"]
        models = self.arena.models
        image_ids = {m["id"] for m in models if is_image_model(m)}
        known = {m["id"] for m in models}
        return problems + check_body(record.body_json, record.session_id, image_ids, known)

    def _echo(self, record: RecordedRequest) -> Reply:
        messages = [m for m in record.messages if isinstance(m, dict)]
        users = [m for m in messages if m.get("role") == "user"]
        if record.model_id in {m["id"] for m in self.arena.models if is_image_model(m)}:
            prompt = str(users[-1].get("content", "")) if users else ""
            return Reply.images([self.arena.image_url(image_name(prompt))])
        text = "echo: " + str(users[-1].get("content", "")) if users else "echo: "
        side = "b" if messages and all(m.get("participantPosition") == "b" for m in messages) else "a"
        prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
        usage = {"promptTokens": max(1, prompt), "completionTokens": max(1, len(text.split()))}
        return Reply.text(text, side=side, usage=usage)

    async def _send_reply(self, reply: Reply, scope: dict, receive: Callable, send: Callable) -> None:
        disconnected = asyncio.Event()

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    disconnected.set()
                    return

        watcher = asyncio.ensure_future(watch())
        try:
            raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
            try:
                await send({"type": "http.response.start", "status": reply.status, "headers": raw_headers})
                for index, fragment in enumerate(reply.fragments):
                    if index and reply.delay:
                        await _wait_any([disconnected, self.stopping], reply.delay)
                    if disconnected.is_set() or self.stopping.is_set():
                        break
                    await send({"type": "http.response.body", "body": fragment, "more_body": True})
                    await asyncio.sleep(0)
                if reply.end == "hang" and not disconnected.is_set():
                    await _wait_any([disconnected, self.stopping], None)
            except Exception:  # the transport went away under us
                disconnected.set()
            if disconnected.is_set():
                self.arena._note_disconnect()
                return
            if self.stopping.is_set():
                return
            if reply.end == "die":
                await self.abort_client(scope.get("client"))
                return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()


async def _wait_any(events: list[asyncio.Event], timeout: float | None) -> None:
    tasks = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


async def _read_body(receive: Callable) -> bytes:
    raw = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        raw += message.get("body", b"")
        if not message.get("more_body", False):
            break
    return bytes(raw)


async def _respond(send: Callable, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    if not any(k == b"content-length" for k, _ in raw_headers):
        raw_headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


__all__ = ["ArenaApp", "AUTH_COOKIE", "RETRY_PATH", "image_name", "parse_headers"]
