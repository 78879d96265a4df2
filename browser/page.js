// lmarena-bridge page logic. It runs in an isolated world of every document (browser/channel.py):
// the page's DOM, origin and cookies, but none of the page's globals, and the page sees none of
// ours. Python starts fetches with __lmb.start(id, request) and stops them with __lmb.abort(id);
// everything flows back, batched, through one binding that exists only in this world and takes a
// JSON string of [[id, kind, payload], ...]: kind "head" | "lines" | "done" | "error" |
// "upload" (an attachment upload failed; actionUnknown when the site no longer knows the action).
// reCAPTCHA tokens (v3, and the v2 fallback's widget) are minted by short main-world evaluations
// (browser/recaptcha.py: mint.js, mint_v2.js), never here.
(() => {
  if (globalThis.__lmb || window.top !== window) return;
  const BINDING = "__lmbReport";
  const controllers = new Map();
  // This world's own fetch: same document, so the page's origin and cookies.
  const worldFetch = fetch.bind(window);

  // Reports are batched: the first after a quiet spell goes out at once (microtask);
  // under load they go out together at most every FLUSH_EVERY_MS, one binding call each.
  const FLUSH_EVERY_MS = 4;
  let pending = [];
  let scheduled = false;
  let lastFlush = -Infinity;

  function flush() {
    scheduled = false;
    lastFlush = performance.now();
    const batch = pending;
    pending = [];
    try {
      globalThis[BINDING](JSON.stringify(batch));
    } catch (e) {
      // The binding is gone (page closing): nothing to report to.
    }
  }

  // `later`: queue without flushing; the next report carries it (the head rides with the
  // first lines, so the first token is not held back by the batching).
  function report(id, kind, payload, later = false) {
    pending.push([id, kind, payload]);
    if (scheduled || later) return;
    scheduled = true;
    const wait = lastFlush + FLUSH_EVERY_MS - performance.now();
    if (wait > 0) setTimeout(flush, wait);
    else queueMicrotask(flush);
  }

  async function pump(id, response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder("utf-8");
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
      const cut = rest.lastIndexOf("\n");
      if (cut >= 0) {
        report(id, "lines", rest.slice(0, cut).split("\n"));
        rest = rest.slice(cut + 1);
      }
    }
    rest += decoder.decode();
    if (rest) report(id, "lines", rest.split("\n"));
  }

  // ---- The site as of protocol.md's second edition: its scripts, server-action uploads,
  // the reCAPTCHA v2 fallback and the stop endpoint. Every site fact comes from arena.py.

  // The page's script sources: inline scripts and same-origin script files, of `doc`.
  const scriptFiles = new Map();
  async function scriptTexts(doc) {
    const inline = [...doc.querySelectorAll("script:not([src])")].map((el) => el.textContent || "");
    const urls = [...doc.querySelectorAll("script[src]")]
      .map((el) => new URL(el.getAttribute("src"), location.href))
      .filter((url) => url.origin === location.origin)
      .map(String);
    const files = await Promise.all(urls.map(async (url) => {
      if (!scriptFiles.has(url)) {
        const response = await worldFetch(url, { credentials: "include" });
        scriptFiles.set(url, response.ok ? await response.text() : "");
      }
      return scriptFiles.get(url);
    }));
    return [...inline, ...files];
  }

  // Server-action ids by name, from a fresh copy of the page (a new deploy changes them).
  async function discoverActions(pattern) {
    const response = await worldFetch(location.href, { credentials: "include", cache: "no-store" });
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const found = {};
    for (const text of await scriptTexts(doc)) {
      for (const match of text.matchAll(new RegExp(pattern, "g"))) found[match[2]] = match[1];
    }
    return found;
  }

  class UploadError extends Error {
    constructor(message, actionUnknown) {
      super(message);
      this.actionUnknown = actionUnknown;
    }
  }

  async function callAction(spec, name, args) {
    const id = spec.actions[name];
    if (!id) throw new UploadError(`no server action ${name} found in the arena page's scripts`, true);
    const response = await worldFetch(location.pathname, {
      method: "POST",
      headers: { ...spec.headers, [spec.actionHeader]: id },
      body: JSON.stringify(args),
      credentials: "include",
    });
    const text = await response.text();
    if (response.status === 404 && (response.headers.get(spec.notFoundHeader) || new RegExp(spec.notFoundPattern, "i").test(text))) {
      throw new UploadError(`the arena does not know server action ${name} (${id}): ${text.slice(0, 200)}`, true);
    }
    if (!response.ok) throw new UploadError(`server action ${name} answered HTTP ${response.status}: ${text.slice(0, 200)}`, false);
    const line = text.split("\n").find((l) => l.startsWith(spec.resultPrefix));
    let result = null;
    try {
      result = line ? JSON.parse(line.slice(spec.resultPrefix.length)) : null;
    } catch (e) {
      result = null;
    }
    if (!result || !result.success || !result.data) {
      throw new UploadError(`server action ${name} failed: ${text.slice(0, 200)}`, false);
    }
    return result.data;
  }

  function dataUrlBytes(url) {
    const base64 = url.slice(url.indexOf(",") + 1);
    const binary = atob(base64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  async function uploadOne(spec, attachment) {
    const { uploadUrl, key } = await callAction(spec, "generateUploadUrl", [attachment.name, attachment.contentType]);
    const put = await worldFetch(uploadUrl, {
      method: "PUT",
      headers: { "Content-Type": attachment.contentType },
      body: dataUrlBytes(attachment.url),
    });
    if (!put.ok) throw new UploadError(`the upload of ${attachment.name} answered HTTP ${put.status}`, false);
    const { url } = await callAction(spec, "getSignedUrl", [key]);
    return { name: key, contentType: attachment.contentType, url };
  }

  // Inline (data:) attachments are uploaded; links stay as they are.
  async function uploadAttachments(body, spec) {
    const message = body.userMessage;
    const attachments = (message && message.experimental_attachments) || [];
    message.experimental_attachments = await Promise.all(
      attachments.map((a) => (String(a.url).startsWith("data:") ? uploadOne(spec, a) : a)));
  }

  async function bodyToSend(request) {
    if (!request.uploads) return request.body;
    const body = JSON.parse(request.body);
    await uploadAttachments(body, request.uploads);
    return JSON.stringify(body);
  }

  // reCAPTCHA v2 (the fallback): the v2 site key found in the page (its widget is rendered by
  // mint_v2.js in the page's main world, which has the page's grecaptcha).
  async function findV2SiteKey(spec) {
    const regex = new RegExp(spec.v2SiteKeyPattern);
    const attribute = document.querySelector("[data-sitekey]");
    if (attribute) return attribute.getAttribute("data-sitekey");
    for (const text of await scriptTexts(document)) {
      const match = regex.exec(text);
      if (match) return match[1];
    }
    return null;
  }

  // The site's Stop button: ends the answer upstream when the client leaves.
  function stopUpstream(path, headers) {
    worldFetch(path, { method: "POST", headers, body: "{}", credentials: "include" }).catch(() => {});
    return true;
  }

  async function run(id, request) {
    const controller = new AbortController();
    controllers.set(id, controller);
    try {
      const body = await bodyToSend(request);
      const response = await worldFetch(request.path, {
        method: request.method,
        headers: request.headers,
        body,
        credentials: "include",
        signal: controller.signal,
      });
      const headers = {};
      response.headers.forEach((value, key) => { headers[key] = value; });
      report(id, "head", { status: response.status, headers }, true);
      if (response.body) await pump(id, response);
      report(id, "done", null);
    } catch (e) {
      const name = (e && e.name) || "Error";
      if (e instanceof UploadError) report(id, "upload", { message: e.message, actionUnknown: e.actionUnknown });
      else if (name !== "AbortError") report(id, "error", { name, message: String((e && e.message) || e) });
    } finally {
      controllers.delete(id);
    }
  }

  globalThis.__lmb = {
    ready() {
      return true;
    },
    start(id, request) {
      run(id, request);
      return true;
    },
    abort(id) {
      const controller = controllers.get(id);
      if (controller) controller.abort();
      return Boolean(controller);
    },
    // A fresh copy of a page of the site (the embedded model list; with `RSC: 1` its RSC reply): {status, text}.
    async fetchText(url, headers) {
      const response = await worldFetch(url, { credentials: "include", cache: "no-store", headers: headers || {} });
      return { status: response.status, text: await response.text() };
    },
    discoverActions,
    findV2SiteKey,
    stop: stopUpstream,
  };
})();
