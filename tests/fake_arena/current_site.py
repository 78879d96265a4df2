"""What the fake arena learned from protocol.md's second edition (the site as of late 2026).

- ``Evaluations``: direct-battle sessions, which turn into battles after
  ``arena.evaluations.battle_after`` turns (then post-to-evaluation answers 400
  "Bad next turn request ...").
- ``RecaptchaV2``: the "Security Verification" checkbox, a second site key found in the
  page's JS chunk as ``sitekey:"<key>"``; the stand-in adds ``grecaptcha.enterprise.render``
  and ``execute(widgetId)``. ``challenge = True``: the widget opens an image-challenge frame
  and never calls back (a person is needed). ``arena.recaptcha.refuse_all = True`` refuses
  every v3 token.
- ``ServerActions``: the upload flow (section 3). The page loads a JS chunk whose
  ``createServerReference("<id>", ..., "generateUploadUrl")`` calls name the action ids;
  ``redeploy()`` changes them (and the chunk's name). A POST to a page path with a
  ``Next-Action`` header runs an action (404 "Server action not found." for unknown ids);
  the presigned PUT and signed GET go to a second loopback port (``arena.upload_url``).
- ``rsc_reply``: the model list as the React Server Components reply of ``/text/direct``
  fetched with ``RSC: 1`` (``arena.models_in_rsc_only`` serves the page without it).
- ``old_host_redirect``: a third port answers every request with a 301 to the arena
  (``arena.old_url``), as lmarena.ai does to arena.ai.
- the stop endpoint ``POST /nextjs-api/stream/stop/{sessionId}/messages/{messageId}``
  (``arena.stops`` records the pairs).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .create import SCRIPT_PATH, STAND_IN_JS, TOKEN_PATH, RecaptchaStandIn

if TYPE_CHECKING:  # pragma: no cover
    from .server import FakeArena

Response = tuple[int, list[tuple[str, str]], bytes]

STOP_PATH = re.compile(r"^/nextjs-api/stream/stop/([^/]+)/messages/([^/]+)$")
CHUNK_PATH = re.compile(r"^/_next/static/chunks/app-([0-9a-f]+)\.js$")
CHALLENGE_FRAME_PATH = "/recaptcha/enterprise/bframe"
V2_ACTION = "v2_checkbox"
ACTION_NAMES = ("generateUploadUrl", "getSignedUrl")
RSC_HEADERS = [("content-type", "text/x-component"), ("cache-control", "no-store")]
MODELS_NOT_FOUND = "Models not found: {} is not offered for {}"


class Evaluations:
    """The create-evaluation sessions the fake has opened, and when they turn into battles."""

    def __init__(self) -> None:
        self.battle_after: int | None = None  # turns a direct-battle session allows; None: no limit
        self._turns: dict[str, int] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.battle_after = None
            self._turns.clear()

    def take_turn(self, follow_up_of: str | None, body_id: Any) -> bool:
        """Count a turn: a create opens a session, a follow-up adds to it; False once it is a battle."""
        with self._lock:
            key = follow_up_of or str(body_id)
            turns = self._turns.get(key, 0) + 1
            self._turns[key] = turns
            return self.battle_after is None or follow_up_of is None or turns <= self.battle_after


class RecaptchaV2(RecaptchaStandIn):
    """The v2 checkbox's tokens (its own site key); ``challenge`` makes it want a person."""

    action = V2_ACTION

    def __init__(self) -> None:
        super().__init__()
        self.challenge = False

    def reset(self) -> None:
        super().reset()
        self.challenge = False


V2_STAND_IN_JS = """
(() => {
  const enterprise = window.grecaptcha.enterprise;
  const executeV3 = enterprise.execute;
  const widgets = [];
  enterprise.render = (container, params) => { widgets.push({ container, params }); return widgets.length - 1; };
  enterprise.execute = function execute(keyOrWidget, options) {
    if (typeof keyOrWidget !== "number") return executeV3(keyOrWidget, options);
    const widget = widgets[keyOrWidget];
    (async () => {
      const query = new URLSearchParams({ key: widget.params.sitekey, action: "%(action)s" });
      const response = await fetch("/recaptcha/enterprise/token?" + query,
        { credentials: "include", cache: "no-store" });
      const data = await response.json();
      if (data.challenge) {
        const frame = document.createElement("iframe");
        frame.src = "%(frame)s?k=" + encodeURIComponent(widget.params.sitekey);
        frame.title = "recaptcha challenge expires in two minutes";
        document.body.appendChild(frame);
        return;
      }
      widget.params.callback(data.token);
    })();
    return Promise.resolve();
  };
})();
""" % {"action": V2_ACTION, "frame": CHALLENGE_FRAME_PATH}


