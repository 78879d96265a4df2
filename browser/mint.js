// Mint one reCAPTCHA Enterprise token with the page's own grecaptcha (create-evaluation,
// protocol.md section 2). Evaluated in the page's main world as `(<this>)(spec)` by
// browser/recaptcha.py: it defines no globals and clears its timers, so nothing is left behind.
// spec: {action, siteKeyPattern, timeoutMs}; resolves to {token} or {error: message}.
async (spec) => {
  const deadline = Date.now() + spec.timeoutMs;
  const regex = new RegExp(spec.siteKeyPattern);
  const findSiteKey = () => {
    for (const el of document.querySelectorAll("script[src], iframe[src]")) {
      const match = regex.exec(el.src);
      if (match) return match[1];
    }
    for (const script of document.querySelectorAll("script:not([src])")) {
      const match = regex.exec(script.textContent || "");
      if (match) return match[1];
    }
    return null;
  };
  let key, enterprise;
  for (;;) {
    // The page may still be loading its reCAPTCHA script: wait for it, up to the deadline.
    key = findSiteKey();
    enterprise = window.grecaptcha && window.grecaptcha.enterprise;
    if (key && enterprise) break;
    if (Date.now() > deadline) {
      return { error: key ? "grecaptcha.enterprise is not loaded in the arena page"
        : "no reCAPTCHA site key found in the arena page" };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ error: "grecaptcha.enterprise did not answer in time" }),
      Math.max(0, deadline - Date.now()));
  });
  try {
    const ready = await Promise.race([new Promise((resolve) => enterprise.ready(() => resolve(null))), timeout]);
    if (ready) return ready;
    const token = await Promise.race([enterprise.execute(key, { action: spec.action }), timeout]);
    if (token && token.error) return token;
    if (typeof token !== "string" || !token) return { error: "grecaptcha.enterprise gave no token" };
    return { token };
  } catch (e) {
    return { error: String((e && e.message) || e) };
  } finally {
    clearTimeout(timer);
  }
}
