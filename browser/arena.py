"""Everything lmarena-bridge knows about the LMArena site, in one place.

URLs, regexes, cookie names, challenge markers, the retry request body and the
stream line format all live here, so that a change on the site is a fix in this
file (and in `stream.py` for the line grammar it imports from here).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .errors import ArenaFailure, FailureKind

DEFAULT_ARENA_URL = "https://arena.ai"
# The site's old host (lmarena.ai) answers 301 to the new one, which turns POSTs into 405s, so a
# configured host that answers a permanent redirect to another host is followed once at start-up.
MOVED_STATUSES = (301, 308)

AUTH_COOKIE = "arena-auth-prod-v1"
AUTH_COOKIE_PARTS = ("arena-auth-prod-v1.0", "arena-auth-prod-v1.1")
CLOUDFLARE_COOKIES = ("cf_clearance", "__cf_bm", "_cfuvid")
# Sites whose cookies are the arena's, beside the host of the configured arena_url.
ARENA_COOKIE_SITES = ("lmarena.ai", "arena.ai")

RETRY_PATH = "/nextjs-api/stream/retry-evaluation-session-message/{session_id}/messages/{message_id}"
RETRY_URL_RE = re.compile(r"/nextjs-api/stream/retry-evaluation-session-message/([a-f0-9-]+)/messages/([a-f0-9-]+)")
REQUEST_HEADERS = {"Content-Type": "text/plain;charset=UTF-8", "Accept": "*/*"}

# Create-evaluation protocol (protocol.md section 2): no captured ids, a reCAPTCHA token instead.
CREATE_PATH = "/nextjs-api/stream/create-evaluation"
POST_TO_EVALUATION_PATH = "/nextjs-api/stream/post-to-evaluation/{evaluation_id}"
# "direct" is refused for a new conversation (400); the site's own direct page sends "direct-battle".
CREATE_MODE = "direct-battle"
MODALITY_CHAT, MODALITY_SEARCH, MODALITY_IMAGE = "chat", "search", "image"
MODALITIES = (MODALITY_CHAT, MODALITY_SEARCH, MODALITY_IMAGE)
# A direct-battle session that turned into a battle refuses follow-ups with this 400.
BATTLE_TURN_MARKER = "expected a BATTLE turn"
RECAPTCHA_ACTION = "chat_submit"
RECAPTCHA_BODY_KEY = "recaptchaV3Token"
RECAPTCHA_V2_BODY_KEY = "recaptchaV2Token"
# The page loads reCAPTCHA Enterprise as `<script src=".../recaptcha/enterprise.js?render=<site key>">`,
# its widget frame as `.../recaptcha/enterprise/anchor?...&k=<site key>`, and its scripts call
# `grecaptcha.enterprise.execute("<site key>", ...)`: the key is read from those (script/iframe src,
# else the page's inline scripts) at run time, never stored.
# Used as JavaScript RegExps by mint.js and page.js too: keep them to syntax both languages share, one group.
RECAPTCHA_SITE_KEY_RE = re.compile(
    r"(?:recaptcha/enterprise(?:\.js\?(?:[^\"'\s<>]*&)?render=|/anchor\?(?:[^\"'\s<>]*&)?k=)"
    r"|\.execute\(\s*[\"'])([\w-]{20,})"
)
# The v2 checkbox ("Security Verification") has its own key, given to `render(el, {sitekey: ...})`
# in the page's scripts or as a `data-sitekey` attribute.
RECAPTCHA_V2_SITE_KEY_RE = re.compile(r"(?:data-sitekey=[\"']|[\"']?sitekey[\"']?\s*:\s*[\"'])([\w-]{20,})")
RECAPTCHA_TIMEOUT_MS = 15_000
# A v2 widget that shows an image challenge needs a person: how long to wait for one to solve it.
RECAPTCHA_V2_CHALLENGE_WAIT_MS = 3_000
RECAPTCHA_V2_CHALLENGE_WAIT_HEADED_MS = 120_000
# The challenge frame reCAPTCHA opens when the checkbox escalates to an image puzzle.
RECAPTCHA_CHALLENGE_FRAME_PATTERN = r"recaptcha/(?:enterprise|api2)/bframe"
# The site's Stop button (protocol.md section 2): ends an answer upstream.
STOP_PATH = "/nextjs-api/stream/stop/{session_id}/messages/{message_id}"

# Attachments (protocol.md section 3): server actions named in the page's JS chunks as
# `createServerReference)("<id>",callServer,void 0,findSourceMapURL,"<name>")`; a POST to the page's
# path with a `Next-Action` header calls one, and line `1:` of its RSC reply holds the result.
# Used as a JavaScript RegExp by page.js: group 1 the id, group 2 the name.
SERVER_ACTION_RE = re.compile(r'createServerReference\)\(\s*"([0-9a-f]{32,})"[^"]*"([A-Za-z_$][\w$]*)"\s*\)')
UPLOAD_ACTIONS = ("generateUploadUrl", "getSignedUrl")
ACTION_HEADER = "Next-Action"
ACTION_HEADERS = {"Accept": "text/x-component", "Content-Type": "text/plain;charset=UTF-8"}
ACTION_RESULT_PREFIX = "1:"
# Next.js answers an action id of another deploy with 404 and this header or text.
ACTION_NOT_FOUND_HEADER = "x-nextjs-action-not-found"
ACTION_NOT_FOUND_PATTERN = r"Server action not found|Failed to find Server Action"
# The model list outside the page: the RSC reply of the chat page fetched with this header.
MODELS_RSC_PATH = "/text/direct"
RSC_HEADERS = {"RSC": "1"}

# Transcript of a folded conversation (the create protocol has no history array).
TRANSCRIPT_LABELS = {"system": "System", "user": "User", "assistant": "Assistant"}
TRANSCRIPT_SEPARATOR = "\n\n"

CHALLENGE_TITLES = ("Just a moment",)
CHALLENGE_MARKERS = ("<title>Just a moment...</title>", "Enable JavaScript and cookies to continue")

# Stream lines: `<side><type>:<json>`, sometimes wrapped as `data: ...`.
STREAM_LINE_RE = re.compile(r"^([ab])([0-9a-z]):(.*)$", re.DOTALL)
SSE_WRAPPER = "data: "
# The Vercel AI SDK data stream (v4) codes, protocol.md "Stream format".
TYPE_TEXT, TYPE_REASONING, TYPE_DATA, TYPE_ERROR, TYPE_FINISH = "0", "g", "2", "3", "d"
TYPE_TOOL_DELTA = "c"  # tool-call delta: search citations arrive this way
TYPE_STEP_START, TYPE_STEP_END = "f", "e"  # a step's start and end: never the end of the answer
# Known and of no use to the bridge: tool-call start/call/result, annotations, source, file.
TYPE_IGNORED = ("9", "a", "b", "8", "h", "k")
FINISH_REASONS = {"stop": "stop", "length": "length", "content-filter": "content_filter"}
FINISH_ERROR = "error"
# A text line with exactly this string means the arena failed after answering 200.
ARENA_ERROR_TEXT = "hasArenaError"

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
    position: str | None = None  # "a" | "b" to force a side; None follows the mode's rule


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
    # When set, a reCAPTCHA token is minted in the page just before the fetch and put in the body.
    recaptcha: RecaptchaSpec | None = None
    # The body's `userMessage.experimental_attachments` hold data: URLs that page.js uploads first.
    uploads: bool = False
    # Where the site's Stop button posts for this answer (create protocol), if anywhere.
    stop_path: str | None = None

    def to_page(self, actions: Mapping[str, str] | None = None) -> dict[str, Any]:
        """What page.js fetches: method, path, headers, the body as sent; `uploads` (the upload
        flow's spec with `actions`, name -> server-action id) when it uploads attachments first."""
        page: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "headers": dict(self.headers),
            "body": self.body,
        }
        if self.uploads:
            page["uploads"] = upload_spec(actions or {})
        return page

    def with_token(self, token: str) -> ArenaRequest:
        """This request with the minted reCAPTCHA token in its body, the spec's `drop_keys`
        removed (the v2 fallback drops the v3 key); ValueError without a spec."""
        if self.recaptcha is None:
            raise ValueError("this request takes no reCAPTCHA token")
        body = json.loads(self.body)
        for key in self.recaptcha.drop_keys:
            body.pop(key, None)
        body[self.recaptcha.body_key] = token
        return dataclasses.replace(self, body=json.dumps(body, ensure_ascii=False), recaptcha=None)


