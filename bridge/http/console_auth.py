"""Who may use the console (/ui): the rules, checked on every route and the WebSocket.

- Same origin: a request that carries `Origin` (every POST and WebSocket a browser sends)
  must name this server's Host (or the proxy's `X-Forwarded-Host`); `Sec-Fetch-Site`, when
  sent, must be `same-origin` or `none`. POSTs and WebSockets without `Origin` are refused.
- Without `api_key`: loopback clients only, talking to a loopback Host directly (no proxy
  headers), so neither another machine nor a DNS-rebound web page can drive it.
- With `api_key`: a session. `POST /ui/login {"key"}` compares the key in constant time and
  sets `SESSION_COOKIE` (HttpOnly, SameSite=Strict, Path=/ui): a random token kept in
  `ConsoleSessions`, never the key. Sessions end after `SESSION_SECONDS` or when the key changes.

Refusals are `ConsoleRefused` (a NotLoopback, 403) or `AuthenticationFailed` (401).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from ..errors import AuthenticationFailed, NotLoopback
from .internal import PROXY_HEADERS

SESSION_COOKIE = "lmb_console"
SESSION_SECONDS = 7 * 24 * 3600
MAX_SESSIONS = 64
SAFE_FETCH_SITES = ("same-origin", "none")
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class ConsoleRefused(NotLoopback):
    code = "console_forbidden"


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ConsoleSessions:
    """Random session tokens, each tied to the API key it was opened with."""

    def __init__(self) -> None:
        self._sessions: dict[str, tuple[float, str]] = {}

    def open(self, key: str) -> str:
        now = time.monotonic()
        self._sessions = {t: s for t, s in self._sessions.items() if s[0] > now}
        while len(self._sessions) >= MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))
        token = secrets.token_urlsafe(32)
        self._sessions[token] = (now + SESSION_SECONDS, _fingerprint(key))
        return token

    def valid(self, token: str | None, key: str) -> bool:
        if not token:
            return False
        found = self._sessions.get(token)
        if found is None or found[0] <= time.monotonic():
            return False
        return hmac.compare_digest(found[1], _fingerprint(key))

    def close(self, token: str | None) -> None:
        if token:
            self._sessions.pop(token, None)


def _loopback(name: str) -> bool:
    try:
        return name == "localhost" or ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_port(netloc: str, scheme: str) -> tuple[str, int | None]:
    parts = urlsplit(f"//{netloc}")
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme)


def same_origin(connection: HTTPConnection, *, required: bool) -> None:
    """Refuse a request a page of another origin sent; `required`: refuse one without Origin too."""
    site = connection.headers.get("sec-fetch-site")
    if site is not None and site not in SAFE_FETCH_SITES:
        raise ConsoleRefused(f"the console answers only its own pages, not a {site} request")
    origin = connection.headers.get("origin")
    if origin is None:
        if required:
            raise ConsoleRefused("the console's actions need the Origin header a browser sends")
        return
    parts = urlsplit(origin)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    origin_at = _host_port(parts.netloc, scheme)
    hosts = [connection.headers.get("host"), connection.headers.get("x-forwarded-host")]
    if not any(h and _host_port(h.split(",")[0].strip(), scheme) == origin_at for h in hosts):
        raise ConsoleRefused(f"cross-origin request from {origin!r} refused: the console answers only its own pages")


def local_only(connection: HTTPConnection) -> None:
    """Without an API key: a loopback client, direct, to a loopback Host."""
    client = connection.client.host if connection.client else ""
    host = _host_port(connection.headers.get("host", ""), "http")[0]
    proxied = any(name in connection.headers for name in PROXY_HEADERS)
    if not _loopback(client) or proxied or not _loopback(host):
        raise ConsoleRefused(
            "without an api_key the console answers only this machine (http://127.0.0.1:PORT/ui); "
            "set api_key to open it from elsewhere or through a proxy"
        )


def authorize(connection: HTTPConnection, *, action: bool) -> None:
    """The console's gate: same origin, then the session (or loopback when there is no key).

    `action`: a POST or a WebSocket, which must carry a matching Origin.
    """
    same_origin(connection, required=action)
    key = connection.app.state.config.current().api_key
    if not key:
        local_only(connection)
        return
    if not connection.app.state.console_sessions.valid(connection.cookies.get(SESSION_COOKIE), key):
        raise AuthenticationFailed("log in to the console first: open /ui and enter the api_key", code="console_login")


def check_key(given: str, key: str) -> bool:
    return bool(key) and hmac.compare_digest(given.encode(), key.encode())
