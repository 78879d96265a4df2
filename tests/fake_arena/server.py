"""FakeArena: the fake LMArena site on loopback, served by hypercorn on its own thread."""

from __future__ import annotations

import asyncio
import base64
import collections
import copy
import json
import secrets
import shutil
import socket
import tempfile
import threading
import uuid
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

from .accounts import Penalty
from .app import AUTH_COOKIE, ArenaApp
from .create import RecaptchaStandIn
from .current_site import Evaluations, RecaptchaV2, ServerActions, model_refusal_text
from .gate import CLEARANCE_COOKIE, Gate
from .models import default_models
from .replies import Reply
from .validation import RecordedRequest


class _TrackingLoop(asyncio.SelectorEventLoop):
    """An event loop that remembers each accepted connection's transport by peer address.

    It lets a reply abort its own TCP connection (``Reply.die``), which ASGI
    has no message for.
    """

    def __init__(self) -> None:
        super().__init__()
        self.connections: dict[tuple, asyncio.BaseTransport] = {}

    async def create_server(self, protocol_factory: Any, *args: Any, **kwargs: Any) -> Any:
        connections = self.connections

        def factory() -> Any:
            protocol = protocol_factory()
            made, lost = protocol.connection_made, protocol.connection_lost
            peer_box: list[tuple] = []

            def connection_made(transport: asyncio.BaseTransport) -> None:
                peer = transport.get_extra_info("peername")
                if peer:
                    peer_box.append(tuple(peer[:2]))
                    connections[peer_box[0]] = transport
                made(transport)

            def connection_lost(exc: BaseException | None) -> None:
                if peer_box:
                    connections.pop(peer_box[0], None)
                lost(exc)

            protocol.connection_made = connection_made
            protocol.connection_lost = connection_lost
            return protocol

        return await super().create_server(factory, *args, **kwargs)


def _listener() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    return listener


def _make_auth_value() -> str:
    session = {
        "access_token": "fake-access-" + secrets.token_hex(12),
        "token_type": "bearer",
        "expires_in": 3600,
        "refresh_token": secrets.token_hex(8),
        "user": {"id": str(uuid.uuid4()), "aud": "authenticated", "is_anonymous": True},
    }
    encoded = base64.urlsafe_b64encode(json.dumps(session, separators=(",", ":")).encode())
    return "base64-" + encoded.decode().rstrip("=")


