"""From an OpenAI chat request to arena stream events, through the arena page.

The seed's request features apply here: tavern mode (system messages merged),
bypass mode (an extra blank user message), the session chosen per model.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing

from browser import ArenaMessage, ArenaPage, ArenaRequest, build_retry_request
from browser.errors import BrowserError
from browser.stream import Event

from .config import Settings
from .errors import from_browser
from .messages import to_arena
from .models import ModelRegistry
from .schemas import ChatCompletionRequest
from .sessions import SessionPicker

log = logging.getLogger(__name__)

BYPASS_TEXT = " "


def merge_system_messages(messages: Sequence[ArenaMessage]) -> list[ArenaMessage]:
    """Tavern mode: every system message folded into one leading system message."""
    system = [m.content for m in messages if m.role == "system"]
    rest = [m for m in messages if m.role != "system"]
    return ([ArenaMessage("system", "\n\n".join(system))] if system else []) + rest


class ChatService:
    def __init__(self, page: ArenaPage, models: ModelRegistry, sessions: SessionPicker) -> None:
        self.page = page
        self.models = models
        self.sessions = sessions

    def build(self, body: ChatCompletionRequest, settings: Settings) -> ArenaRequest:
        messages = to_arena(body.messages, max_attachment_bytes=settings.max_attachment_bytes)
        if settings.tavern_mode_enabled:
            messages = merge_system_messages(messages)
        model = self.models.get(body.model)
        image = bool(model and model.image)
        if model is None or model.id is None:
            log.warning("model %r has no arena id in models.json; the captured session decides the model", body.model)
        if settings.bypass_enabled and not image:
            messages.append(ArenaMessage("user", BYPASS_TEXT))
        session = self.sessions.pick(settings, body.model)
        return build_retry_request(messages, session, model.id if model else None, image=image)

    async def events(self, body: ChatCompletionRequest, settings: Settings) -> AsyncIterator[Event]:
        """The answer's events; BrowserErrors come out as BridgeErrors."""
        request = self.build(body, settings)
        stream = self.page.stream(request, timeout=settings.stream_response_timeout_seconds)
        async with aclosing(stream):
            try:
                async for event in stream:
                    yield event
            except BrowserError as exc:
                raise from_browser(exc) from exc
