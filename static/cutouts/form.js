// The cutout form, live: physical extents, the size of the box at every level, the over-cap warning,
// and the same physical box when the level changes. The server checks everything again on submit.
(function () {
  "use strict";
  var form = document.getElementById("cutout-form");
  var data = JSON.parse(document.getElementById("cutout-levels").textContent);
  if (!form || !data.levels.length) return;
  var BYTES = { uint8: 1, uint16: 2, uint64: 8 };
  var AXES = ["x", "y", "z"];
  var level = function (r) { return data.levels.filter(function (l) { return l.resolution === r; })[0]; };
  var select = form.elements.resolution;
  var current = parseInt(select.value, 10);

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
  function human(n) {
    var units = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + " " + units[i];
  }
  function render() {
    var r = parseInt(select.value, 10), b = box(), lv = level(r), out = document.getElementById("size");
    AXES.forEach(function (a, i) {
      var cell = form.querySelector('[data-physical="' + a + '"]');
      var lo = intValue(a + "0"), hi = intValue(a + "1");
      cell.textContent = lo !== null && hi !== null ? (lo * lv.voxel_size[i]).toLocaleString() + " – " + (hi * lv.voxel_size[i]).toLocaleString() : "";
    });
    if (!b) { out.innerHTML = '<p class="muted">Enter a valid box to see its size.</p>'; return; }
    var per = bytesPerVoxel() * times(), rows = [], best = null, here = null;
    data.levels.forEach(function (l) {
      var s = scale(b, r, l.resolution), vox = 1;
      AXES.forEach(function (a) { vox *= s[a][1] - s[a][0]; });
      var row = { r: l.resolution, box: s, voxels: vox * times(), bytes: vox * per, fits: vox * per <= data.max_bytes };
      if (row.fits && best === null) best = row;
      if (l.resolution === r) here = row;
      rows.push(row);
    });
    var html = '<p class="size-current' + (here.fits ? "" : " over") + '">This box: <strong data-size="voxels">' +
      here.voxels.toLocaleString() + '</strong> voxels, <strong data-size="bytes">' + human(here.bytes) + "</strong> uncompressed";
    if (!here.fits) {
      html += ": over the " + human(data.max_bytes) + " cap for one download.";
      if (best) html += ' The same box fits at level ' + best.r + ': <a class="use-level" href="#" data-level="' + best.r + '">use level ' + best.r + "</a>.";
    }
    html += '</p><table class="sizes"><thead><tr><th>Level</th><th>Box (x, y, z)</th><th>Voxels</th><th>Size</th></tr></thead><tbody>';
    rows.forEach(function (row) {
      html += '<tr data-level="' + row.r + '" class="' + (row.r === r ? "current " : "") + (row.fits ? "" : "over") + '"><td>' + row.r +
        "</td><td>" + AXES.map(function (a) { return row.box[a][0] + ":" + row.box[a][1]; }).join(", ") +
        "</td><td>" + row.voxels.toLocaleString() + "</td><td>" + human(row.bytes) + "</td></tr>";
    });
    out.innerHTML = html + "</tbody></table>";
    var use = out.querySelector("a.use-level");
    if (use) use.addEventListener("click", function (ev) { ev.preventDefault(); setLevel(parseInt(use.dataset.level, 10)); });
  }
  function setLevel(r) {
    var b = box();
    if (b) {
      var s = scale(b, current, r);
      AXES.forEach(function (a) { form.elements[a + "0"].value = s[a][0]; form.elements[a + "1"].value = s[a][1]; });
    }
    select.value = String(r);
    current = r;
    render();
    // Values set from script fire no event: tell the form's other listeners (preview, recipes).
    form.dispatchEvent(new Event("change"));
  }
  select.addEventListener("change", function () { setLevel(parseInt(select.value, 10)); });
  form.addEventListener("input", function (ev) { if (ev.target !== select) render(); });
  render();
})();
