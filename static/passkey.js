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

  function signInSlot(slot) {
    const button = element("button", { type: "button", class: "button secondary" }, "Sign in with a passkey");
    slot.prepend(button);
    slot.hidden = false;
    button.addEventListener("click", async () => {
      const message = messageOf(slot);
      message.textContent = "";
      button.disabled = true;
      try {
        const started = await postJSON("/login/passkey/options", { rd: slot.getAttribute("data-rd") || undefined });
        if (!started.ok) throw new Error(started.data.message || CANCELLED);
        let answer;
        try {
          answer = await lib.startAuthentication({ optionsJSON: started.data.options });
        } catch {
          throw new Error(CANCELLED);
        }
        const done = await postJSON("/login/passkey/verify", answer);
        if (done.data.redirect) return window.location.assign(done.data.redirect);
        throw new Error(done.data.message || CANCELLED);
      } catch (error) {
        message.textContent = error.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  function addSlot(slot) {
    for (const note of document.querySelectorAll("[data-passkey-nojs]")) note.remove();
    const field = element("div", { class: "field" });
    field.append(element("label", { for: "field-passkey-name" }, "Passkey name"));
    field.append(element("p", { class: "hint", id: "field-passkey-name-hint" }, "So you can tell your passkeys apart, such as “Work laptop”."));
    field.append(element("input", { id: "field-passkey-name", name: "passkey-name", type: "text", maxlength: "60", autocomplete: "off", "aria-describedby": "field-passkey-name-hint" }));
    const button = element("button", { type: "button", class: "button primary" }, "Add a passkey");
    slot.append(field, button);
    slot.hidden = false;
    button.addEventListener("click", async () => {
      const message = messageOf(slot);
      message.textContent = "";
      const name = slot.querySelector("#field-passkey-name").value.trim();
      button.disabled = true;
      try {
        const started = await postJSON("/account/factors/passkey/options", { name });
        // Confirm it's you first (the last second factor is older than REAUTH_TTL): that page, then back here.
        if (!started.ok && started.data.redirect) return window.location.assign(started.data.redirect);
        if (!started.ok) throw new Error(started.data.message || CANCELLED);
        let answer;
        try {
          answer = await lib.startRegistration({ optionsJSON: started.data.options });
        } catch {
          throw new Error(CANCELLED);
        }
        const done = await postJSON("/account/factors/passkey/verify", answer);
        if (done.data.redirect) return window.location.assign(done.data.redirect);
        throw new Error(done.data.message || CANCELLED);
      } catch (error) {
        message.textContent = error.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  function upgrade() {
    if (!supported()) return;
    for (const slot of document.querySelectorAll("[data-passkey-signin]:not([data-ready])")) {
      slot.setAttribute("data-ready", "");
      signInSlot(slot);
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
