"""A fake LMArena site for tests: the page, its models and the retry stream endpoint.

    from tests.fake_arena import FakeArena, Reply, RecordedRequest

    with FakeArena(http2=False, auto_login=True) as arena:
        arena.enqueue(Reply.text("Hello"))
        ...  # a browser opens arena.url, its page PUTs to the retry endpoint
        assert arena.requests[-1].problems == []

It speaks the wire protocol of shared/protocol.md (section 1, "Retry protocol",
section 2, "Create-evaluation protocol" with a reCAPTCHA stand-in, the stream
format and the error table). See server.py for FakeArena, replies.py for Reply,
validation.py for the body rules, create.py for section 2 (``arena.fail_tokens``), and
current_site.py for the second edition: direct-battle sessions that become battles, the
reCAPTCHA v2 fallback, server-action uploads to a second port (``arena.redeploy()``), the
RSC model list, ``Models not found``, the stop endpoint and the old host's 301.
"""

from .accounts import Penalty
from .app import AUTH_COOKIE, RETRY_PATH
from .models import (
    ANON_ID,
    CHALLENGE_HTML,
    CLAUDE_ID,
    DALLE_ID,
    DEFAULT_MODELS,
    GEMINI_ID,
    GPT4O_ID,
    MODEL_IDS,
    default_models,
    is_image_model,
    page_html,
    png_bytes,
)
from .replies import Reply, big_text, encode_json_string
from .server import FakeArena
from .validation import RecordedRequest, check_body

__all__ = [
    "ANON_ID",
    "AUTH_COOKIE",
    "CHALLENGE_HTML",
    "CLAUDE_ID",
    "DALLE_ID",
    "DEFAULT_MODELS",
    "FakeArena",
    "GEMINI_ID",
    "GPT4O_ID",
    "MODEL_IDS",
    "Penalty",
    "RETRY_PATH",
    "RecordedRequest",
    "Reply",
    "big_text",
    "check_body",
    "default_models",
    "encode_json_string",
    "is_image_model",
    "page_html",
    "png_bytes",
]
