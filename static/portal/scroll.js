/* A box that scrolls sideways (a wide table in .table-wrap, a long <pre>) must be reachable by keyboard,
   or keyboard users can't scroll it: give each one that overflows tabindex="0" (and a name when it has
   none), and take it back when it fits again (after a resize). */
(function () {
  "use strict";
  var SELECTOR = ".table-wrap, main table, pre, .code-block";

  function update() {
    Array.prototype.forEach.call(document.querySelectorAll(SELECTOR), function (box) {
      var overflows = box.scrollWidth > box.clientWidth + 1;
      if (overflows && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-scroll-focus", "1");
        if (box.tagName !== "TABLE" && !box.hasAttribute("aria-label") && !box.hasAttribute("role")) {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", box.tagName === "PRE" ? "Code (scrolls sideways)" : "Table (scrolls sideways)");
        }
      } else if (!overflows && box.getAttribute("data-scroll-focus")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-scroll-focus");
      }
    });
  }

  var timer = null;
  function later() { window.clearTimeout(timer); timer = window.setTimeout(update, 100); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", update);
  else update();
  window.addEventListener("resize", later);
  if (window.MutationObserver) {
    document.addEventListener("DOMContentLoaded", function () {
      new MutationObserver(later).observe(document.querySelector("main") || document.body, {childList: true, subtree: true});
    });
  }
})();
