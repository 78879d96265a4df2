"""Default models, the HTML pages and a tiny PNG for the fake arena.

The page embeds its models the way the real site does: inside Next.js flight
data, i.e. JSON escaped inside JavaScript strings pushed by
``self.__next_f.push([1,"..."])`` script chunks (see shared/protocol.md, "Models").
"""

from __future__ import annotations

import copy
import json
import struct
import zlib
from typing import Any

from .pages import interactive_parts

GPT4O_ID = "2f28df23-d1a2-45c5-917f-f315a401eb68"
CLAUDE_ID = "f86fe5eb-3842-453d-acc9-c0915fa18f3d"
GEMINI_ID = "f118d358-4480-46a1-8e4c-2916a9a7ae12"
DALLE_ID = "c2c58cd5-5fb2-49fd-b474-5a3f0fe96c85"
ANON_ID = "0236f00b-4b2d-49ac-bd0c-bab521d65384"
SEARCH_ID = "5e4c0b1a-7d3e-4f0a-9b2c-3d4e5f6a7b8c"


def _model(
    model_id: str,
    name: str,
    organization: str | None,
    provider: str,
    *,
    image_input: bool = False,
    image_output: bool = False,
    search_output: bool = False,
) -> dict[str, Any]:
    inputs: dict[str, Any] = {"text": True}
    if image_input:
        inputs["image"] = {"multipleImages": True, "requiresUpload": False}
    outputs: dict[str, Any] = {}
    if image_output:
        outputs["image"] = {"aspectRatios": ["1:1"]}
    else:
        outputs["text"] = True
    if search_output:
        outputs["search"] = True
    model: dict[str, Any] = {"id": model_id, "publicName": name}
    if organization is not None:
        model["organization"] = organization
    model["provider"] = provider
    model["capabilities"] = {"inputCapabilities": inputs, "outputCapabilities": outputs}
    model["userSelectable"] = True
    model["rankByModality"] = {"image" if image_output else "search" if search_output else "chat": 1}
    return model


DEFAULT_MODELS: list[dict[str, Any]] = [
    _model(GPT4O_ID, "gpt-4o-2024-08-06", "openai", "openai"),
    _model(
        CLAUDE_ID,
        "claude-3-5-sonnet-20241022",
        "anthropic",
        "anthropic",
        image_input=True,
    ),
    _model(GEMINI_ID, "gemini-2.5-pro", "google", "googleVertex"),
    _model(DALLE_ID, "dall-e-3", "openai", "openai", image_output=True),
    _model(ANON_ID, "anonymous-model-x", None, "anonymous"),
    _model(SEARCH_ID, "ppl-sonar-search", "perplexity", "perplexity", search_output=True),
]

#: public name -> model uuid, for the default models
MODEL_IDS: dict[str, str] = {m["publicName"]: m["id"] for m in DEFAULT_MODELS}


def default_models() -> list[dict[str, Any]]:
    """A fresh deep copy of the default model list."""
    return copy.deepcopy(DEFAULT_MODELS)


def is_image_model(model: dict[str, Any]) -> bool:
    caps = model.get("capabilities") or {}
    out = caps.get("outputCapabilities") or {}
    return bool(out.get("image"))


def is_search_model(model: dict[str, Any]) -> bool:
    out = (model.get("capabilities") or {}).get("outputCapabilities") or {}
    return bool(out.get("search")) and not is_image_model(model)


def model_modality(model: dict[str, Any]) -> str:
    """The modality the site wants for the model in create-evaluation: image, search or chat."""
    return "image" if is_image_model(model) else "search" if is_search_model(model) else "chat"


# --------------------------------------------------------------------------- pages


def _js_string(text: str) -> str:
    """``text`` as a JS string literal safe inside <script>, as Next.js writes it."""
    literal = json.dumps(text, ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        literal = literal.replace(char, escape)
    return literal


def flight_chunks(models: list[dict[str, Any]], *, models_in_page: bool = True) -> list[str]:
    """The flight-data records (unescaped) that the page pushes (without the list: "$undefined")."""
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    first_id = models[0]["id"] if models else None
    props = {
        "initialModels": models if models_in_page else "$undefined",
        "initialModelAId": first_id,
        "initialModelBId": None,
        "initialModality": "chat",
    }
    return [
        '1:HL["/_next/static/css/app/layout.css","style"]\n',
        '2:I[73402,["static/chunks/app/page.js"],"default"]\n',
        '0:{"P":null,"b":"fake-build","p":"","c":["",""],"i":false}\n',
        "3:" + json.dumps(["$", "$L2", None, props], **compact) + "\n",
        '4:["$","div",null,{"className":"flex","children":"LMArena"}]\n',
    ]


def page_html(models: list[dict[str, Any]], *, logged_in: bool = True, models_in_page: bool = True) -> str:
    """The arena page: flight data with the models, a login form when logged out, an answer card."""
    scripts = ["<script>(self.__next_f=self.__next_f||[]).push([0])</script>"]
    for chunk in flight_chunks(models, models_in_page=models_in_page):
        scripts.append(f"<script>self.__next_f.push([1,{_js_string(chunk)}])</script>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>LMArena</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '</head><body><div id="__next"><main><h1>LMArena</h1>'
        '<textarea name="message" placeholder="Ask anything..."></textarea>'
        + interactive_parts(models, logged_in=logged_in)
        + "</main></div>"
        + "".join(scripts)
        + "</body></html>"
    )


CHALLENGE_HTML = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
    '<meta name="robots" content="noindex,nofollow"></head><body>'
    '<div class="main-wrapper" role="main"><div class="main-content">'
    '<h1 class="zone-name-title h1">lmarena.ai</h1>'
    '<h2 class="h2" id="challenge-running">Verifying you are human. '
    "This may take a few seconds.</h2>"
    '<noscript><div class="h2">Enable JavaScript and cookies to continue</div></noscript>'
    '<div id="challenge-body-text">Enable JavaScript and cookies to continue</div>'
    # Interactive, like Turnstile's managed check: a person ticks the box and the site lets them in.
    '<form method="post" action="/fake/verify"><label style="font-size:24px">'
    '<input type="checkbox" name="human" value="yes" style="width:28px;height:28px" '
    'onchange="this.form.submit()"> Verify you are human</label></form>'
    "</div></div>"
    "<script>window._cf_chl_opt={cvId:'3',cType:'managed',cRay:'8f00fake'};</script>"
    "</body></html>"
)


# --------------------------------------------------------------------------- PNG


def png_bytes(name: str = "", size: int = 8) -> bytes:
    """A valid ``size`` x ``size`` RGB PNG, its colour derived from ``name``."""
    seed = zlib.crc32(name.encode("utf-8"))
    rgb = bytes(((seed >> 16) & 0xFF, (seed >> 8) & 0xFF, seed & 0xFF))
    raw = b"".join(b"\x00" + rgb * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
