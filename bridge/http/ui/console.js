// The lmarena-bridge console: status, live view, recent requests, models, log.
// Plain browser JavaScript, no build step. Talks only to its own origin (/ui/api/*, /ui/ws/live).
"use strict";

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;
const MOVE_EVERY_MS = 40;
const STATE_CLASS = { ok: "ok", ready: "ok", logged_out: "bad", cloudflare_challenge: "warn", cooling_down: "warn" };

let polling = null;
let watching = null; // { account, socket, url }

function show(element, visible) { element.hidden = !visible; }

function say(message) {
  $("error").textContent = message || "";
  show($("error"), Boolean(message));
}

async function api(path, options = {}) {
  const init = { credentials: "same-origin", ...options };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(options.json);
  }
  const response = await fetch(path, init);
  if (response.status === 401) { showLogin(); throw new Error("log in first"); }
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
  return body;
}

function post(path) { return api(path, { json: {} }); }

function badge(element, state) {
  element.textContent = state.replace(/_/g, " ");
  element.className = "badge " + (STATE_CLASS[state] || "bad");
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

// -- login ------------------------------------------------------------------

function showLogin() {
  stopPolling();
  stopWatching();
  show($("console"), false);
  show($("login"), true);
  show($("logout"), false);
  $("login-key").focus();
}

async function start() {
  const session = await api("/ui/api/session");
  show($("logout"), session.login_required);
  if (session.login_required && !session.logged_in) { showLogin(); return; }
  show($("login"), false);
  show($("console"), true);
  refreshAll();
  refreshModels();
  stopPolling();
  polling = setInterval(refreshAll, POLL_MS);
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("/ui/login", { json: { key: $("login-key").value } });
    $("login-key").value = "";
    say("");
    await start();
  } catch (error) { say("Log in failed: " + error.message); }
});

$("logout").addEventListener("click", async () => {
  await post("/ui/logout").catch(() => null);
  showLogin();
});

function stopPolling() { if (polling) clearInterval(polling); polling = null; }

// -- status, requests, log ----------------------------------------------------

async function refreshAll() {
  try {
    await Promise.all([refreshStatus(), refreshRequests(), refreshLog()]);
    say("");
  } catch (error) { say(error.message); }
}

async function refreshStatus() {
  const status = await api("/ui/api/status");
  const health = status.health;
  $("version").textContent = "v" + status.version;
  badge($("health-badge"), health.status);
  $("health").textContent = health.status === "ok" ? "ok" : `${health.reason}: ${health.detail}`;
  $("browser-mode").textContent = status.browser_mode;
  $("protocol").textContent = status.protocol;
  $("arena-url").textContent = status.arena_url;
  $("load").textContent = `${health.requests.active} running, ${health.requests.waiting} waiting`;
  show($("update"), Boolean(status.update));
  $("update").textContent = status.update || "";
  renderAccounts(status.accounts);
}

function renderAccounts(accounts) {
  const list = $("accounts");
  list.replaceChildren(...accounts.map((account) => {
    const item = el("li");
    const state = el("span", "", "badge");
    badge(state, account.state);
    let label = account.state === "cooling_down" && account.cooldown_seconds != null
      ? `${account.label} (${Math.ceil(account.cooldown_seconds)} s left)` : account.label;
    const watch = el("button", watching && watching.account === account.index ? "Watching" : "Watch");
    watch.type = "button";
    watch.dataset.account = account.index;
    watch.addEventListener("click", () => startWatching(account.index));
    item.append(el("strong", label), state, el("span", account.detail), watch);
    return item;
  }));
}

function seconds(value) { return value == null ? "" : value.toFixed(2) + " s"; }

async function refreshRequests() {
  const { requests } = await api("/ui/api/requests");
  const rows = requests.map((r) => {
    const row = el("tr");
    const status = r.status == null ? "running" : (r.code ? `${r.status} ${r.code}` : String(r.status));
    for (const cell of [new Date(r.time * 1000).toLocaleTimeString(), r.surface + (r.stream ? " (stream)" : ""),
      r.model, r.account, status, seconds(r.ttft), seconds(r.duration), r.size]) row.append(el("td", cell));
    if (r.prompt != null) {
      const content = el("td", `» ${r.prompt}\n« ${r.answer || ""}`, "content");
      row.append(content);
    }
    return row;
  });
  $("requests").tBodies[0].replaceChildren(...rows);
}

async function refreshLog() {
  const { lines } = await api("/ui/api/log?lines=200");
  const log = $("log");
  const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
  log.textContent = lines.join("\n");
  if (atEnd) log.scrollTop = log.scrollHeight;
}

// -- models -------------------------------------------------------------------

async function refreshModels() {
  const { models } = await api("/ui/api/models");
  $("models-count").textContent = `(${models.length})`;
  $("models").replaceChildren(...models.map((m) =>
    el("li", m.name + (m.image ? " (image)" : "") + (m.organization ? ` · ${m.organization}` : ""))));
}

