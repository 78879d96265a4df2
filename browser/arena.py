"""Everything lmarena-bridge knows about the LMArena site, in one place.

URLs, regexes, cookie names, challenge markers, the retry request body and the
stream line format all live here, so that a change on the site is a fix in this
file (and in `stream.py` for the line grammar it imports from here).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .errors import ArenaFailure, FailureKind

DEFAULT_ARENA_URL = "https://lmarena.ai"

AUTH_COOKIE = "arena-auth-prod-v1"
AUTH_COOKIE_PARTS = ("arena-auth-prod-v1.0", "arena-auth-prod-v1.1")
CLOUDFLARE_COOKIES = ("cf_clearance", "__cf_bm", "_cfuvid")

RETRY_PATH = "/nextjs-api/stream/retry-evaluation-session-message/{session_id}/messages/{message_id}"
RETRY_URL_RE = re.compile(
    r"/nextjs-api/stream/retry-evaluation-session-message/([a-f0-9-]+)/messages/([a-f0-9-]+)"
)
REQUEST_HEADERS = {"Content-Type": "text/plain;charset=UTF-8", "Accept": "*/*"}

CHALLENGE_TITLES = ("Just a moment",)
CHALLENGE_MARKERS = ("<title>Just a moment...</title>", "Enable JavaScript and cookies to continue")

# Stream lines: `<side><type>:<json>`, sometimes wrapped as `data: ...`.
STREAM_LINE_RE = re.compile(r"^([ab])([0-9a-z]):(.*)$", re.DOTALL)
SSE_WRAPPER = "data: "
SIDE_A, SIDE_B = "a", "b"
TYPE_TEXT, TYPE_REASONING, TYPE_DATA, TYPE_ERROR, TYPE_FINISH = "0", "g", "2", "3", "d"
FINISH_REASONS = {"stop": "stop", "length": "length", "content-filter": "content_filter"}

NEXT_FLIGHT_RE = re.compile(r'self\.__next_f\.push\(\[\d+,\s*("(?:[^"\\]|\\.)*")\]\)', re.DOTALL)
INITIAL_MODELS_KEY = '"initialModels":'
MODEL_OBJECT_RE = re.compile(r'\{"id":"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"')

MODES = ("direct_chat", "battle")
BATTLE_TARGETS = ("A", "B")


@dataclass(frozen=True, slots=True)
class ArenaMessage:
    """One message of the conversation, already in the arena's roles."""

    role: str  # "user" | "assistant" | "system"
    content: str
    attachments: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SessionIds:
    """A captured retry target: the ids and the mode they were captured in."""

    session_id: str
    message_id: str
    mode: str = "direct_chat"
    battle_target: str = "A"


@dataclass(frozen=True, slots=True)
class ArenaRequest:
    """What the page script fetches: a relative path on the page's own origin."""

    method: str
    path: str
    body: str
    headers: Mapping[str, str] = field(default_factory=lambda: dict(REQUEST_HEADERS))

    def to_page(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "headers": dict(self.headers), "body": self.body}


def participant_position(role: str, mode: str, battle_target: str) -> str:
    """The seed's rule: battle takes the target's side; direct chat is `a`, system `b`."""
    if mode == "battle":
        return battle_target.lower()
    return "b" if role == "system" else "a"


def build_retry_request(
    messages: Sequence[ArenaMessage],
    session: SessionIds,
    model_id: str | None,
    *,
    image: bool = False,
) -> ArenaRequest:
    """The retry protocol's PUT: the whole chain, each message pointing at the one before."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    chain: list[dict[str, Any]] = []
    parent: str | None = None
    for index, message in enumerate(messages):
        message_id = str(uuid.uuid4())
        last = index == len(messages) - 1
        chain.append(
            {
                "role": message.role,
                "content": message.content,
                "id": message_id,
                "evaluationId": None,
                "evaluationSessionId": session.session_id,
                "parentMessageIds": [parent] if parent else [],
                "experimental_attachments": [dict(a) for a in message.attachments],
                "failureReason": None,
                "metadata": None,
                "participantPosition": participant_position(
                    message.role, session.mode, session.battle_target
                ),
                "createdAt": now,
                "updatedAt": now,
                "status": "pending" if last and not image else "success",
            }
        )
        parent = message_id
    path = RETRY_PATH.format(session_id=session.session_id, message_id=session.message_id)
    body = json.dumps({"messages": chain, "modelId": model_id}, ensure_ascii=False)
    return ArenaRequest("PUT", path, body)


def parse_retry_url(url: str) -> tuple[str, str] | None:
    """The (session_id, message_id) a Retry request's URL carries, if it is one."""
    match = RETRY_URL_RE.search(url)
    return (match.group(1), match.group(2)) if match else None


def is_challenge_title(title: str) -> bool:
    return any(marker in title for marker in CHALLENGE_TITLES)


def is_challenge_body(text: str) -> bool:
    return any(marker in text for marker in CHALLENGE_MARKERS)


def has_auth_cookie(cookie_names: Iterable[str]) -> bool:
    names = set(cookie_names)
    return AUTH_COOKIE in names or all(part in names for part in AUTH_COOKIE_PARTS)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _error_text(body: str) -> str:
    """The arena's own words from an error body: its JSON `error`, else the text."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:500]
    if isinstance(data, dict) and "error" in data:
        error = data["error"]
        return error if isinstance(error, str) else json.dumps(error, ensure_ascii=False)[:500]
    return json.dumps(data, ensure_ascii=False)[:500]


_STATUS_KINDS = {
    400: FailureKind.BAD_REQUEST,
    401: FailureKind.UNAUTHORIZED,
    404: FailureKind.MODEL_NOT_FOUND,
    413: FailureKind.TOO_LARGE,
    422: FailureKind.FLAGGED,
    429: FailureKind.RATE_LIMITED,
}


def classify_failure(status: int, headers: Mapping[str, str], body: str) -> ArenaFailure:
    """Turn an arena error response into a typed failure."""
    text = _error_text(body)
    if status == 403 and is_challenge_body(body):
        kind = FailureKind.CHALLENGE
    elif status == 403 and "recaptcha" in text.lower():
        kind = FailureKind.RECAPTCHA
    else:
        kind = _STATUS_KINDS.get(status, FailureKind.UPSTREAM)
    return ArenaFailure(kind, text or f"HTTP {status}", status=status, retry_after=_retry_after(headers))


def extract_models(html: str) -> list[dict[str, Any]]:
    """The model objects embedded in the page's Next.js flight data."""
    flight = "".join(json.loads(chunk) for chunk in NEXT_FLIGHT_RE.findall(html))
    decoder = json.JSONDecoder()
    start = flight.find(INITIAL_MODELS_KEY)
    if start >= 0:
        try:
            models, _ = decoder.raw_decode(flight, start + len(INITIAL_MODELS_KEY))
            if isinstance(models, list):
                return [m for m in models if isinstance(m, dict) and "id" in m]
        except ValueError:
            pass
    found: dict[str, dict[str, Any]] = {}
    for match in MODEL_OBJECT_RE.finditer(flight):
        try:
            obj, _ = decoder.raw_decode(flight, match.start())
        except ValueError:
            continue
        if isinstance(obj, dict) and "publicName" in obj:
            found.setdefault(obj["id"], obj)
    return list(found.values())


def is_image_model(model: Mapping[str, Any]) -> bool:
    outputs = (model.get("capabilities") or {}).get("outputCapabilities") or {}
    return bool(outputs.get("image"))
