// Passkeys (product.md §8) are an enhancement: WebAuthn needs JavaScript, so the buttons exist
// only when this script runs in a browser that supports it. Without JavaScript they are absent
// (and the account page's note that passkeys need JavaScript stays). The WebAuthn ceremony is
// @simplewebauthn/browser's (window.SimpleWebAuthnBrowser); the server checks everything.
(() => {
  "use strict";
  const lib = window.SimpleWebAuthnBrowser;
  const supported = () => !!lib && lib.browserSupportsWebAuthn();

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
    let data = {};
    try {
      data = await response.json();
    } catch {
      data = {};
    }
    return { ok: response.ok, data };
  }

  function element(tag, attributes, text) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, value);
    if (text) el.textContent = text;
    return el;
  }

  function messageOf(slot) {
    let message = slot.querySelector("[data-passkey-message]");
    if (!message) {
      message = element("p", { "data-passkey-message": "", role: "alert", class: "error-message" });
      slot.append(message);
    }
    return message;
  }

  const CANCELLED = "The passkey was not used. Select the button to try again.";
  // At sign-in the browser refuses (NotAllowedError) both a cancel and a device that could not
  // verify the person (user verification is required): say both, and the other way in.
  const NOT_SIGNED_IN =
    "The passkey was not used: it was cancelled, or your device could not confirm it is you (fingerprint, face or PIN). Try again, or sign in with your email address and password.";

  const NOT_CONFIRMED =
    "The passkey was not used: it was cancelled, or your device could not confirm it is you (fingerprint, face or PIN). Try again, or confirm it's you another way on this page.";

  /**
   * One WebAuthn ceremony behind `button`, the same for signing in and adding a passkey: the
   * server's options for `body()` from `path`/options, the browser's passkey prompt (`prompt`,
   * startAuthentication or startRegistration), then the answer to `path`/verify, which sends the
   * browser on or says what went wrong in the slot's message. `query` (such as "?for=password")
   * goes with both calls.
   */
  function onCeremony(slot, button, ceremony) {
    button.addEventListener("click", async () => {
      const message = messageOf(slot);
      message.textContent = "";
      const body = ceremony.body();
      button.disabled = true;
      try {
        const started = await postJSON(`${ceremony.path}/options${ceremony.query || ""}`, body);
        // Confirm it's you first (adding a passkey when the last second factor is older than REAUTH_TTL): that page, then back here.
        if (!started.ok && started.data.redirect) return window.location.assign(started.data.redirect);
        if (!started.ok) throw new Error(started.data.message || CANCELLED);
        let answer;
        try {
          answer = await ceremony.prompt({ optionsJSON: started.data.options });
        } catch {
          throw new Error(ceremony.notUsed || NOT_SIGNED_IN);
        }
        const done = await postJSON(`${ceremony.path}/verify${ceremony.query || ""}`, answer);
        if (done.data.redirect) return window.location.assign(done.data.redirect);
        throw new Error(done.data.message || CANCELLED);
      } catch (error) {
        message.textContent = error.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  // The sign-in page's button is made by static/app.js, which loads this script on demand; a
  // press made while it loaded is carried out now.
  function signInSlot(slot) {
    let button = slot.querySelector("[data-passkey-button]");
    if (!button) {
      button = element("button", { type: "button", class: "button secondary", "data-passkey-button": "" }, "Sign in with a passkey");
      slot.prepend(button);
    }
    slot.hidden = false;
    onCeremony(slot, button, {
      path: "/login/passkey",
      body: () => ({ rd: slot.getAttribute("data-rd") || undefined }),
      prompt: (options) => lib.startAuthentication(options),
    });
    if (slot.hasAttribute("data-pressed")) {
      slot.removeAttribute("data-pressed");
      button.click();
    }
  }

  function addSlot(slot) {
    for (const note of document.querySelectorAll("[data-passkey-nojs]")) note.remove();
    const field = element("div", { class: "field" });
    field.append(element("label", { for: "field-passkey-name" }, "Passkey name"));
    field.append(element("p", { class: "hint", id: "field-passkey-name-hint" }, "So you can tell your passkeys apart, such as “Work laptop”."));
    field.append(element("input", { id: "field-passkey-name", name: "passkey-name", type: "text", maxlength: "60", autocomplete: "off", "aria-describedby": "field-passkey-name-hint" }));
    const button = element("button", { type: "button", class: "button primary" }, "Add a passkey");
    // The help page says what a passkey is and what it needs, where one is offered.
    const about = element("p", {});
    about.append(element("a", { href: "/help/passkeys" }, "What is a passkey?"));
    slot.append(field, button, about);
    slot.hidden = false;
    onCeremony(slot, button, {
      path: "/account/factors/passkey",
      body: () => ({ name: slot.querySelector("#field-passkey-name").value.trim() }),
      prompt: (options) => lib.startRegistration(options),
    });
  }

  // Confirm it's you with a passkey (the account page): the slot is drawn hidden, only for a person who has one.
  function confirmSlot(slot) {
    const button = element("button", { type: "button", class: "button secondary" }, "Confirm with a passkey");
    slot.append(button);
    slot.hidden = false;
    const change = slot.getAttribute("data-for");
    onCeremony(slot, button, {
      path: "/account/confirm/passkey",
      query: change ? `?for=${encodeURIComponent(change)}` : "",
      body: () => ({}),
      notUsed: NOT_CONFIRMED,
      prompt: (options) => lib.startAuthentication(options),
    });
  }

  function upgrade() {
    if (!supported()) return;
    for (const slot of document.querySelectorAll("[data-passkey-signin]:not([data-ready])")) {
      slot.setAttribute("data-ready", "");
      signInSlot(slot);
    }
    for (const slot of document.querySelectorAll("[data-passkey-confirm]:not([data-ready])")) {
      slot.setAttribute("data-ready", "");
      confirmSlot(slot);
    }
    for (const slot of document.querySelectorAll("[data-passkey-add]:not([data-ready])")) {
      slot.setAttribute("data-ready", "");
      addSlot(slot);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", upgrade);
  else upgrade();
  document.addEventListener("htmx:after:settle", upgrade);
})();
