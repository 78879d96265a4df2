"""What the fake arena records of each API request, and the protocol's body rules.

The rules are those of shared/protocol.md section 1 (the retry protocol).
Problems are recorded, not rejected, so that a test can assert
``request.problems == []`` and see every broken rule at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MESSAGE_KEYS = frozenset(
    {
        "role",
        "content",
        "id",
        "evaluationId",
        "evaluationSessionId",
        "parentMessageIds",
        "experimental_attachments",
        "failureReason",
        "metadata",
        "participantPosition",
        "createdAt",
        "updatedAt",
        "status",
    }
)
ATTACHMENT_KEYS = frozenset({"name", "contentType", "url"})
ROLES = ("user", "assistant", "system")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    cookies: dict[str, str]
    body_text: str
    body_json: Any = None
    session_id: str | None = None
    message_id: str | None = None
    problems: list[str] = field(default_factory=list)
    http_version: str = "1.1"
    recaptcha_token: str | None = None  # create-evaluation: the body's recaptchaV3Token

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The body's messages (empty when the body has none)."""
        if isinstance(self.body_json, dict) and isinstance(self.body_json.get("messages"), list):
            return self.body_json["messages"]
        return []

    @property
    def model_id(self) -> str | None:
        """The model asked for: `modelId` (retry protocol) or `modelAId` (create-evaluation)."""
        if isinstance(self.body_json, dict):
            return self.body_json.get("modelId", self.body_json.get("modelAId"))
        return None


def is_uuid(value: Any, version: int | None = None) -> bool:
    """A canonical lower-case hyphenated uuid string (of ``version`` if given)."""
    if not isinstance(value, str):
        return False
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    if str(parsed) != value:
        return False
    return version is None or parsed.version == version


def _is_iso(value: Any) -> bool:
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def check_content_type(content_type: str | None) -> list[str]:
    if not (content_type or "").lower().startswith("text/plain"):
        return [f"content-type must start with text/plain, got {content_type!r}"]
    return []


def check_body(body: Any, session_id: str | None, image_model_ids: set[str], known_model_ids: set[str]) -> list[str]:
    """Every way ``body`` breaks the retry protocol's rules."""
    if not isinstance(body, dict):
        return [f"body must be a JSON object, got {type(body).__name__}"]
    problems: list[str] = []
    keys = set(body)
    if keys != {"messages", "modelId"}:
        problems.append(f"body keys must be exactly messages, modelId; got {sorted(keys)}")
    model_id = body.get("modelId")
    if model_id is not None and not is_uuid(model_id):
        problems.append(f"modelId must be a uuid string or null, got {model_id!r}")
    elif model_id is not None and known_model_ids and model_id not in known_model_ids:
        problems.append(f"modelId {model_id} is not a model of the page")
    image = model_id in image_model_ids
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        problems.append("messages must be a non-empty list")
        return problems
    seen: set[str] = set()
    previous_id: Any = None
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            problems.append(f"{where} must be an object")
            previous_id = None
            continue
        problems += _check_message(message, where, index, len(messages), previous_id, session_id, image, seen)
        previous_id = message.get("id")
    problems += _check_positions(messages)
    return problems


def _check_message(
    message: dict[str, Any],
    where: str,
    index: int,
    count: int,
    previous_id: Any,
    session_id: str | None,
    image: bool,
    seen: set[str],
) -> list[str]:
    problems: list[str] = []
    keys = set(message)
    if keys != MESSAGE_KEYS:
        missing, extra = sorted(MESSAGE_KEYS - keys), sorted(keys - MESSAGE_KEYS)
        problems.append(f"{where} keys wrong: missing {missing}, extra {extra}")
    role = message.get("role")
    if role not in ROLES:
        problems.append(f"{where}.role must be one of {ROLES}, got {role!r}")
    if not isinstance(message.get("content"), str):
        problems.append(f"{where}.content must be a string")
    msg_id = message.get("id")
    if not is_uuid(msg_id, 4):
        problems.append(f"{where}.id must be a uuid4 string, got {msg_id!r}")
    elif msg_id in seen:
        problems.append(f"{where}.id {msg_id} is not unique")
    else:
        seen.add(msg_id)
    if message.get("evaluationId", "missing") is not None:
        problems.append(f"{where}.evaluationId must be null")
    if message.get("evaluationSessionId") != session_id:
        problems.append(
            f"{where}.evaluationSessionId must be the URL's session id {session_id}, "
            f"got {message.get('evaluationSessionId')!r}"
        )
    parents = message.get("parentMessageIds")
    expected_parents = [] if index == 0 else [previous_id]
    if parents != expected_parents:
        problems.append(f"{where}.parentMessageIds must be {expected_parents}, got {parents!r}")
    problems += _check_attachments(message.get("experimental_attachments"), where)
    for key in ("failureReason", "metadata"):
        if message.get(key, "missing") is not None:
            problems.append(f"{where}.{key} must be null")
    if message.get("participantPosition") not in ("a", "b"):
        problems.append(f"{where}.participantPosition must be 'a' or 'b', got {message.get('participantPosition')!r}")
    for key in ("createdAt", "updatedAt"):
        if not _is_iso(message.get(key)):
            problems.append(f"{where}.{key} must be an ISO time string, got {message.get(key)!r}")
    last = index == count - 1
    expected_status = "pending" if last and not image else "success"
    if message.get("status") != expected_status:
        problems.append(f"{where}.status must be {expected_status!r}, got {message.get('status')!r}")
    return problems


def _check_attachments(attachments: Any, where: str) -> list[str]:
    if not isinstance(attachments, list):
        return [f"{where}.experimental_attachments must be a list"]
    problems = []
    for number, item in enumerate(attachments):
        if not isinstance(item, dict) or set(item) != ATTACHMENT_KEYS:
            problems.append(f"{where}.experimental_attachments[{number}] must have exactly name, contentType, url")
        elif not all(isinstance(item[key], str) for key in ATTACHMENT_KEYS):
            problems.append(f"{where}.experimental_attachments[{number}] values must be strings")
    return problems


def _check_positions(messages: list[Any]) -> list[str]:
    """direct chat: all 'a' but system 'b'; battle: every message on the target's side."""
    pairs = [(m.get("role"), m.get("participantPosition")) for m in messages if isinstance(m, dict)]
    positions = {p for _, p in pairs}
    if positions <= {"a"} or positions <= {"b"}:
        return []
    if all((p == "b") == (r == "system") for r, p in pairs):
        return []
    return [f"participantPosition mix fits neither direct chat nor battle: {pairs}"]
