// lmarena-bridge page logic, injected with add_init_script into every document.
// Python starts fetches with window.__lmb.start(id, request) and stops them with
// window.__lmb.abort(id); everything flows back through one binding:
//   __lmbReport(id, kind, payload) with kind "head" | "lines" | "done" | "error".
(() => {
  if (window.__lmb) return;
  const BINDING = "__lmbReport";
  const controllers = new Map();

  function report(id, kind, payload) {
    try {
      window[BINDING](id, kind, payload);
    } catch (e) {
      // The binding is gone (page closing): nothing to report to.
    }
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
      const response = await fetch(request.path, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        credentials: "include",
        signal: controller.signal,
      });
      const headers = {};
      response.headers.forEach((value, key) => { headers[key] = value; });
      report(id, "head", { status: response.status, headers });
      if (response.body) await pump(id, response);
      report(id, "done", null);
    } catch (e) {
      const name = (e && e.name) || "Error";
      if (name !== "AbortError") report(id, "error", { name, message: String((e && e.message) || e) });
    } finally {
      controllers.delete(id);
    }
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
    inflight() {
      return controllers.size;
    },
  };
})();
