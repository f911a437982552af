/* Copy buttons: <button class="copy-btn" data-copy-target="#id">Copy</button> copies the text of #id.
   Wired once for the whole page (and for buttons added later, e.g. recipes refreshed as the user types),
   by delegation. The button says "Copied" for two seconds; a live region tells screen readers. */
(function () {
  "use strict";

  function announce(text) {
    var region = document.getElementById("copy-status");
    if (!region) {
      region = document.createElement("span");
      region.id = "copy-status";
      region.className = "visually-hidden";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    region.textContent = text;
  }

  function fallbackCopy(text) {
    // Outside a secure context navigator.clipboard is missing: copy through a hidden textarea.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  function done(button, label) {
    var original = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", original);
    button.textContent = label;
    button.classList.toggle("copied", label === "Copied");
    announce(label === "Copied" ? "Copied to the clipboard" : "Could not copy: select the text and copy it");
    window.clearTimeout(button._copyTimer);
    button._copyTimer = window.setTimeout(function () {
      button.textContent = original;
      button.classList.remove("copied");
    }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var target = document.querySelector(button.getAttribute("data-copy-target"));
    if (!target) return;
    event.preventDefault();
    var text = "value" in target && target.tagName !== "PRE" ? target.value : target.innerText;
    copyText(text.replace(/\s+$/, "")).then(function () { done(button, "Copied"); },
                                            function () { done(button, "Copy failed"); });
  });
})();
