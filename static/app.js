// Progressive enhancement only: every page works without this file.
// After htmx swaps a new step into <main>, move focus there so keyboard and screen-reader users
// land on it: the field htmx autofocused (the first error) keeps focus, otherwise the heading gets it.
document.addEventListener("htmx:after:settle", function () {
  var active = document.activeElement;
  var main = document.getElementById("main");
  if (!main || (active && active !== document.body && main.contains(active) && active.hasAttribute("autofocus"))) return;
  var target = main.querySelector("[autofocus]") || main.querySelector("[data-step-heading]") || main;
  target.focus();
});
