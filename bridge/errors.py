"""The bridge's errors, each rendered as OpenAI's error envelope.

    BridgeError                  500 api_error            internal_error, invalid_models_file
    ├── HttpError                4xx invalid_request_error not_found, http_error (a status the framework chose)
    ├── InvalidRequest           400 invalid_request_error invalid_json, missing_field, invalid_attachment,
    │                                                      session_not_configured, invalid_value,
    │                                                      unsupported_parameter (Responses state)
    │   ├── ModelNotFound        404 invalid_request_error model_not_found
    │   ├── RequestTooLarge      413 invalid_request_error request_too_large, attachment_too_large
    │   └── ContentFlagged       422 invalid_request_error content_flagged
    ├── AuthenticationFailed     401 authentication_error  invalid_api_key, arena_unauthorized, console_login
    ├── NotLoopback              403 permission_error      loopback_only (/internal/* from elsewhere)
    ├── PermissionDenied         403 permission_error      recaptcha_failed (after the v2 fallback)
    ├── CaptureTimeout           408 timeout_error         capture_timeout
    ├── RateLimited              429 rate_limit_error      arena_rate_limited, queue_full
    ├── UpstreamError            502 upstream_error        arena_error, upload_failed
    ├── ServiceUnavailable       503 service_unavailable   browser_starting, cloudflare_challenge,
    │                                                      browser_crashed, logged_out, arena_unreachable,
    │                                                      account_cooling_down, no_account_ready
    ├── ArenaTimeout             504 timeout_error         arena_timeout
    └── ClientGone               499 client_closed         client_closed_request (nobody reads it)

`from_browser()` is the one place where browser-side failures become these, and
`browser_errors()` the one boundary that applies it (`raise from_browser(exc) from exc`).
The CLI's own errors are in `bridge.commands.errors`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from browser.errors import (
    ArenaFailure,
    BrowserError,
    FailureKind,
    FetchFailed,
    PageGone,
    PageNotReady,
    StreamTimeout,
    UploadFailed,
)


class BridgeError(Exception):
    status = 500
    type = "api_error"
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.param = param
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "code": self.code, "param": self.param}}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, round(self.retry_after)))} if self.retry_after is not None else {}


class HttpError(BridgeError):
    """A status the HTTP framework chose (an unknown route, a wrong method), in the same envelope."""

    type = "invalid_request_error"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, code="not_found" if status == 404 else "http_error")
        self.status = status


class InvalidRequest(BridgeError):
    status, type, code = 400, "invalid_request_error", "invalid_value"


class ModelNotFound(InvalidRequest):
    status, code = 404, "model_not_found"


class RequestTooLarge(InvalidRequest):
    status, code = 413, "request_too_large"


class ContentFlagged(InvalidRequest):
    status, code = 422, "content_flagged"


class AuthenticationFailed(BridgeError):
    status, type, code = 401, "authentication_error", "invalid_api_key"


class NotLoopback(BridgeError):
    status, type, code = 403, "permission_error", "loopback_only"


class PermissionDenied(BridgeError):
    status, type, code = 403, "permission_error", "recaptcha_failed"


class CaptureTimeout(BridgeError):
    status, type, code = 408, "timeout_error", "capture_timeout"


class RateLimited(BridgeError):
    status, type, code = 429, "rate_limit_error", "arena_rate_limited"


class UpstreamError(BridgeError):
    status, type, code = 502, "upstream_error", "arena_error"


class ServiceUnavailable(BridgeError):
    status, type, code = 503, "service_unavailable", "browser_starting"


class ArenaTimeout(BridgeError):
    status, type, code = 504, "timeout_error", "arena_timeout"


class ClientGone(BridgeError):
    status, type, code = 499, "client_closed", "client_closed_request"


RETRY_SOON = 5.0

_FAILURES: dict[FailureKind, tuple[type[BridgeError], str | None, str]] = {
    FailureKind.BAD_REQUEST: (UpstreamError, None, "the arena rejected the request as malformed: {}"),
    FailureKind.UNAUTHORIZED: (
        AuthenticationFailed,
        "arena_unauthorized",
        "the arena refused the session ({}): run `lmarena-bridge capture` to capture fresh ids, "
        "or `lmarena-bridge login` if you were logged out",
    ),
    FailureKind.CHALLENGE: (
        ServiceUnavailable,
        "cloudflare_challenge",
        "the arena answered with a Cloudflare challenge; the bridge is reloading its page, retry shortly "
        "(if it persists, run `lmarena-bridge serve --headed` and pass it by hand)",
    ),
    FailureKind.RECAPTCHA: (
        PermissionDenied,
        "recaptcha_failed",
        "the arena's reCAPTCHA check failed ({}; a refused token was retried fresh and with the v2 fallback): "
        "reCAPTCHA does not trust the bridge's browser right now. Open the arena with `lmarena-bridge login` (or "
        "`lmarena-bridge serve --headed`), send one message there by hand, then retry; or capture session ids "
        'with `lmarena-bridge capture` and set protocol to "retry" in config.jsonc',
    ),
    FailureKind.RECAPTCHA_CHALLENGE: (
        PermissionDenied,
        "recaptcha_failed",
        "the arena's reCAPTCHA v2 check wants a person to solve an image challenge ({}): run "
        "`lmarena-bridge serve --headed`, solve the challenge in the arena window, then retry "
        "(or solve it in the web console at /ui where it is available)",
    ),
    FailureKind.BATTLE_TURN: (
        UpstreamError,
        None,
        "the arena turned the conversation into a battle even in a new evaluation ({}); retry the request",
    ),
    FailureKind.MODEL_NOT_FOUND: (
        ModelNotFound,
        None,
        "the arena does not know this model ({}): run `lmarena-bridge models --refresh` and check models.json",
    ),
    FailureKind.TOO_LARGE: (
        RequestTooLarge,
        "attachment_too_large",
        "the arena refused the request as too large ({}); attachments are limited to about 5 MB",
    ),
    FailureKind.FLAGGED: (ContentFlagged, None, "the arena's moderation flagged the prompt: {}"),
    FailureKind.RATE_LIMITED: (RateLimited, None, "the arena is rate limiting requests ({}); wait and retry"),
    FailureKind.UPSTREAM: (UpstreamError, None, "the arena reported an error: {}"),
}


def from_browser(exc: BrowserError) -> BridgeError:
    """Translate a browser-side failure into the error the client sees."""
    if isinstance(exc, ArenaFailure):
        cls, code, template = _FAILURES[exc.kind]
        retry = (
            exc.retry_after
            if exc.retry_after is not None
            else (RETRY_SOON if cls in (ServiceUnavailable, RateLimited) else None)
        )
        return cls(template.format(exc), code=code, retry_after=retry)
    if isinstance(exc, PageNotReady):
        return ServiceUnavailable(str(exc), code=exc.reason, retry_after=RETRY_SOON)
    if isinstance(exc, StreamTimeout):
        return ArenaTimeout(
            f"the arena sent nothing for {exc.seconds:g} s (stream_response_timeout_seconds); retry, "
            "or raise the timeout in config.jsonc"
        )
    if isinstance(exc, PageGone):
        return ServiceUnavailable(
            f"{exc}; the request was lost, retry it", code="browser_crashed", retry_after=RETRY_SOON
        )
    if isinstance(exc, FetchFailed):
        return UpstreamError(f"{exc}; retry the request")
    if isinstance(exc, UploadFailed):
        return UpstreamError(f"{exc}; retry the request, or send the file as a link", code="upload_failed")
    return ServiceUnavailable(str(exc), code="browser_crashed", retry_after=RETRY_SOON)


@contextmanager
def browser_errors() -> Iterator[None]:
    """Run a block that talks to the browser; its `BrowserError`s leave as `BridgeError`s."""
    try:
        yield
    except BrowserError as exc:
        raise from_browser(exc) from exc