class FakeArena:
    """The fake arena site. ``start()`` serves it; see tests/fake_arena/__init__.py."""

    def __init__(
        self,
        http2: bool = False,
        auto_login: bool = True,
        models: list[dict[str, Any]] | None = None,
        gate: bool = True,
    ) -> None:
        self.http2 = http2
        #: the Cloudflare-like gate (gate.py); ``gate=False`` serves every client
        self.gate = Gate(gate)
        self.auto_login = auto_login
        self._initial_models = copy.deepcopy(models) if models is not None else default_models()
        self.models: list[dict[str, Any]] = copy.deepcopy(self._initial_models)
        self.challenge = False
        #: answers every request when the queue is empty (instead of the echo); for benchmarks
        self.standing_reply: Reply | None = None
        self.recaptcha = RecaptchaStandIn()
        # The site as of protocol.md's second edition (see current_site.py).
        self.recaptcha_v2 = RecaptchaV2()
        self.evaluations = Evaluations()
        self.actions = ServerActions(self.recaptcha_v2.site_key)
        self.models_in_rsc_only = False
        self.unoffered: set[str] = set()  # model ids whose create answers 404 "Models not found"
        self.stops: list[tuple[str, str]] = []
        self.upload_port = 0
        self.old_port = 0
        self.auth_cookie_value = _make_auth_value()
        #: the per-account reCAPTCHA verdict (accounts.py); None: no penalty
        self.penalty: Penalty | None = None
        #: when > 0, each of the first N visitors without a login cookie logs in as an account of
        #: its own (a fresh auth token); visitors after them stay logged out
        self.distinct_logins = 0
        self._accounts: list[str] = []
        #: False: the page loads no reCAPTCHA script, so no site key can be found (a site change)
        self.serve_site_key = True
        self.page_loads = 0
        #: the email of each accepted login form, in order
        self.logins: list[str] = []
        #: how many challenges a person passed by ticking the box
        self.challenges_passed = 0
        self.disconnects = 0
        self.ca_cert_path: str | None = None
        self.url = ""
        self.port = 0
        self._token = secrets.token_hex(8)
        self._lock = threading.Lock()
        self._queue: collections.deque[Reply] = collections.deque()
        self._requests: list[RecordedRequest] = []
        self._disconnected = threading.Event()
        self._started = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: _TrackingLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._tmpdir: str | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeArena:
        if self._thread is not None:
            return self
        listeners = [_listener() for _ in range(3)]  # the arena, the upload host, the old host
        self.port, self.upload_port, self.old_port = (listener.getsockname()[1] for listener in listeners)
        config = Config()
        config.bind = [f"fd://{listener.detach()}" for listener in listeners]
        config.loglevel = "WARNING"
        config.accesslog = None
        config.graceful_timeout = 2.0
        scheme = "http"
        if self.http2:
            config.certfile, config.keyfile = self._write_tls_files()
            config.alpn_protocols = ["h2", "http/1.1"]
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.upload_url = f"{scheme}://127.0.0.1:{self.upload_port}"
        self.old_url = f"{scheme}://127.0.0.1:{self.old_port}"
        self._started.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(config,), name=f"fake-arena-{self.port}", daemon=True)
        self._thread.start()
        if not self._started.wait(15):
            raise RuntimeError("fake arena did not start within 15 s")
        if self._error is not None:
            raise RuntimeError(f"fake arena failed to start: {self._error!r}") from self._error
        return self

    def stop(self) -> None:
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None:
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # loop already closed
                pass
        thread.join(timeout=15)
        self._thread = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> FakeArena:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def _write_tls_files(self) -> tuple[str, str]:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self._tmpdir = tempfile.mkdtemp(prefix="fake-arena-tls-")
        certfile, keyfile = f"{self._tmpdir}/cert.pem", f"{self._tmpdir}/key.pem"
        with open(certfile, "wb") as handle:
            handle.write(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        cert.private_key_pem.write_to_path(keyfile)
        self.ca_cert_path = f"{self._tmpdir}/ca.pem"
        ca.cert_pem.write_to_path(self.ca_cert_path)
        return certfile, keyfile

    def _run(self, config: Config) -> None:
        loop = _TrackingLoop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main(loop, config))
        except BaseException as error:
            self._error = error
        finally:
            self._started.set()
            try:
                pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    async def _main(self, loop: _TrackingLoop, config: Config) -> None:
        self._loop = loop
        self._stopping = asyncio.Event()

        async def abort_client(client: Any) -> None:
            transport = loop.connections.get(tuple(client)) if client else None
            if transport is None:
                return
            await asyncio.sleep(0.05)  # let the fragments already sent leave
            for _ in range(100):
                if transport.get_write_buffer_size() == 0:
                    break
                await asyncio.sleep(0.01)
            transport.abort()

        app = ArenaApp(self, self._stopping, abort_client)
        loop.call_soon(self._started.set)
        await serve(app, config, shutdown_trigger=self._stopping.wait)

    # ------------------------------------------------------------------ test API
    def enqueue(self, reply: Reply) -> None:
        """The next arena API request that gets past auth is answered with ``reply`` (FIFO)."""
        with self._lock:
            self._queue.append(reply)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every API request received, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self.challenge = False
            self.page_loads = 0
            self.disconnects = 0
            self.logins.clear()
            self.challenges_passed = 0
            self.models = copy.deepcopy(self._initial_models)
            self._disconnected.clear()
            self.penalty = None
            self.distinct_logins = 0
            self._accounts.clear()
            self.serve_site_key = True
            self.models_in_rsc_only = False
            self.unoffered = set()
            self.stops = []
        self.recaptcha.reset()
        self.gate.reset()
        self.recaptcha_v2.reset()
        self.evaluations.reset()
        self.actions.reset()

    @property
    def fail_tokens(self) -> int:
        """How many of the next reCAPTCHA tokens issued will fail the check (403)."""
        return self.recaptcha.fail_next

    @fail_tokens.setter
    def fail_tokens(self, count: int) -> None:
        self.recaptcha.fail_next = count

    def redeploy(self) -> None:
        """A new deploy of the site: new server-action ids (the bridge must discover them again)."""
        self.actions.redeploy()

    def model_refusal(self, model_id: Any, modality: Any) -> Reply | None:
        """404 "Models not found" for a model the site does not offer (``unoffered``), else None."""
        if model_id in self.unoffered:
            return Reply.error(404, {"error": model_refusal_text(str(model_id), str(modality))})
        return None

    def _record_stop(self, session_id: str, message_id: str) -> None:
        with self._lock:
            self.stops.append((session_id, message_id))

    def wait_for_disconnect(self, timeout: float = 5.0) -> bool:
        """True once a streamed reply's client went away before the reply finished."""
        return self._disconnected.wait(timeout)

    @staticmethod
    def auth_value(cookies: dict[str, str]) -> str | None:
        """The auth cookie's value, joined from its split parts where needed."""
        value = cookies.get(AUTH_COOKIE)
        if value is None and f"{AUTH_COOKIE}.0" in cookies:
            value = cookies[f"{AUTH_COOKIE}.0"] + cookies.get(f"{AUTH_COOKIE}.1", "")
        return value

    def is_authenticated(self, cookies: dict[str, str]) -> bool:
        value = self.auth_value(cookies)
        with self._lock:
            return value is not None and (value == self.auth_cookie_value or value in self._accounts)

    def visitor_login(self) -> str | None:
        """The auth token a new visitor is logged in with (auto_login), or None to stay logged out."""
        if not self.auto_login:
            return None
        if not self.distinct_logins:
            return self.auth_cookie_value
        with self._lock:
            if len(self._accounts) >= self.distinct_logins:
                return None
            self._accounts.append(_make_auth_value())
            return self._accounts[-1]

    @property
    def accounts(self) -> list[str]:
        """The auth tokens handed out under distinct_logins, in order."""
        with self._lock:
            return list(self._accounts)

    def account_of(self, record: RecordedRequest) -> str | None:
        """The auth token `record` was sent with."""
        return self.auth_value(record.cookies)

    def verdict(self, cookies: dict[str, str]) -> Reply | None:
        """The penalty's answer to one more request with these cookies; None lets it through."""
        token = self.auth_value(cookies)
        return self.penalty.judge(token) if self.penalty is not None and token else None

    def cleared_cookies(self, user_agent: str) -> dict[str, str]:
        """Cookies that let a plain HTTP client with `user_agent` past the gate, as if it had passed
        the check (for tests of the protocol, not of the gate): clearance and login."""
        return {CLEARANCE_COOKIE: self.gate.clear(user_agent), AUTH_COOKIE: self.auth_cookie_value}

    def model_id(self, public_name: str) -> str:
        return next(m["id"] for m in self.models if m.get("publicName") == public_name)

    def image_url(self, name: str = "image") -> str:
        return f"{self.url}/fake/image/{name}.png"

    def retry_path(self, session_id: str | None = None, message_id: str | None = None) -> str:
        return (
            f"/nextjs-api/stream/retry-evaluation-session-message/"
            f"{session_id or uuid.uuid4()}/messages/{message_id or uuid.uuid4()}"
        )

    # ------------------------------------------------------------------ server side
    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_reply(self) -> Reply | None:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return copy.deepcopy(self.standing_reply) if self.standing_reply is not None else None

    def _note_disconnect(self) -> None:
        with self._lock:
            self.disconnects += 1
        self._disconnected.set()

    def _count_page_load(self) -> None:
        with self._lock:
            self.page_loads += 1
