// Progressive enhancement only: every page works without this file.
// Words that are true only with JavaScript (class js-only) show under html.js.
document.documentElement.classList.add("js");
// After htmx swaps a new step into <main>, move focus there so keyboard and screen-reader users
// land on it: the field htmx autofocused (the first error) keeps focus, otherwise the heading gets it.
document.addEventListener("htmx:after:settle", function () {
  var active = document.activeElement;
  var main = document.getElementById("main");
  if (!main || (active && active !== document.body && main.contains(active) && active.hasAttribute("autofocus"))) return;
  var target = main.querySelector("[autofocus]") || main.querySelector("[data-step-heading]") || main;
  target.focus();
});

// The Login with Email code's time left. The server renders "This code expires in N seconds." in an
// aria-live="polite" element; this refreshes the words every 10 seconds (so a screen reader hears
// them now and then, never every second) and once more when the code expires. Without JavaScript
// the server's words stay.
(function () {
  function describe(left) {
    if (left <= 0) return "This code has expired. Select Send New Code to get a new one.";
    return "This code expires in " + left + " second" + (left === 1 ? "" : "s") + ".";
  }
  function start(element) {
    if (element.getAttribute("data-countdown-started")) return;
    element.setAttribute("data-countdown-started", "1");
    var seconds = Number(element.getAttribute("data-countdown"));
    if (!(seconds > 0)) return;
    var deadline = Date.now() + seconds * 1000;
    function update() {
      if (!element.isConnected) return stop();
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      element.textContent = describe(left);
      if (left <= 0) stop();
    }
    var timer = setInterval(update, 10000);
    var last = setTimeout(update, seconds * 1000);
    function stop() {
      clearInterval(timer);
      clearTimeout(last);
    }
  }
  function scan() {
    var elements = document.querySelectorAll("[data-countdown]");
    for (var i = 0; i < elements.length; i++) start(elements[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
  document.addEventListener("htmx:after:settle", scan);
})();

// Sign in with a passkey, on the sign-in page: the button is made here (so it is absent without
// JavaScript, or in a browser without WebAuthn), and the WebAuthn scripts the page names in its
// passkey-scripts meta (@simplewebauthn/browser, static/passkey.js: about 6 KB) load only when the
// person reaches for the button (pointer over it, focus, touch, or a press), not for everyone who
// signs in with a password. A press before they have loaded is kept, and passkey.js carries it out.
(function () {
  var loading = false;
  function load() {
    if (loading) return;
    loading = true;
    var meta = document.querySelector('meta[name="passkey-scripts"]');
    var sources = meta ? (meta.getAttribute("content") || "").split(" ") : [];
    for (var i = 0; i < sources.length; i++) {
      var script = document.createElement("script");
      script.src = sources[i];
      script.async = false; // in order: passkey.js uses the library
      document.head.appendChild(script);
    }
  }
  function offer() {
    if (!window.PublicKeyCredential || !document.querySelector('meta[name="passkey-scripts"]')) return;
    var slots = document.querySelectorAll("[data-passkey-signin]:not([data-offered])");
    for (var i = 0; i < slots.length; i++) {
      var slot = slots[i];
      slot.setAttribute("data-offered", "");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button secondary";
      button.setAttribute("data-passkey-button", "");
      button.textContent = "Sign in with a passkey";
      ["pointerenter", "focus", "touchstart"].forEach(function (name) {
        button.addEventListener(name, load, { once: true, passive: true });
      });
      button.addEventListener("click", function (event) {
        var owner = event.currentTarget.closest("[data-passkey-signin]");
        if (owner && !owner.hasAttribute("data-ready")) owner.setAttribute("data-pressed", "");
        load();
      });
      slot.prepend(button);
      slot.hidden = false;
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", offer);
  else offer();
  document.addEventListener("htmx:after:settle", offer);
})();
