"""The interactive parts of the fake arena page: a login form and an answer card with Retry.

The login form posts to ``LOGIN_PATH``; the fake answers with the auth cookie and a
redirect to the page, as a real sign-in ends. The answer card's Retry button makes
the page itself send the retry PUT (protocol.md section 1) for the conversation
``CONVERSATION_SESSION_ID`` / ``CONVERSATION_MESSAGE_ID``, through the page's
``window.fetch``, exactly the request the bridge's capture must observe.
"""

from __future__ import annotations

import html

LOGIN_PATH = "/fake/login"
CHECKBOX_PATH = "/fake/verify"  # the challenge page's "Verify you are human" box posts here
CONVERSATION_SESSION_ID = "5e551070-c0de-4aaa-8bbb-000000000001"
CONVERSATION_MESSAGE_ID = "3e55a6e0-c0de-4ccc-9ddd-000000000002"
RETRY_URL = (
    f"/nextjs-api/stream/retry-evaluation-session-message/{CONVERSATION_SESSION_ID}/messages/{CONVERSATION_MESSAGE_ID}"
)

LOGIN_FORM = (
    f'<form id="login" method="post" action="{LOGIN_PATH}">'
    '<label>Email <input name="email" type="email" autocomplete="username"></label>'
    '<label>Password <input name="password" type="password" autocomplete="current-password"></label>'
    '<button type="submit">Log in</button>'
    "</form>"
)

_RETRY_SCRIPT = """
(() => {
  const uuid4 = () => "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
    (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));
  const card = document.getElementById("answer");
  const button = card.querySelector("button.retry");
  const output = card.querySelector(".answer-text");
  button.addEventListener("click", async () => {
    const now = new Date().toISOString();
    const sessionId = card.dataset.sessionId;
    const base = { evaluationId: null, evaluationSessionId: sessionId, experimental_attachments: [],
      failureReason: null, metadata: null, participantPosition: "a", createdAt: now, updatedAt: now };
    const userId = uuid4();
    const messages = [
      { ...base, role: "user", content: card.dataset.prompt, id: userId, parentMessageIds: [], status: "success" },
      { ...base, role: "assistant", content: "", id: uuid4(), parentMessageIds: [userId], status: "pending" },
    ];
    output.textContent = "";
    card.dataset.state = "retrying";
    const response = await fetch(card.dataset.retryUrl, {
      method: "PUT",
      headers: { "Content-Type": "text/plain;charset=UTF-8", Accept: "*/*" },
      body: JSON.stringify({ messages, modelId: card.dataset.modelId || null }),
    });
    const text = await response.text();
    for (const line of text.split("\\n")) {
      if (line.startsWith("a0:")) output.textContent += JSON.parse(line.slice(3));
    }
    card.dataset.state = response.ok ? "retried" : "failed";
  });
})();
"""


def answer_card(model_id: str | None, prompt: str = "Hello") -> str:
    """A finished answer of `model_id` in the fake conversation, with its Retry button."""
    attributes = {
        "data-session-id": CONVERSATION_SESSION_ID,
        "data-message-id": CONVERSATION_MESSAGE_ID,
        "data-retry-url": RETRY_URL,
        "data-model-id": model_id or "",
        "data-prompt": prompt,
        "data-state": "shown",
    }
    attrs = " ".join(f'{name}="{html.escape(value)}"' for name, value in attributes.items())
    return (
        f'<article id="answer" {attrs}>'
        f'<p class="prompt">{html.escape(prompt)}</p>'
        f'<p class="answer-text">{html.escape("Hi! How can I help?")}</p>'
        '<button type="button" class="retry" aria-label="Retry">Retry</button>'
        f"</article><script>{_RETRY_SCRIPT}</script>"
    )


def interactive_parts(models: list[dict], *, logged_in: bool) -> str:
    """The login form (when logged out) and the answer card, for the page's <main>."""
    status = '<p id="account">Signed in</p>' if logged_in else LOGIN_FORM
    model_id = models[0]["id"] if models else None
    return status + answer_card(model_id)


__all__ = [
    "CONVERSATION_MESSAGE_ID",
    "CONVERSATION_SESSION_ID",
    "LOGIN_FORM",
    "LOGIN_PATH",
    "CHECKBOX_PATH",
    "RETRY_URL",
    "answer_card",
    "interactive_parts",
]
