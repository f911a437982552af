/* Tabs (WAI-ARIA "tabs with automatic activation"): in a .tabs element, [role=tab] buttons with
   aria-controls="<panel id>" switch [role=tabpanel]s. Click or arrow keys (Left/Right, Home/End) move
   between tabs; only the selected tab is in the tab order. Without JS every panel stays visible, since
   the template leaves them all unhidden and this script hides the others. */
(function () {
  "use strict";

  function select(tablist, tab, focus) {
    var tabs = tablist.querySelectorAll('[role="tab"]');
    Array.prototype.forEach.call(tabs, function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.setAttribute("tabindex", on ? "0" : "-1");
      var panel = document.getElementById(t.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
    });
    if (focus) tab.focus();
  }

  function wire(tablist) {
    if (tablist.getAttribute("data-tabs-wired")) return;
    tablist.setAttribute("data-tabs-wired", "1");
    var tabs = Array.prototype.slice.call(tablist.querySelectorAll('[role="tab"]'));
    if (!tabs.length) return;
    var current = tabs.filter(function (t) { return t.getAttribute("aria-selected") === "true"; })[0] || tabs[0];
    select(tablist, current, false);
    tablist.addEventListener("click", function (event) {
      var tab = event.target.closest('[role="tab"]');
      if (tab && tablist.contains(tab)) { event.preventDefault(); select(tablist, tab, true); }
    });
    tablist.addEventListener("keydown", function (event) {
      var tabsNow = Array.prototype.slice.call(tablist.querySelectorAll('[role="tab"]'));
      var i = tabsNow.indexOf(document.activeElement);
      if (i < 0) return;
      var next = null;
      if (event.key === "ArrowRight") next = tabsNow[(i + 1) % tabsNow.length];
      else if (event.key === "ArrowLeft") next = tabsNow[(i - 1 + tabsNow.length) % tabsNow.length];
      else if (event.key === "Home") next = tabsNow[0];
      else if (event.key === "End") next = tabsNow[tabsNow.length - 1];
      if (next) { event.preventDefault(); select(tablist, next, true); }
    });
  }

  function wireAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll('.tabs [role="tablist"]'), wire);
  }

  window.portalTabs = { wire: wireAll };  // for pages that replace their tabs (recipes refreshed as you type)
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { wireAll(); });
  else wireAll();
})();
