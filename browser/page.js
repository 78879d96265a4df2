// lmarena-bridge page logic, injected with add_init_script into every document.
// Python starts fetches with window.__lmb.start(id, request) and stops them with
// window.__lmb.abort(id); everything flows back, batched, through one binding
// (installed by browser/channel.py) that takes a JSON string of [[id, kind, payload], ...]:
//   kind "head" | "lines" | "done" | "error" | "recaptcha" (no reCAPTCHA token could be minted;
//   needsPerson when a v2 challenge waits for one) | "upload" (an attachment upload failed),
//   and id "capture" with kind "request", {url, method} for the page's own Retry requests.
(() => {
  if (window.__lmb) return;
  const BINDING = "__lmbReport";
  const controllers = new Map();
  // The bridge's own fetches use the native fetch; the page's go through the wrapper below.
  const nativeFetch = window.fetch.bind(window);

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
      window[BINDING](JSON.stringify(batch));
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

  // reCAPTCHA (create-evaluation): a fresh token per request, minted right before the fetch
  // with the site key the page itself loads (request.recaptcha.siteKeyPattern, from arena.py).
  class RecaptchaError extends Error {
    constructor(message, needsPerson = false) {
      super(message);
      this.needsPerson = needsPerson;
    }
  }

  function findSiteKey(pattern) {
    const regex = new RegExp(pattern);
    const sources = [...document.querySelectorAll("script[src], iframe[src]")].map((el) => el.src);
    for (const text of sources) {
      const match = regex.exec(text);
      if (match) return match[1];
    }
    for (const script of document.querySelectorAll("script:not([src])")) {
      const match = regex.exec(script.textContent || "");
      if (match) return match[1];
    }
    return null;
  }

  async function mintToken(spec) {
    const deadline = Date.now() + spec.timeoutMs;
    let key, enterprise;
    for (;;) {
      // The page may still be loading its reCAPTCHA script: wait for it, up to the deadline.
      key = findSiteKey(spec.siteKeyPattern);
      enterprise = window.grecaptcha && window.grecaptcha.enterprise;
      if (key && enterprise) break;
      if (Date.now() > deadline) {
        throw new RecaptchaError(key ? "grecaptcha.enterprise is not loaded in the arena page"
          : "no reCAPTCHA site key found in the arena page");
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new RecaptchaError("grecaptcha.enterprise did not answer in time")),
        Math.max(0, deadline - Date.now()));
    });
    try {
      await Promise.race([new Promise((resolve) => enterprise.ready(resolve)), timeout]);
      const token = await Promise.race([enterprise.execute(key, { action: spec.action }), timeout]);
      if (typeof token !== "string" || !token) throw new RecaptchaError("grecaptcha.enterprise gave no token");
      return token;
    } catch (e) {
      throw e instanceof RecaptchaError ? e : new RecaptchaError(String((e && e.message) || e));
    } finally {
      clearTimeout(timer);
    }
  }

  async function withToken(request) {
    if (!request.recaptcha && !request.uploads) return request.body;
    const body = JSON.parse(request.body);
    if (request.uploads) await uploadAttachments(body, request.uploads);
    if (request.recaptcha) {
      for (const key of request.recaptcha.dropKeys || []) delete body[key];
      const mint = request.recaptcha.version === 2 ? mintV2Token : mintToken;
      body[request.recaptcha.bodyKey] = await mint(request.recaptcha);
    }
    return JSON.stringify(body);
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
        const response = await nativeFetch(url, { credentials: "include" });
        scriptFiles.set(url, response.ok ? await response.text() : "");
      }
      return scriptFiles.get(url);
    }));
    return [...inline, ...files];
  }

  // Server-action ids by name, from a fresh copy of the page (a new deploy changes them).
  async function discoverActions(pattern) {
    const response = await nativeFetch(location.href, { credentials: "include", cache: "no-store" });
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
    const response = await nativeFetch(location.pathname, {
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
    const put = await nativeFetch(uploadUrl, {
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

  // reCAPTCHA v2 (the fallback): an invisible widget with the v2 key found in the page. If it
  // opens an image challenge that nobody solves within spec.challengeWaitMs, a person is needed.
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

  async function mintV2Token(spec) {
    const key = await findV2SiteKey(spec);
    if (!key) throw new RecaptchaError("no reCAPTCHA v2 site key found in the arena page");
    const outcome = await renderV2Widget(key, spec);
    if (outcome.token) return outcome.token;
    throw new RecaptchaError(outcome.error, Boolean(outcome.needsPerson));
  }

  // Self-contained (it needs the page's own grecaptcha, so it may have to run in the page's main
  // world): renders an invisible v2 widget, resolves {token} or {error, needsPerson}, leaves nothing.
  function renderV2Widget(key, spec) {
    const enterprise = window.grecaptcha && window.grecaptcha.enterprise;
    if (!enterprise || !enterprise.render) {
      return Promise.resolve({ error: "grecaptcha.enterprise.render is not loaded in the arena page" });
    }
    const holder = document.createElement("div");
    holder.style.cssText = "position:fixed;bottom:0;right:0;z-index:2147483647";
    document.body.appendChild(holder);
    const challenge = new RegExp(spec.challengeFramePattern);
    return new Promise((resolve) => {
      const started = Date.now();
      let watch = null;
      const finish = (outcome) => {
        if (watch === null) return;
        clearInterval(watch);
        watch = null;
        holder.remove();
        resolve(outcome);
      };
      watch = setInterval(() => {
        const shown = [...document.querySelectorAll("iframe[src]")].some((f) => challenge.test(f.src));
        const waited = Date.now() - started;
        if (shown && waited > spec.challengeWaitMs) {
          finish({ error: "an image challenge needs a person to solve it", needsPerson: true });
        } else if (!shown && waited > spec.timeoutMs) {
          finish({ error: "the reCAPTCHA v2 widget gave no token in time" });
        }
      }, 200);
      try {
        const widget = enterprise.render(holder, {
          sitekey: key,
          size: "invisible",
          callback: (token) => finish({ token }),
          "error-callback": () => finish({ error: "the reCAPTCHA v2 widget reported an error" }),
        });
        Promise.resolve(enterprise.execute(widget)).catch((e) => finish({ error: String((e && e.message) || e) }));
      } catch (e) {
        finish({ error: String((e && e.message) || e) });
      }
    });
  }

  // The site's Stop button: ends the answer upstream when the client leaves.
  function stopUpstream(path, headers) {
    nativeFetch(path, { method: "POST", headers, body: "{}", credentials: "include" }).catch(() => {});
    return true;
  }

  async function run(id, request) {
    const controller = new AbortController();
    controllers.set(id, controller);
    try {
      const body = await withToken(request);
      const response = await nativeFetch(request.path, {
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
      if (e instanceof RecaptchaError) report(id, "recaptcha", { message: e.message, needsPerson: e.needsPerson });
      else if (e instanceof UploadError) report(id, "upload", { message: e.message, actionUnknown: e.actionUnknown });
      else if (name !== "AbortError") report(id, "error", { name, message: String((e && e.message) || e) });
    } finally {
      controllers.delete(id);
    }
  }

  // Capture: the page's own requests whose URL matches the pattern Python set before this
  // script (the arena's Retry URL) are reported as __lmbReport("capture", "request", {url, method}).
  // Python decides whether a capture is armed; the bridge's fetches never pass through here.
  const capturePattern = window.__lmbCapturePattern ? new RegExp(window.__lmbCapturePattern) : null;
  delete window.__lmbCapturePattern;

  function describe(input, init) {
    const isRequest = typeof Request !== "undefined" && input instanceof Request;
    const url = isRequest ? input.url : String(input);
    const method = (init && init.method) || (isRequest ? input.method : "GET");
    return { url: new URL(url, location.href).href, method: String(method).toUpperCase() };
  }

  if (capturePattern) {
    window.fetch = function fetch(input, init) {
      try {
        const seen = describe(input, init);
        if (capturePattern.test(seen.url)) report("capture", "request", seen);
      } catch (e) {
        // Never break the page's own request over a report.
      }
      return nativeFetch(input, init);
    };
  }

  window.__lmb = {
    start(id, request) {
      run(id, request);
      return true;
    },
    abort(id) {
      const controller = controllers.get(id);
      if (controller) controller.abort();
      return Boolean(controller);
    },
    discoverActions,
    stop: stopUpstream,
  };
})();