$("models-refresh").addEventListener("click", async () => {
  const button = $("models-refresh");
  button.disabled = true;
  $("models-result").textContent = "reading the arena's model list…";
  try {
    const result = await post("/ui/api/models/refresh");
    $("models-result").textContent = `${result.models} models; added: ${result.added.join(", ") || "none"}`;
    await refreshModels();
  } catch (error) { $("models-result").textContent = "refresh failed: " + error.message; }
  button.disabled = false;
});

// -- live view ----------------------------------------------------------------

function startWatching(account) {
  stopWatching();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ui/ws/live?account=${account}`);
  socket.binaryType = "blob";
  watching = { account, socket, url: null };
  for (const id of ["screen", "type-form", "live-stop", "live-reload", "live-front"]) show($(id), true);
  $("live-state").textContent = "connecting…";
  socket.addEventListener("message", (event) => {
    if (!watching || watching.socket !== socket) return;
    if (typeof event.data === "string") { onLiveMessage(JSON.parse(event.data)); return; }
    const url = URL.createObjectURL(event.data);
    const old = watching.url;
    watching.url = url;
    $("frame").src = url;
    $("frame").dataset.frames = String(Number($("frame").dataset.frames || 0) + 1);
    if (old) URL.revokeObjectURL(old);
  });
  socket.addEventListener("close", () => {
    if (watching && watching.socket === socket) {
      $("live-state").textContent = "disconnected";
      watching = null;
    }
  });
  $("screen").focus();
}

function onLiveMessage(message) {
  if (message.type === "state") {
    $("frame").dataset.width = message.width;
    $("frame").dataset.height = message.height;
    $("frame").dataset.state = message.state;
    $("live-state").textContent = `account ${watching.account + 1}: ${message.state.replace(/_/g, " ")}`;
  } else if (message.type === "error") {
    say("Live view: " + message.message);
  }
}

function stopWatching() {
  if (watching) {
    watching.socket.close();
    if (watching.url) URL.revokeObjectURL(watching.url);
  }
  watching = null;
  for (const id of ["screen", "type-form", "live-stop", "live-reload", "live-front"]) show($(id), false);
  $("live-state").textContent = "";
}

function send(message) {
  if (watching && watching.socket.readyState === WebSocket.OPEN) watching.socket.send(JSON.stringify(message));
}

function position(event) {
  const rect = $("frame").getBoundingClientRect();
  const clamp = (v) => Math.min(1, Math.max(0, v));
  return {
    x: clamp((event.clientX - rect.left) / rect.width),
    y: clamp((event.clientY - rect.top) / rect.height),
    alt: event.altKey, ctrl: event.ctrlKey, meta: event.metaKey, shift: event.shiftKey,
  };
}

const BUTTON_NAMES = ["left", "middle", "right"];
let lastMove = 0;
const screen = $("screen");
screen.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  screen.focus();
  screen.setPointerCapture(event.pointerId);
  send({ type: "mouse", action: "down", button: BUTTON_NAMES[event.button] || "left", buttons: event.buttons,
    ...position(event) });
});
screen.addEventListener("pointerup", (event) => {
  event.preventDefault();
  send({ type: "mouse", action: "up", button: BUTTON_NAMES[event.button] || "left", ...position(event) });
});
screen.addEventListener("pointermove", (event) => {
  const now = performance.now();
  if (now - lastMove < MOVE_EVERY_MS) return;
  lastMove = now;
  send({ type: "mouse", action: "move", buttons: event.buttons, ...position(event) });
});
screen.addEventListener("wheel", (event) => {
  event.preventDefault();
  send({ type: "mouse", action: "wheel", deltaX: event.deltaX, deltaY: event.deltaY, ...position(event) });
}, { passive: false });
screen.addEventListener("contextmenu", (event) => event.preventDefault());

function keyMessage(event, action) {
  const printable = event.key.length === 1 && !event.ctrlKey && !event.metaKey;
  return {
    type: "key", action, key: event.key, code: event.code,
    ...(action === "keydown" && printable ? { text: event.key } : {}),
    alt: event.altKey, ctrl: event.ctrlKey, meta: event.metaKey, shift: event.shiftKey,
  };
}
screen.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "v") return; // let the paste event carry it
  event.preventDefault();
  send(keyMessage(event, "keydown"));
});
screen.addEventListener("keyup", (event) => { event.preventDefault(); send(keyMessage(event, "keyup")); });
screen.addEventListener("paste", (event) => {
  event.preventDefault();
  const text = event.clipboardData.getData("text");
  if (text) send({ type: "text", text });
});

$("type-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("type-text").value;
  if (text) send({ type: "text", text });
  $("type-text").value = "";
});
for (const button of document.querySelectorAll("#type-form [data-key]")) {
  button.addEventListener("click", () => {
    const key = button.dataset.key;
    send({ type: "key", action: "keydown", key, code: key });
    send({ type: "key", action: "keyup", key, code: key });
  });
}

$("live-stop").addEventListener("click", stopWatching);
$("live-reload").addEventListener("click", async () => {
  if (watching) await post(`/ui/api/accounts/${watching.account}/reload`).catch((e) => say(e.message));
});
$("live-front").addEventListener("click", async () => {
  if (watching) await post(`/ui/api/accounts/${watching.account}/front`).catch((e) => say(e.message));
});

start().catch((error) => say(error.message));