def recaptcha_v2_response(arena: FakeArena, path: str, query: str) -> Response | None:
    """The stand-in script with v2 support, v2 tokens and the challenge frame; None: the v3 stand-in answers."""
    if path == SCRIPT_PATH:
        return (
            200,
            [("content-type", "text/javascript"), ("cache-control", "no-store")],
            (STAND_IN_JS + V2_STAND_IN_JS).encode(),
        )
    if path == CHALLENGE_FRAME_PATH:
        return challenge_frame()
    params = {k: v[0] for k, v in parse_qs(query).items()}
    if path == TOKEN_PATH:
        return v2_token_response(arena, params.get("key", ""), params.get("action", ""))
    return None


def v2_token_response(arena: FakeArena, key: str, action: str) -> Response | None:
    """A v2 token (or, in challenge mode, the word that a challenge shows); None for other keys."""
    if key != arena.recaptcha_v2.site_key:
        return None
    if arena.recaptcha_v2.challenge:
        return 200, [("content-type", "application/json")], b'{"challenge": true}'
    token = arena.recaptcha_v2.issue(key, action)
    return 200, [("content-type", "application/json")], json.dumps({"token": token}).encode()


def challenge_frame() -> Response:
    return 200, [("content-type", "text/html")], b"<html><body>Select all images with traffic lights</body></html>"


# --------------------------------------------------------------------------- server actions and uploads


@dataclass
class Upload:
    key: str
    file_name: str
    content_type: str
    data: bytes | None = None


