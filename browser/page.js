// lmarena-bridge page logic, injected with add_init_script into every document.
// Python starts fetches with window.__lmb.start(id, request) and stops them with
// window.__lmb.abort(id); everything flows back, batched, through one binding
// (installed by browser/channel.py) that takes a JSON string of [[id, kind, payload], ...]:
//   kind "head" | "lines" | "done" | "error" | "recaptcha" (no reCAPTCHA token could be minted),
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
  class RecaptchaError extends Error {}

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
    if (!request.recaptcha) return request.body;
    const body = JSON.parse(request.body);
    body[request.recaptcha.bodyKey] = await mintToken(request.recaptcha);
    return JSON.stringify(body);
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
      if (e instanceof RecaptchaError) report(id, "recaptcha", { message: e.message });
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
  };
})();
