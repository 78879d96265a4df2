// lmarena-bridge page logic. It runs in an isolated world of every document (browser/channel.py):
// the page's DOM, origin and cookies, but none of the page's globals, and the page sees none of
// ours. Python starts fetches with __lmb.start(id, request) and stops them with __lmb.abort(id);
// everything flows back, batched, through one binding that exists only in this world and takes a
// JSON string of [[id, kind, payload], ...]: kind "head" | "lines" | "done" | "error".
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

  async function run(id, request) {
    const controller = new AbortController();
    controllers.set(id, controller);
    try {
      const response = await worldFetch(request.path, {
        method: request.method,
        headers: request.headers,
        body: request.body,
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
      if (name !== "AbortError") report(id, "error", { name, message: String((e && e.message) || e) });
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
    // A fresh copy of a page of the site (for the embedded model list): {status, text}.
    async fetchText(url) {
      const response = await worldFetch(url, { credentials: "include", cache: "no-store" });
      return { status: response.status, text: await response.text() };
    },
  };
})();