class ServerActions:
    """The site's server actions of the current deploy, and the files uploaded through them."""

    def __init__(self, v2_site_key: str) -> None:
        self._lock = threading.Lock()
        self.chunks: dict[str, str] = {}  # build -> chunk source (old builds stay served, as a CDN keeps them)
        self.uploads: dict[str, Upload] = {}
        self.calls: list[tuple[str, str]] = []  # (action name or "unknown", action id)
        self.v2_site_key = v2_site_key
        self.redeploy()

    def redeploy(self) -> None:
        """A new deploy: new action ids, a new chunk name."""
        with self._lock:
            self.build = secrets.token_hex(6)
            self.ids = {name: secrets.token_hex(21) for name in ACTION_NAMES}
            self.chunks[self.build] = self._chunk_source()

    def reset(self) -> None:
        """Forget uploads and calls; the deploy (and the chunks of earlier ones) stays."""
        with self._lock:
            self.uploads.clear()
            self.calls.clear()

    @property
    def chunk_path(self) -> str:
        return f"/_next/static/chunks/app-{self.build}.js"

    def _chunk_source(self) -> str:
        references = ",".join(
            f'{var}=(0,n.createServerReference)("{self.ids[name]}",n.callServer,void 0,n.findSourceMapURL,"{name}")'
            for var, name in zip("as", ACTION_NAMES)
        )
        return (
            "(self.webpackChunk_N_E=self.webpackChunk_N_E||[]).push([[4242],{"
            f"4567:(e,t,r)=>{{var n={{createServerReference:()=>null}};let {references};}},"
            f'8910:(e,t,r)=>{{let i={{sitekey:"{self.v2_site_key}",size:"normal",theme:"light"}};}}'
            "}]);"
        )

    def chunk(self, path: str) -> Response | None:
        match = CHUNK_PATH.match(path)
        source = self.chunks.get(match.group(1)) if match else None
        if source is None:
            return None
        return 200, [("content-type", "application/javascript")], source.encode()

    def name_of(self, action_id: str) -> str | None:
        return next((name for name, known in self.ids.items() if known == action_id), None)

    def run(self, arena: FakeArena, action_id: str, body: str) -> Response:
        """One server action call: the RSC reply, or Next.js's 404 for an id of another deploy."""
        name = self.name_of(action_id)
        with self._lock:
            self.calls.append((name or "unknown", action_id))
        if name is None:
            return (
                404,
                [("content-type", "text/plain"), ("x-nextjs-action-not-found", "1")],
                b"Server action not found.",
            )
        try:
            args = json.loads(body)
        except ValueError:
            args = None
        if name == "generateUploadUrl" and _strings(args, 2):
            key = f"uploads/{secrets.token_hex(8)}-{args[0]}"
            with self._lock:
                self.uploads[key] = Upload(key, args[0], args[1])
            data = {"uploadUrl": arena.upload_url + "/" + key + "?X-Amz-Signature=put-" + arena._token, "key": key}
        elif name == "getSignedUrl" and _strings(args, 1) and args[0] in self.uploads:
            data = {"url": self.signed_url(arena, args[0])}
        else:
            return _rsc({"success": False, "error": f"bad arguments for {name}: {body[:100]}"})
        return _rsc({"success": True, "data": data})

    @staticmethod
    def signed_url(arena: FakeArena, key: str) -> str:
        return arena.upload_url + "/" + key + "?X-Amz-Signature=get-" + arena._token

    def storage(
        self, arena: FakeArena, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        """The second host (a stand-in for R2): CORS preflight, the presigned PUT, the signed GET."""
        cors = [
            ("access-control-allow-origin", headers.get("origin", "*")),
            ("access-control-allow-methods", "GET, PUT"),
            ("access-control-allow-headers", "content-type"),
        ]
        key = path.lstrip("/")
        upload = self.uploads.get(key)
        if method == "OPTIONS":
            return 204, cors, b""
        if upload is None:
            return 404, cors, b"NoSuchKey"
        if method == "PUT" and query == "X-Amz-Signature=put-" + arena._token:
            upload.content_type = headers.get("content-type", "")
            upload.data = body
            return 200, cors, b""
        if method == "GET" and query == "X-Amz-Signature=get-" + arena._token and upload.data is not None:
            return 200, [*cors, ("content-type", upload.content_type)], upload.data
        return 403, cors, b"SignatureDoesNotMatch"

    def check_attachments(self, arena: FakeArena, attachments: Any) -> list[str]:
        """Problems with create-evaluation attachments: each must be an uploaded file's signed URL."""
        problems = []
        for number, item in enumerate(attachments if isinstance(attachments, list) else []):
            if not isinstance(item, dict):
                continue
            upload = self.uploads.get(str(item.get("name")))
            where = f"userMessage.experimental_attachments[{number}]"
            if str(item.get("url", "")).startswith("data:"):
                problems.append(f"{where} is inline data; the site uploads attachments (protocol.md section 3)")
            elif upload is None or upload.data is None:
                problems.append(f"{where}.name {item.get('name')!r} is not an uploaded file's key")
            elif (
                item.get("url") != self.signed_url(arena, upload.key) or item.get("contentType") != upload.content_type
            ):
                problems.append(f"{where} must carry the signed URL and the uploaded type of {upload.key}")
        return problems


def _strings(value: Any, count: int) -> bool:
    return isinstance(value, list) and len(value) == count and all(isinstance(v, str) and v for v in value)


def _rsc(result: dict[str, Any]) -> Response:
    lines = ['0:{"a":"$@1","f":"","b":"fake-build"}', "1:" + json.dumps(result, separators=(",", ":"))]
    return 200, RSC_HEADERS, ("\n".join(lines) + "\n").encode()


# --------------------------------------------------------------------------- models, old host, stop


def rsc_reply(models: list[dict[str, Any]]) -> Response:
    """The RSC reply of /text/direct: flight records, one carrying ``initialModels``."""
    props = {"initialModels": models, "initialModelAId": models[0]["id"] if models else None}
    lines = [
        '1:I[73402,["static/chunks/app/page.js"],"default"]',
        '0:{"P":null,"b":"fake-build","p":"","c":["","text","direct"],"i":false}',
        "2:" + json.dumps(["$", "$L1", None, props], separators=(",", ":")),
    ]
    return 200, RSC_HEADERS, ("\n".join(lines) + "\n").encode()


def old_host_redirect(arena: FakeArena, path: str, query: str) -> Response:
    location = arena.url + path + (f"?{query}" if query else "")
    return 301, [("location", location), ("content-type", "text/plain")], b"Moved Permanently"


def model_refusal_text(model_id: str, modality: str) -> str:
    return MODELS_NOT_FOUND.format(model_id, modality)
