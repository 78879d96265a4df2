"""From an OpenAI chat request to arena stream events, through the arena page.

The seed's request features apply here, in the seed's order: tavern mode
(system messages merged), the `--bypass` image trick, bypass mode (an extra
blank user message on side a), then the session chosen per model, or the
create-evaluation protocol where the model has no session (routing.py chooses).
The service takes a `ChatRequest` (the model and the conversation as arena
messages); turning an API's request body into one is the HTTP layer's work.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from browser import ArenaMessage, ArenaPage, ArenaRequest, build_retry_request
from browser.arena import build_create_request
from browser.errors import ArenaFailure, BrowserError, FailureKind
from browser.stream import Event

from .accounts import AccountPool
from .config import Settings
from .errors import ModelNotFound, from_browser
from .limiter import Limiter
from .models import ModelRegistry
from .routing import ProtocolRouter

log = logging.getLogger(__name__)

BYPASS_TEXT = " "
BYPASS_POSITION = "a"
BYPASS_FLAG = "--bypass"
BYPASS_GREETING = "Hi"
EMPTY_USER_TEXT = " "  # the arena refuses an empty user message
TOKEN_ATTEMPTS = 2  # a token the page could not mint: one more try


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat for the arena: a model's public name (models.json) and the conversation."""

    model: str
    messages: Sequence[ArenaMessage]


def merge_system_messages(messages: Sequence[ArenaMessage]) -> list[ArenaMessage]:
    """Tavern mode: every system message folded into one leading system message."""
    system = [m for m in messages if m.role == "system"]
    rest = [m for m in messages if m.role != "system"]
    if not system:
        return rest
    text = "\n\n".join(m.content for m in system)
    return [ArenaMessage("system", text, tuple(a for m in system for a in m.attachments))] + rest


def move_bypassed_images(messages: Sequence[ArenaMessage]) -> list[ArenaMessage]:
    """The seed's `--bypass` trick for images.

    When the last user message ends with `--bypass` and carries an image, its
    attachments move to an empty assistant message placed just before it, the
    flag is removed, and a "Hi" user message opens the chain if it would start
    with the assistant.
    """
    result = list(messages)
    index = next((i for i in range(len(result) - 1, -1, -1) if result[i].role == "user"), None)
    if index is None:
        return result
    user = result[index]
    text = user.content.rstrip()
    has_image = any(str(a.get("contentType", "")).startswith("image/") for a in user.attachments)
    if not text.endswith(BYPASS_FLAG) or not has_image:
        return result
    remaining = text[: -len(BYPASS_FLAG)].strip() or EMPTY_USER_TEXT
    result[index : index + 1] = [ArenaMessage("assistant", "", user.attachments), ArenaMessage("user", remaining)]
    if result[0].role == "assistant":
        result.insert(0, ArenaMessage("user", BYPASS_GREETING))
    return result


def prepare_messages(messages: list[ArenaMessage], settings: Settings, *, image: bool) -> list[ArenaMessage]:
    """The seed's transformations, in its order."""
    if settings.tavern_mode:
        messages = merge_system_messages(messages)
    messages = move_bypassed_images(messages)
    if settings.bypass and not image:
        messages.append(ArenaMessage("user", BYPASS_TEXT, position=BYPASS_POSITION))
    return messages