def upload_spec(actions: Mapping[str, str]) -> dict[str, Any]:
    """What page.js needs to run the upload flow (protocol.md section 3)."""
    return {
        "actions": dict(actions),
        "actionHeader": ACTION_HEADER,
        "headers": dict(ACTION_HEADERS),
        "resultPrefix": ACTION_RESULT_PREFIX,
        "notFoundHeader": ACTION_NOT_FOUND_HEADER,
        "notFoundPattern": ACTION_NOT_FOUND_PATTERN,
    }


@dataclass(frozen=True, slots=True)
class RecaptchaSpec:
    """How the token is minted (browser/recaptcha.py): the action, where the site key is found, the body key to fill.

    `version` 3: mint.js runs `grecaptcha.enterprise.execute(key, {action})` with the v3 key. `version` 2
    (the fallback, protocol.md section 2): mint_v2.js renders an invisible v2 widget with the v2 key; if
    it shows an image challenge nobody solves within `challenge_wait_ms`, a person is needed.
    """

    action: str = RECAPTCHA_ACTION
    site_key_pattern: str = RECAPTCHA_SITE_KEY_RE.pattern
    body_key: str = RECAPTCHA_BODY_KEY
    timeout_ms: int = RECAPTCHA_TIMEOUT_MS
    version: int = 3
    v2_site_key_pattern: str = RECAPTCHA_V2_SITE_KEY_RE.pattern
    challenge_frame_pattern: str = RECAPTCHA_CHALLENGE_FRAME_PATTERN
    challenge_wait_ms: int = RECAPTCHA_V2_CHALLENGE_WAIT_MS
    drop_keys: tuple[str, ...] = ()

    def to_page(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "siteKeyPattern": self.site_key_pattern,
            "bodyKey": self.body_key,
            "timeoutMs": self.timeout_ms,
            "version": self.version,
            "v2SiteKeyPattern": self.v2_site_key_pattern,
            "challengeFramePattern": self.challenge_frame_pattern,
            "challengeWaitMs": self.challenge_wait_ms,
            "dropKeys": list(self.drop_keys),
        }


