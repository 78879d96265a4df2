"""The fake arena's create-evaluation protocol (protocol.md section 2) and its reCAPTCHA stand-in.

How the real page gets its tokens: it loads Google's reCAPTCHA Enterprise script as
``<script src="https://www.google.com/recaptcha/enterprise.js?render=<site key>">``; the
script defines ``grecaptcha.enterprise.ready/execute(siteKey, {action})``, and the arena's
server checks each token (single use, about 120 s of life, bound to its action).

Offline, the fake page loads a stand-in from its own origin at the same path,
``/recaptcha/enterprise.js?render=<site key>``: the site key sits in the script URL just
as on the real site, so the bridge finds it the same way. The stand-in's ``execute`` asks
``/recaptcha/enterprise/token?key=..&action=..`` for a token, which needs the right key.
``arena.fail_tokens = N`` makes the next N tokens issued fail the server's check (403
``{"error":"recaptcha validation failed"}``), as a low reCAPTCHA score does.

``POST /nextjs-api/stream/create-evaluation`` (and ``post-to-evaluation/{id}``) checks
the body strictly; broken rules go to ``RecordedRequest.problems``. A token that is unknown,
reused, stale or for another action is a problem and a 403; a token failed on purpose is
only a 403. The answer is the next queued ``Reply``, else an echo: ``"echo: "`` followed by
the whole ``userMessage.content`` (a folded transcript is echoed whole), or for an image
model an image named after that content.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .models import is_image_model, model_modality
from .replies import Reply
from .validation import RecordedRequest, check_content_type, is_uuid

if TYPE_CHECKING:  # pragma: no cover
    from .server import FakeArena

CREATE_PATH = "/nextjs-api/stream/create-evaluation"
POST_TO_PATH = re.compile(r"^/nextjs-api/stream/post-to-evaluation/([^/]+)$")
SCRIPT_PATH = "/recaptcha/enterprise.js"
TOKEN_PATH = "/recaptcha/enterprise/token"
ACTION = "chat_submit"
TOKEN_LIFETIME = 120.0
ID_KEYS = ("id", "userMessageId", "modelAMessageId", "modelBMessageId")
TOKEN_KEYS = ("recaptchaV3Token", "recaptchaV2Token")
CREATE_KEYS = frozenset({*ID_KEYS, "mode", "modelAId", "userMessage", "modality"})
POST_TO_KEYS = CREATE_KEYS - {"mode"}
CREATE_MODE = "direct-battle"
DIRECT_REFUSED = "'direct' mode is not allowed when starting a new conversation"
BATTLE_TURN = "Bad next turn request in Battles in Direct mode. DIRECT was requested, but expected a BATTLE turn"
USER_MESSAGE_KEYS = frozenset({"content", "experimental_attachments", "metadata"})
ATTACHMENT_KEYS = frozenset({"name", "contentType", "url"})
RECAPTCHA_FAILED = {"error": "recaptcha validation failed"}

STAND_IN_JS = (
    """
(() => {
  const enterprise = {
    ready(callback) { setTimeout(callback, 0); },
    async execute(siteKey, options) {
      const query = new URLSearchParams({ key: siteKey, action: (options && options.action) || "" });
      const response = await fetch("%s?" + query, { credentials: "include", cache: "no-store" });
      if (!response.ok) throw new Error("reCAPTCHA: " + (await response.text()));
      // Like the real script, look at the browser again once a token is asked for (gate.py).
      if (window.__fakeArenaProbe) setTimeout(() => window.__fakeArenaProbe("execute"), 300);
      return (await response.json()).token;
    },
  };
  window.grecaptcha = { enterprise };
})();
"""
    % TOKEN_PATH
)


def is_create_path(path: str) -> bool:
    return path == CREATE_PATH or POST_TO_PATH.match(path) is not None


def script_tag(site_key: str) -> str:
    return f'<script src="{SCRIPT_PATH}?render={site_key}"></script>'


def with_recaptcha(html: str, site_key: str) -> str:
    """The page with the stand-in's script in its <head>, as the real page loads Google's."""
    return html.replace("</head>", script_tag(site_key) + "</head>", 1)


@dataclass
class _Token:
    issued: float
    action: str
    fails: bool
    used: bool = False


class RecaptchaStandIn:
    """Issues and checks tokens; thread-safe (tests set switches from their own thread).

    ``refuse_all``: every token fails the check (an account whose verdict is bad).
    """

    action = ACTION

    def __init__(self) -> None:
        self.site_key = "6L" + secrets.token_urlsafe(30)[:38]
        self.lifetime = TOKEN_LIFETIME
        self.refuse_all = False
        self._fail_next = 0
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.lifetime = TOKEN_LIFETIME
            self.refuse_all = False
            self._fail_next = 0
            self._tokens.clear()

    @property
    def fail_next(self) -> int:
        with self._lock:
            return self._fail_next

    @fail_next.setter
    def fail_next(self, count: int) -> None:
        with self._lock:
            self._fail_next = max(0, count)

    @property
    def issued(self) -> int:
        with self._lock:
            return len(self._tokens)

    def issue(self, site_key: str, action: str) -> str | None:
        """A fresh token, or None for a wrong site key."""
        if site_key != self.site_key:
            return None
        token = "fake-rc." + secrets.token_urlsafe(24)
        with self._lock:
            fails = self._fail_next > 0
            self._fail_next -= int(fails)
            fails = fails or self.refuse_all
            self._tokens[token] = _Token(time.monotonic(), action, fails)
        return token

    def redeem(self, token: Any) -> tuple[bool, str | None]:
        """(accepted, problem): a problem is the client's fault; a token failed on purpose has none."""
        with self._lock:
            entry = self._tokens.get(token) if isinstance(token, str) else None
            if entry is None:
                return False, f"recaptchaV3Token {str(token)[:40]!r} was not issued by grecaptcha.enterprise"
            if entry.used:
                return False, "recaptchaV3Token was used before (tokens are single use)"
            entry.used = True
            if time.monotonic() - entry.issued >= self.lifetime:
                return False, f"recaptchaV3Token is older than {self.lifetime:g} s"
            if entry.action != self.action:
                return False, f"the token was minted for action {entry.action!r}, not {self.action!r}"
            return not entry.fails, None


