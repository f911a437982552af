/* Swagger UI puts a link inside each operation's summary <button> (a nested control that screen readers
   and keyboards can't reach on its own: axe "nested-interactive"). The button already expands the
   operation and, with deepLinking, updates the address, so the inner link is unwrapped into plain text as
   Swagger renders each operation. */
(function () {
  "use strict";
  function unwrap(root) {
    Array.prototype.forEach.call(root.querySelectorAll(".opblock-summary-control a"), function (link) {
      var span = document.createElement("span");
      span.className = link.className;
      while (link.firstChild) span.appendChild(link.firstChild);
      link.parentNode.replaceChild(span, link);
    });
  }
  var root = document.getElementById("swagger-ui");
  if (!root || !window.MutationObserver) return;
  new MutationObserver(function () { unwrap(root); }).observe(root, {childList: true, subtree: true});
  unwrap(root);
})();