V2_RECAPTCHA = RecaptchaSpec(version=2, body_key=RECAPTCHA_V2_BODY_KEY, drop_keys=(RECAPTCHA_BODY_KEY,))


def find_site_key(text: str, pattern: re.Pattern[str] = RECAPTCHA_SITE_KEY_RE) -> str | None:
    """The first reCAPTCHA site key in `text` (a script URL or a script's source), if any."""
    match = pattern.search(text)
    return match.group(1) if match else None


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
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
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
                "participantPosition": message.position
                or participant_position(message.role, session.mode, session.battle_target),
                "createdAt": now,
                "updatedAt": now,
                "status": "pending" if last and not image else "success",
            }
        )
        parent = message_id
    path = RETRY_PATH.format(session_id=session.session_id, message_id=session.message_id)
    body = json.dumps({"messages": chain, "modelId": model_id}, ensure_ascii=False)
    return ArenaRequest("PUT", path, body)


def uuid7(unix_ms: int | None = None) -> uuid.UUID:
    """A version-7 uuid (RFC 9562): 48-bit Unix time in ms, version 7, 74 random bits, variant 10."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a, rand_b = rand >> 68, rand & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def uuid7s(count: int) -> list[str]:
    """`count` uuid7 strings of one instant, in increasing order (as made one after another)."""
    ms = time.time_ns() // 1_000_000
    return [str(u) for u in sorted(uuid7(ms) for _ in range(count))]


def fold_transcript(messages: Sequence[ArenaMessage]) -> tuple[str, list[dict[str, str]]]:
    """The conversation as one user message: its text and every turn's attachments, in order.

    A lone user turn is sent as it is. Otherwise each turn with text becomes
    `<Role>: <text>` (System, User, Assistant), turns separated by a blank line,
    oldest first, so the model reads the whole conversation ending with the user's turn.
    """
    attachments = [dict(a) for m in messages for a in m.attachments]
    turns = [m for m in messages if m.content.strip()]
    if not turns:
        return (messages[-1].content if messages else " "), attachments
    if len(turns) == 1 and turns[0].role == "user":
        return turns[0].content, attachments
    text = TRANSCRIPT_SEPARATOR.join(f"{TRANSCRIPT_LABELS.get(m.role, m.role)}: {m.content}" for m in turns)
    return text, attachments


def build_create_request(
    messages: Sequence[ArenaMessage],
    model_id: str,
    *,
    modality: str = MODALITY_CHAT,
    evaluation_id: str | None = None,
    recaptcha_v2: bool = False,
) -> ArenaRequest:
    """The create-evaluation POST (or, with `evaluation_id`, a follow-up post-to-evaluation).

    protocol.md section 2: `mode: "direct-battle"`, `modelAId`, `modelBMessageId` always,
    `modality` one of MODALITIES (the model's: see `model_modality`). The body carries a
    `recaptchaV3Token` of null, filled in (`with_token`) just before the fetch; with `recaptcha_v2`
    a v2 token goes into `recaptchaV2Token` and the v3 key is dropped (the site's fallback).
    """
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
    session_id, user_id, model_a_id, model_b_id = uuid7s(4)
    content, attachments = fold_transcript(messages)
    body: dict[str, Any] = {"id": evaluation_id or session_id}
    if evaluation_id is None:
        body["mode"] = CREATE_MODE
    body |= {
        "modelAId": model_id,
        "userMessageId": user_id,
        "modelAMessageId": model_a_id,
        "modelBMessageId": model_b_id,
        "userMessage": {"content": content, "experimental_attachments": attachments, "metadata": {}},
        "modality": modality,
        RECAPTCHA_BODY_KEY: None,
    }
    path = CREATE_PATH if evaluation_id is None else POST_TO_EVALUATION_PATH.format(evaluation_id=evaluation_id)
    spec = V2_RECAPTCHA if recaptcha_v2 else RecaptchaSpec()
    uploads = any(str(a.get("url", "")).startswith("data:") for a in attachments)
    stop = STOP_PATH.format(session_id=body["id"], message_id=model_a_id)
    body_text = json.dumps(body, ensure_ascii=False)
    return ArenaRequest("POST", path, body_text, recaptcha=spec, uploads=uploads, stop_path=stop)


def parse_retry_url(url: str) -> tuple[str, str] | None:
    """The (session_id, message_id) a Retry request's URL carries, if it is one."""
    match = RETRY_URL_RE.search(url)
    return (match.group(1), match.group(2)) if match else None


# Chromium's network errors for a page that cannot load at all (net::ERR_...).
UNREACHABLE_RE = re.compile(r"net::ERR_[A-Z_]+")


def unreachable_reason(message: str) -> str | None:
    """The network error in a navigation failure's message (`net::ERR_CONNECTION_REFUSED`), if any."""
    match = UNREACHABLE_RE.search(message)
    return match.group(0) if match else None


def is_challenge_title(title: str) -> bool:
    return any(marker in title for marker in CHALLENGE_TITLES)


def is_challenge_body(text: str) -> bool:
    return any(marker in text for marker in CHALLENGE_MARKERS)


def has_auth_cookie(cookie_names: Iterable[str]) -> bool:
    names = set(cookie_names)
    return AUTH_COOKIE in names or all(part in names for part in AUTH_COOKIE_PARTS)


def is_arena_cookie_domain(domain: str, arena_url: str) -> bool:
    """Whether a cookie set for `domain` belongs to the arena: the arena_url's host, a known site, or below."""
    cookie = domain.strip().lstrip(".").lower()
    sites = {urlsplit(arena_url).hostname or "", *ARENA_COOKIE_SITES} - {""}
    return bool(cookie) and any(cookie == site or cookie.endswith("." + site) for site in sites)


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


RECAPTCHA_VERDICT_429 = "prompt failed"


def classify_failure(status: int, headers: Mapping[str, str], body: str) -> ArenaFailure:
    """Turn an arena error response into a typed failure (protocol.md, "Errors the site returns")."""
    text = _error_text(body)
    if status == 403 and is_challenge_body(body):
        kind = FailureKind.CHALLENGE
    elif status == 403 and "recaptcha" in text.lower():
        kind = FailureKind.RECAPTCHA
    elif status == 429 and text.strip().lower() == RECAPTCHA_VERDICT_429:
        kind = FailureKind.RECAPTCHA
    elif status == 400 and BATTLE_TURN_MARKER in text:
        kind = FailureKind.BATTLE_TURN
    else:
        kind = _STATUS_KINDS.get(status, FailureKind.UPSTREAM)
    return ArenaFailure(kind, text or f"HTTP {status}", status=status, retry_after=_retry_after(headers))


def extract_models(html: str) -> list[dict[str, Any]]:
    """The model objects embedded in the page's Next.js flight data."""
    return _models_in_flight("".join(json.loads(chunk) for chunk in NEXT_FLIGHT_RE.findall(html)))


def extract_models_from_rsc(text: str) -> list[dict[str, Any]]:
    """The model objects in an RSC reply (`<n>:<JSON>` records, as `RSC: 1` fetches return)."""
    return _models_in_flight(text)


def _models_in_flight(flight: str) -> list[dict[str, Any]]:
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


def _outputs(model: Mapping[str, Any]) -> Mapping[str, Any]:
    capabilities = model.get("capabilities")
    outputs = capabilities.get("outputCapabilities") if isinstance(capabilities, Mapping) else None
    return outputs if isinstance(outputs, Mapping) else {}


def is_image_model(model: Mapping[str, Any]) -> bool:
    return bool(_outputs(model).get("image"))


def is_search_model(model: Mapping[str, Any]) -> bool:
    """A model with `outputCapabilities.search` wants `modality: "search"` (protocol.md, Models)."""
    return bool(_outputs(model).get("search")) and not is_image_model(model)


def model_modality(model: Mapping[str, Any]) -> str:
    """The create-evaluation `modality` for a model object: image, search or chat."""
    if is_image_model(model):
        return MODALITY_IMAGE
    return MODALITY_SEARCH if is_search_model(model) else MODALITY_CHAT


def is_usable_model(model: Mapping[str, Any]) -> bool:
    """Selectable, with text, image or search output (many listed models are webdev-only or hidden)."""
    if model.get("userSelectable") is False:
        return False
    outputs = _outputs(model)
    return any(outputs.get(kind) for kind in ("text", "image", "search"))
