// The cutout form, live. As the user types: the physical extents and the size at every level at once (here),
// then the server's own verdict (check.json runs the serializer a submit runs): a message in each field's
// slot worded as the submit would word it, the size section with its over-cap alternatives (another level,
// parts, the exact boss-cutout command) and the recipes. A new level keeps the same physical box.
(function () {
  "use strict";
  var form = document.getElementById("cutout-form");
  var script = document.getElementById("cutout-levels");
  if (!form || !script) return;
  var data = JSON.parse(script.textContent);
  if (!data.levels.length) return;
  var BYTES = { uint8: 1, uint16: 2, uint32: 4, uint64: 8 };
  var AXES = ["x", "y", "z"];
  var select = form.elements.resolution;
  var current = parseInt(select.value, 10);
  var sizeBox = document.getElementById("size");
  var recipes = document.getElementById("recipes");
  var human = function (n) { return window.portalUnits.bytes(n); };
  var level = function (r) { return data.levels.filter(function (l) { return l.resolution === r; })[0]; };
  var seq = 0, timer = null;

  function intValue(name) {
    var v = (form.elements[name] || { value: "" }).value.trim();
    return /^-?\d+$/.test(v) ? parseInt(v, 10) : null;
  }
  function box() {
    var b = {};
    for (var i = 0; i < AXES.length; i++) {
      var a = AXES[i], lo = intValue(a + "0"), hi = intValue(a + "1");
      if (lo === null || hi === null || lo >= hi) return null;
      b[a] = [lo, hi];
    }
    return b;
  }
  function scale(b, from, to) {
    var src = level(from), dst = level(to), out = {};
    AXES.forEach(function (a, i) {
      var ratio = src.voxel_size[i] / dst.voxel_size[i];
      var lo = Math.max(Math.floor(b[a][0] * ratio), dst.start[i]);
      var hi = Math.min(Math.ceil(b[a][1] * ratio), dst.stop[i]);
      out[a] = [lo, Math.max(hi, lo + 1)];
    });
    return out;
  }
  function bytesPerVoxel() {
    var n = 0;
    form.querySelectorAll('input[name="channels"]:checked').forEach(function (c) { n += BYTES[c.dataset.dtype] || 1; });
    return n || 1;
  }
  function times() {
    var t0 = intValue("t0"), t1 = intValue("t1");
    return t0 !== null && t1 !== null && t1 > t0 ? t1 - t0 : 1;
  }
  function showPhysical(lv) {
    AXES.forEach(function (a, i) {
      var cell = form.querySelector('[data-physical="' + a + '"]');
      var lo = intValue(a + "0"), hi = intValue(a + "1");
      // Nothing for a range out of order or outside the level (the field's message says why).
      cell.textContent = lo !== null && hi !== null && lo >= lv.start[i] && lo < hi && hi <= lv.stop[i] ?
        (lo * lv.voxel_size[i]).toLocaleString("en-US") + " – " + (hi * lv.voxel_size[i]).toLocaleString("en-US") : "";
    });
  }
  // The size section at once, from the numbers alone; the live check's answer replaces it (same markup,
  // plus the boss-cutout command) a moment later.
  function render() {
    var r = parseInt(select.value, 10), b = box(), lv = level(r);
    if (!lv) return;
    showPhysical(lv);
    if (!b) { sizeBox.innerHTML = '<p class="muted">Enter a valid box to see its size.</p>'; return; }
    var per = bytesPerVoxel() * times(), rows = [], best = null, here = null;
    // Still over the cap: the server's alternatives (parts, the boss-cutout command) stay in place while the
    // check runs, the command marked as out of date and its Copy button off until the check's answer replaces it.
    var kept = sizeBox.querySelector('#over-cap[data-from="server"]');
    data.levels.forEach(function (l) {
      var s = scale(b, r, l.resolution), vox = 1;
      AXES.forEach(function (a) { vox *= s[a][1] - s[a][0]; });
      var row = { r: l.resolution, box: s, voxels: vox * times(), bytes: vox * per, fits: vox * per <= data.max_bytes };
      if (row.fits && best === null) best = row;
      if (l.resolution === r) here = row;
      rows.push(row);
    });
    var html = '<p class="size-current' + (here.fits ? "" : " over") + '">This box: <strong data-size="voxels">' +
      here.voxels.toLocaleString("en-US") + '</strong> voxels, <strong data-size="bytes">' + human(here.bytes) +
      "</strong> uncompressed" + (here.fits ? "" : ": over the " + human(data.max_bytes) + " cap for one download.") + "</p>";
    var altLevel = best ? "The same box at level " + best.r + " is " + human(best.bytes) +
      ': <a class="use-level" href="#" data-level="' + best.r + '">use level ' + best.r + "</a>." : "No level holds it under the cap.";
    if (here.fits) kept = null;
    if (kept) {
      html += '<div id="over-cap-slot"></div>';
    } else if (!here.fits) {
      html += '<div class="notice notice-warn over-cap" id="over-cap"><p><strong>Too large for one download.</strong></p><ul>' +
        '<li class="alt-level">' + altLevel + "</li></ul></div>";
    }
    html += '<div class="table-wrap" role="region" aria-label="The box at every level" tabindex="0"><table class="sizes">' +
      '<thead><tr><th scope="col">Level</th><th scope="col">Box (x, y, z)</th><th scope="col">Voxels</th><th scope="col">Size</th></tr></thead><tbody>';
    rows.forEach(function (row) {
      html += '<tr data-level="' + row.r + '" class="' + (row.r === r ? "current " : "") + (row.fits ? "" : "over") + '"><td>' + row.r +
        "</td><td>" + AXES.map(function (a) { return row.box[a][0] + ":" + row.box[a][1]; }).join(", ") +
        "</td><td>" + row.voxels.toLocaleString("en-US") + "</td><td>" + human(row.bytes) + "</td></tr>";
    });
    sizeBox.innerHTML = html + "</tbody></table></div>";
    if (kept) {
      var item = kept.querySelector("li.alt-level");
      if (item) item.innerHTML = altLevel;
      kept.querySelectorAll("pre.cli-command").forEach(function (pre) { pre.setAttribute("aria-busy", "true"); pre.classList.add("stale"); });
      kept.querySelectorAll(".alt-cli .copy-btn").forEach(function (b) { b.disabled = true; });
      sizeBox.querySelector("#over-cap-slot").replaceWith(kept);
    }
  }

  // --- The server's verdict -------------------------------------------------------------------------------
  function query() {
    var params = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || el.disabled) return;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      params.append(el.name, el.value.trim());
    });
    return params.toString();
  }
  function showErrors(errors) {
    form.querySelectorAll("[data-field]").forEach(function (slot) {
      var field = slot.dataset.field, message = errors[field];
      if (field === "boss") message = errors.boss || errors.collection || errors.experiment || errors.body;
      slot.textContent = message || "";
      slot.hidden = !message;
    });
    form.querySelectorAll("input[name], select[name]").forEach(function (el) {
      var field = /^[xyzt][01]$/.test(el.name) ? el.name[0] : el.name;
      if (errors[field]) el.setAttribute("aria-invalid", "true"); else el.removeAttribute("aria-invalid");
    });
  }
  function replaceRecipes(html) {
    if (!recipes || recipes.dataset.html === html) return;
    var open = recipes.querySelector('[role="tab"][aria-selected="true"]');
    var keep = open && open.id;
    recipes.innerHTML = html;
    recipes.dataset.html = html;
    if (keep && document.getElementById(keep)) {
      recipes.querySelectorAll('[role="tab"]').forEach(function (t) { t.setAttribute("aria-selected", t.id === keep ? "true" : "false"); });
    }
    if (window.portalTabs) window.portalTabs.wire(recipes);
  }
  function check() {
    var mine = ++seq;
    fetch(form.dataset.checkUrl + "?" + query(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (mine !== seq) return;  // the user typed on: a newer check is on its way
        showErrors(body.errors || {});
        if (body.size !== undefined && sizeBox.dataset.html !== body.size) { sizeBox.innerHTML = body.size; sizeBox.dataset.html = body.size; }
        if (body.recipes !== undefined) replaceRecipes(body.recipes);
        form.dispatchEvent(new CustomEvent("cutout:checked", { detail: body }));
      })
      .catch(function () { /* the submit checks everything again */ });
  }
  function later() { clearTimeout(timer); timer = setTimeout(check, 250); }

  function setLevel(r) {
    var b = box();
    if (b) {
      var s = scale(b, current, r);
      AXES.forEach(function (a) { form.elements[a + "0"].value = s[a][0]; form.elements[a + "1"].value = s[a][1]; });
    }
    select.value = String(r);
    current = r;
    sizeBox.dataset.html = "";
    render();
    // Values set from script fire no event: tell the form's other listeners (preview, recipes, the check).
    form.dispatchEvent(new Event("change"));
  }
  sizeBox.addEventListener("click", function (ev) {
    var use = ev.target.closest("a.use-level");
    if (use) { ev.preventDefault(); setLevel(parseInt(use.dataset.level, 10)); }
  });
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest("a.recipe-link");
    var tab = link && document.getElementById(link.dataset.tab);
    if (tab) { ev.preventDefault(); tab.click(); tab.focus(); }
  });
  select.addEventListener("change", function () { if (parseInt(select.value, 10) !== current) setLevel(parseInt(select.value, 10)); });
  form.addEventListener("input", function (ev) { if (ev.target !== select) { sizeBox.dataset.html = ""; render(); } later(); });
  form.addEventListener("change", later);
  window.cutoutForm = { level: level, current: function () { return current; }, box: box };
  check();  // a box pre-filled from a link may already be outside the frame: say so at once
})();