class ChatService:
    def __init__(
        self,
        page: ArenaPage,
        models: ModelRegistry,
        router: ProtocolRouter,
        limiter: Limiter | None = None,
        *,
        accounts: AccountPool | None = None,
    ) -> None:
        self.page = page
        self.models = models
        self.router = router
        self.limiter = limiter or Limiter(max_active=1_000_000, max_waiting=0)
        # a service built without a page only builds requests (tests of request shaping)
        self.accounts = accounts if accounts is not None or page is None else AccountPool.of_pages([page], None)
        #: why reCAPTCHA needs a person right now (a v2 image challenge), for /health; None when not
        self.recaptcha_attention: str | None = None

    def build(self, chat: ChatRequest, settings: Settings, *, recaptcha_v2: bool = False) -> ArenaRequest:
        """The arena request through the protocol the router chooses for the model.

        `recaptcha_v2`: the create request carries a reCAPTCHA v2 token instead of v3 (the fallback).
        """
        model = self.models.get(chat.model)
        image = bool(model and model.image)
        messages = prepare_messages(list(chat.messages), settings, image=image)
        route = self.router.route(settings, chat.model)
        if route.session is None:
            if model is None or model.id is None:
                raise ModelNotFound(
                    f"model {chat.model!r} has no arena id in models.json, which the create-evaluation protocol "
                    f"needs: run `lmarena-bridge models --refresh`, or capture session ids for it "
                    f"(`lmarena-bridge capture --model {chat.model}`) to use the retry protocol",
                    param="model",
                )
            return build_create_request(messages, model.id, modality=model.modality, recaptcha_v2=recaptcha_v2)
        if model is None or model.id is None:
            log.warning("model %r has no arena id in models.json; the captured session decides the model", chat.model)
        return build_retry_request(messages, route.session, model.id if model else None, image=image)

    async def events(self, chat: ChatRequest, settings: Settings) -> AsyncGenerator[Event, None]:
        """The answer's events; BrowserErrors come out as BridgeErrors.

        Before the answer starts, a failed attempt may be retried with a freshly built
        request (new ids, a new token): see `Attempts`; the site's own page does the same
        (v3, then the v2 fallback). The account sending it is the pool's (accounts.py:
        pacing, cooldowns, several profiles); a verdict that survives the retries puts that
        account in cooldown. A model the arena does not offer (`Models not found`) is marked
        unusable in the registry.
        """
        request = self.build(chat, settings)
        async with (
            self.limiter.slot(wait=settings.stream_response_timeout_seconds),
            self.accounts.turn(settings) as account,
        ):
            attempts = Attempts()
            while True:
                started = False
                stream = account.page.stream(request, timeout=settings.stream_response_timeout_seconds)
                async with aclosing(stream):
                    try:
                        async for event in stream:
                            started = True
                            yield event
                        self.recaptcha_attention = None
                        return
                    except BrowserError as exc:
                        retry = None if started else attempts.next_attempt(exc, request)
                        if retry is None:
                            self._note_failure(chat, exc)
                            raise from_browser(exc) from exc
                        request = self.build(chat, settings, recaptcha_v2=retry == RETRY_V2)

    def _note_failure(self, chat: ChatRequest, exc: BrowserError) -> None:
        if not isinstance(exc, ArenaFailure):
            return
        if exc.kind is FailureKind.MODEL_NOT_FOUND:
            self.models.mark_unusable(chat.model, str(exc))
        elif exc.kind is FailureKind.RECAPTCHA_CHALLENGE:
            self.recaptcha_attention = str(exc)


RETRY_FRESH, RETRY_V3, RETRY_V2 = "fresh", "v3", "v2"


class Attempts:
    """Which retry, if any, follows a failure before the answer started (protocol.md section 2).

    - a refused reCAPTCHA token (403 `recaptcha validation failed`, 429 `prompt failed`):
      one fresh v3 token, then the v2 fallback (`recaptchaV2Token`), then the failure;
    - a token the page could not mint: one more try;
    - a session that turned into a battle (400 `... expected a BATTLE turn`): a new evaluation, once.
    """

    def __init__(self) -> None:
        self.refused = 0
        self.unminted = 0
        self.battles = 0

    def next_attempt(self, exc: BrowserError, request: ArenaRequest) -> str | None:
        if request.recaptcha is None or not isinstance(exc, ArenaFailure):
            return None
        if exc.kind is FailureKind.BATTLE_TURN and self.battles == 0:
            self.battles += 1
            log.info("the arena session turned into a battle (%s); starting a new evaluation", exc)
            return RETRY_FRESH
        if exc.kind is not FailureKind.RECAPTCHA or request.recaptcha.version == 2:
            return None
        if exc.status is None:  # the page could not mint a token
            self.unminted += 1
            return RETRY_V3 if self.unminted < TOKEN_ATTEMPTS else None
        self.refused += 1
        if self.refused == 1:
            log.info("the arena refused the reCAPTCHA token (%s); retrying with a fresh one", exc)
            return RETRY_V3
        if self.refused == 2:
            log.info("the arena refused a fresh reCAPTCHA v3 token too (%s); trying the v2 fallback", exc)
            return RETRY_V2
        return None
