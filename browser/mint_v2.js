// reCAPTCHA v2 fallback (create-evaluation, protocol.md section 2): render an invisible v2 widget
// with the page's own grecaptcha and the v2 site key found in the page. Evaluated in the page's
// main world as `(<this>)([key, spec])` by browser/recaptcha.py: it defines no globals, removes its
// widget holder and clears its timer whatever happens, so nothing is left behind.
// spec: RecaptchaSpec.to_page(); resolves to {token} or {error, needsPerson} (an image challenge
// nobody solved within spec.challengeWaitMs needs a person).
([key, spec]) => {
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
