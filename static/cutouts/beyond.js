// The cutout form's extras: refresh the preview image and the recipes when the box changes.
(function () {
  "use strict";
  var form = document.getElementById("cutout-form");
  var img = document.getElementById("preview-image");
  var recipes = document.getElementById("form-recipes");
  if (!form) return;
  var timer = null;
  function query() {
    var params = new URLSearchParams();
    ["channels", "resolution", "x0", "x1", "y0", "y1", "z0", "z1", "t0", "t1", "format"].forEach(function (name) {
      form.querySelectorAll('[name="' + name + '"]').forEach(function (el) {
        if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
        if (el.value !== "") params.append(name, el.value.trim());
      });
    });
    return params.toString();
  }
  function showRecipes(list) {
    var box = recipes.querySelector(".snippets");
    box.textContent = "";
    list.forEach(function (s) {
      var h = document.createElement("h3"), pre = document.createElement("pre"), code = document.createElement("code");
      h.textContent = s.title; code.textContent = s.code; pre.className = "snippet";
      pre.appendChild(code); box.appendChild(h); box.appendChild(pre);
    });
  }
  function refresh() {
    var q = query();
    if (img) img.src = img.dataset.base + "?" + q;
    if (recipes) {
      fetch(recipes.dataset.url + "?" + q, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (body) { showRecipes(body.snippets || []); })
        .catch(function () {});
    }
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 600); }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