def recaptcha_response(arena: FakeArena, path: str, query: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """The stand-in script, or a token for `?key=..&action=..` (400 for a wrong site key)."""
    if path == SCRIPT_PATH:
        return 200, [("content-type", "text/javascript"), ("cache-control", "no-store")], STAND_IN_JS.encode()
    if path != TOKEN_PATH:
        return 404, [("content-type", "text/plain")], b"Not found"
    params = {k: v[0] for k, v in parse_qs(query).items()}
    token = arena.recaptcha.issue(params.get("key", ""), params.get("action", ""))
    if token is None:
        return 400, [("content-type", "text/plain")], b"Invalid site key or not loaded in api.js"
    return 200, [("content-type", "application/json")], json.dumps({"token": token}).encode()


def answer_create(
    arena: FakeArena,
    scope: dict[str, Any],
    headers: dict[str, str],
    cookies: dict[str, str],
    body_text: str,
    image_name: Callable[[str], str],
) -> Reply:
    """Record a create-evaluation / post-to-evaluation request and choose its answer."""
    path, method = scope["path"], scope["method"]
    follow_up = POST_TO_PATH.match(path)
    try:
        body, valid_json = json.loads(body_text), True
    except ValueError:
        body, valid_json = None, False
    record = RecordedRequest(
        method=method,
        path=path,
        headers=headers,
        cookies=cookies,
        body_text=body_text,
        body_json=body,
        session_id=follow_up.group(1) if follow_up else None,
        http_version=scope.get("http_version", "1.1"),
        recaptcha_token=_token(body),
    )
    if method != "POST":
        record.problems.append(f"method must be POST, got {method}")
    record.problems += check_content_type(headers.get("content-type"))
    if valid_json:
        record.problems += check_create_body(body, arena.models, evaluation_id=record.session_id)
        message = body.get("userMessage") if isinstance(body, dict) else None
        if isinstance(message, dict):
            record.problems += arena.actions.check_attachments(arena, message.get("experimental_attachments"))
    else:
        record.problems.append("body is not JSON")
    reply = _decide(arena, record, cookies, valid_json)
    arena._record(record)
    return reply or arena._next_reply() or _echo(arena, record, image_name)


def _decide(arena: FakeArena, record: RecordedRequest, cookies: dict[str, str], valid_json: bool) -> Reply | None:
    """An error reply where the real site would give one; None lets the request through."""
    if arena.challenge:
        return Reply.challenge()
    if record.method != "POST":
        return Reply.error(405, {"error": "Method not allowed"})
    if not arena.is_authenticated(cookies):
        return Reply.error(401, {"error": "User anonymous is not signed in"})
    if not valid_json:
        return Reply.error(400, {"error": "Invalid JSON"})
    verdict = arena.verdict(cookies)
    if verdict is not None:
        return verdict
    body = record.body_json if isinstance(record.body_json, dict) else {}
    if record.session_id is None and body.get("mode") == "direct":
        return Reply.error(400, {"error": DIRECT_REFUSED})
    if "recaptchaV2Token" in body:
        accepted, problem = arena.recaptcha_v2.redeem(body["recaptchaV2Token"])
    else:
        accepted, problem = arena.recaptcha.redeem(record.recaptcha_token)
    if problem:
        record.problems.append(problem)
    if not accepted:
        return Reply.error(403, RECAPTCHA_FAILED)
    if not arena.evaluations.take_turn(record.session_id, body.get("id")):
        return Reply.error(400, {"error": BATTLE_TURN})
    return arena.model_refusal(body.get("modelAId"), body.get("modality"))


def check_create_body(body: Any, models: list[dict[str, Any]], *, evaluation_id: str | None) -> list[str]:
    """Every way `body` breaks the create-evaluation rules (post-to-evaluation with `evaluation_id`)."""
    if not isinstance(body, dict):
        return [f"body must be a JSON object, got {type(body).__name__}"]
    expected = CREATE_KEYS if evaluation_id is None else POST_TO_KEYS
    problems: list[str] = []
    tokens = [key for key in TOKEN_KEYS if key in body]
    missing, extra = sorted(expected - set(body)), sorted(set(body) - expected - set(TOKEN_KEYS))
    if missing or extra:
        problems.append(f"body keys wrong: missing {missing}, extra {extra}")
    if len(tokens) != 1:
        problems.append(f"body must carry exactly one of {TOKEN_KEYS}, got {tokens}")
    ids = [body.get(key) for key in ID_KEYS]
    problems += [f"{key} must be a uuid7 string, got {v!r}" for key, v in zip(ID_KEYS, ids) if not is_uuid(v, 7)]
    if len(set(map(str, ids))) != len(ids):
        problems.append(f"the ids must differ: {ids}")
    if evaluation_id is None and body.get("mode") != CREATE_MODE:
        problems.append(f"mode must be {CREATE_MODE!r}, got {body.get('mode')!r}")
    if evaluation_id is not None and body.get("id") != evaluation_id:
        problems.append(f"id must be the URL's evaluation id {evaluation_id}, got {body.get('id')!r}")
    model = next((m for m in models if m.get("id") == body.get("modelAId")), None)
    if model is None:
        problems.append(f"modelAId {body.get('modelAId')!r} is not a model of the page")
    else:
        modality = model_modality(model)
        if body.get("modality") != modality:
            problems.append(f"modality must be {modality!r} for {model['publicName']}, got {body.get('modality')!r}")
    for key in tokens:
        if not isinstance(body.get(key), str) or not body.get(key):
            problems.append(f"{key} must be a token string, got {body.get(key)!r}")
    return problems + _check_user_message(body.get("userMessage"))


def _token(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    return body.get("recaptchaV3Token", body.get("recaptchaV2Token"))


def _check_user_message(message: Any) -> list[str]:
    if not isinstance(message, dict) or set(message) != USER_MESSAGE_KEYS:
        return [f"userMessage must have exactly {sorted(USER_MESSAGE_KEYS)}, got {message!r}"[:300]]
    problems = []
    if not isinstance(message["content"], str) or not message["content"]:
        problems.append("userMessage.content must be a non-empty string")
    if not isinstance(message["metadata"], dict):
        problems.append("userMessage.metadata must be an object")
    attachments = message["experimental_attachments"]
    if not isinstance(attachments, list):
        return problems + ["userMessage.experimental_attachments must be a list"]
    for number, item in enumerate(attachments):
        if not isinstance(item, dict) or set(item) != ATTACHMENT_KEYS or not all(map(is_string, item.values())):
            problems.append(f"userMessage.experimental_attachments[{number}] must have string name, contentType, url")
    return problems


def is_string(value: Any) -> bool:
    return isinstance(value, str)


def _echo(arena: FakeArena, record: RecordedRequest, image_name: Callable[[str], str]) -> Reply:
    body = record.body_json if isinstance(record.body_json, dict) else {}
    message = body.get("userMessage") if isinstance(body.get("userMessage"), dict) else {}
    content = str(message.get("content", ""))
    if body.get("modelAId") in {m["id"] for m in arena.models if is_image_model(m)}:
        return Reply.images([arena.image_url(image_name(content))])
    text = "echo: " + content
    if body.get("modality") == "search":  # a search model cites where it looked
        return Reply.search(text, [("Fake search result", f"https://search.example/{image_name(content)}")])
    usage = {"promptTokens": max(1, len(content.split())), "completionTokens": max(1, len(text.split()))}
    return Reply.text(text, usage=usage)


__all__ = [
    "CREATE_PATH",
    "POST_TO_PATH",
    "RecaptchaStandIn",
    "answer_create",
    "check_create_body",
    "is_create_path",
    "recaptcha_response",
    "with_recaptcha",
]
