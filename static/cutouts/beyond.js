// The cutout form's preview, interactive: the box is drawn over the section picture (an SVG rectangle) and
// follows the numbers; dragging draws a new box, dragging inside it moves it, arrow keys move it (Alt: finely)
// and Shift+arrows resize it; two sliders set z. Every change writes the form's numbers and fires "input",
// so the size, the live check and the recipes follow. The picture itself (preview.png?outline=0) only changes
// with z, the channel or the level: moving the box in x and y costs no BOSS request.
(function () {
  "use strict";
  var form = document.getElementById("cutout-form");
  var img = document.getElementById("preview-image");
  var script = document.getElementById("cutout-levels");
  if (!form || !img || !script || !window.cutoutForm) return;
  var data = JSON.parse(script.textContent);
  var NS = "http://www.w3.org/2000/svg";
  var section = document.getElementById("cutout-preview");
  var svg = null, picture = null, rect = null, zStart = null, zStop = null, timer = null, drag = null;

  function el(name, attrs) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function channel() {
    var c = form.querySelector('input[name="channels"]:checked');
    return c ? c.value : null;
  }
  function geometry() {
    var p = data.previews[channel()], lv = window.cutoutForm.level(parseInt(form.elements.resolution.value, 10));
    if (!p || !lv) return null;
    // ratio: one voxel of the chosen level in voxels of the preview's level, per axis
    return { p: p, lv: lv, rx: lv.voxel_size[0] / p.voxel_size[0], ry: lv.voxel_size[1] / p.voxel_size[1] };
  }
  function value(name) {
    var v = form.elements[name].value.trim();
    return /^-?\d+$/.test(v) ? parseInt(v, 10) : null;
  }
  function setValue(name, v) {
    var input = form.elements[name];
    if (String(v) === input.value) return;
    input.value = String(v);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // --- The picture ----------------------------------------------------------------------------------------
  function pictureUrl(g) {
    var params = new URLSearchParams();
    params.append("channels", channel());
    params.append("resolution", String(g.lv.resolution));
    // The whole section in x and y: the picture doesn't depend on where the box is, only on its z.
    params.append("x0", g.lv.start[0]); params.append("x1", g.lv.stop[0]);
    params.append("y0", g.lv.start[1]); params.append("y1", g.lv.stop[1]);
    params.append("z0", value("z0")); params.append("z1", value("z1"));
    params.append("outline", "0");
    return img.dataset.base + "?" + params.toString();
  }
  function build(g) {
    var w = g.p.x[1] - g.p.x[0], h = g.p.y[1] - g.p.y[0];
    if (svg) svg.remove();
    svg = el("svg", { viewBox: g.p.x[0] + " " + g.p.y[0] + " " + w + " " + h, width: 512, height: Math.round(512 * h / w),
                      role: "group", tabindex: "0", id: "preview-draw", "aria-describedby": "preview-keys",
                      "aria-label": "The box on the preview: drag to draw it, drag inside to move it; arrow keys move it, " +
                                    "Shift with arrow keys resizes it" });
    svg.classList.add("preview-draw");
    svg.style.touchAction = "none";  // a drag on a touch screen draws, it doesn't scroll the page
    svg.style.cursor = "crosshair";
    picture = el("image", { x: g.p.x[0], y: g.p.y[0], width: w, height: h, preserveAspectRatio: "none" });
    rect = el("rect", { fill: "rgba(255, 40, 40, 0.18)", stroke: "#ff2020", "stroke-width": 2,
                        "vector-effect": "non-scaling-stroke", "data-box": "" });
    svg.appendChild(picture);
    svg.appendChild(rect);
    img.insertAdjacentElement("afterend", svg);
    svg.addEventListener("pointerdown", down);
    svg.addEventListener("pointermove", move);
    svg.addEventListener("pointerup", up);
    svg.addEventListener("pointercancel", up);
    svg.addEventListener("keydown", key);
    svg.dataset.key = JSON.stringify([channel(), g.lv.resolution]);
  }
  function loadPicture() {
    var g = geometry();
    if (!g || value("z0") === null || value("z1") === null) return;
    var url = pictureUrl(g);
    if (img.dataset.wanted === url) return;
    img.dataset.wanted = url;
    img.src = url;
  }
  img.addEventListener("load", function () {
    var g = geometry();
    if (!g) return;
    var ok = img.naturalWidth === g.p.x[1] - g.p.x[0];
    if (ok && img.src.indexOf("outline=0") > 0) {
      if (!svg || svg.dataset.key !== JSON.stringify([channel(), g.lv.resolution])) build(g);
      picture.setAttribute("href", img.src);
      img.hidden = true;
      svg.hidden = false;
      showBox();
    } else if (!ok) {  // an error picture ("Log in to see a preview..."): show it as it is
      img.hidden = false;
      if (svg) svg.hidden = true;
    }
  });

  // --- The box over it ------------------------------------------------------------------------------------
  function showBox() {
    var g = geometry();
    if (!rect || !g) return;
    var x0 = value("x0"), x1 = value("x1"), y0 = value("y0"), y1 = value("y1");
    if ([x0, x1, y0, y1].indexOf(null) >= 0 || x0 >= x1 || y0 >= y1) { rect.setAttribute("hidden", ""); return; }
    rect.removeAttribute("hidden");
    rect.setAttribute("x", x0 * g.rx); rect.setAttribute("y", y0 * g.ry);
    rect.setAttribute("width", (x1 - x0) * g.rx); rect.setAttribute("height", (y1 - y0) * g.ry);
  }
  function clamp(v, lo, hi) { return Math.min(Math.max(v, lo), hi); }
  // Write a box given in the preview's voxels into the form, in the chosen level's voxels, inside the frame.
  function writeBox(px0, px1, py0, py1) {
    var g = geometry(), s = g.lv.start, e = g.lv.stop;
    var x0 = clamp(Math.floor(Math.min(px0, px1) / g.rx), s[0], e[0] - 1);
    var x1 = clamp(Math.ceil(Math.max(px0, px1) / g.rx), x0 + 1, e[0]);
    var y0 = clamp(Math.floor(Math.min(py0, py1) / g.ry), s[1], e[1] - 1);
    var y1 = clamp(Math.ceil(Math.max(py0, py1) / g.ry), y0 + 1, e[1]);
    setValue("x0", x0); setValue("x1", x1); setValue("y0", y0); setValue("y1", y1);
    showBox();
  }
  function point(ev) {
    var pt = svg.createSVGPoint();
    pt.x = ev.clientX; pt.y = ev.clientY;
    return pt.matrixTransform(svg.getScreenCTM().inverse());
  }
  function down(ev) {
    if (ev.button !== 0) return;
    var pt = point(ev), g = geometry();
    var x0 = value("x0") * g.rx, x1 = value("x1") * g.rx, y0 = value("y0") * g.ry, y1 = value("y1") * g.ry;
    var inside = pt.x > x0 && pt.x < x1 && pt.y > y0 && pt.y < y1;
    drag = inside ? { move: true, dx: pt.x - x0, dy: pt.y - y0, w: x1 - x0, h: y1 - y0 } : { move: false, x: pt.x, y: pt.y };
    svg.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  }
  function move(ev) {
    if (!drag) return;
    var pt = point(ev), g = geometry();
    if (drag.move) {
      var x0 = clamp(pt.x - drag.dx, g.p.x[0], g.p.x[1] - drag.w), y0 = clamp(pt.y - drag.dy, g.p.y[0], g.p.y[1] - drag.h);
      writeBox(x0, x0 + drag.w, y0, y0 + drag.h);
    } else if (Math.abs(pt.x - drag.x) + Math.abs(pt.y - drag.y) > 1) {
      writeBox(drag.x, clamp(pt.x, g.p.x[0], g.p.x[1]), drag.y, clamp(pt.y, g.p.y[0], g.p.y[1]));
    }
  }
  function up(ev) {
    if (!drag) return;
    move(ev);
    drag = null;
    form.dispatchEvent(new Event("change"));
  }
  function key(ev) {
    var d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[ev.key];
    if (!d) return;
    ev.preventDefault();
    var g = geometry(), s = g.lv.start, e = g.lv.stop;
    var step = function (r) { return Math.max(1, Math.round((ev.altKey ? 1 : 8) / r)); };  // preview pixels
    var dx = d[0] * step(g.rx), dy = d[1] * step(g.ry);
    var x0 = value("x0"), x1 = value("x1"), y0 = value("y0"), y1 = value("y1");
    if ([x0, x1, y0, y1].indexOf(null) >= 0 || x0 >= x1 || y0 >= y1) return;  // no box to move: the numbers stay
    if (ev.shiftKey) {  // resize: move the stop edges
      setValue("x1", clamp(x1 + dx, x0 + 1, e[0])); setValue("y1", clamp(y1 + dy, y0 + 1, e[1]));
    } else {
      dx = clamp(dx, s[0] - x0, e[0] - x1); dy = clamp(dy, s[1] - y0, e[1] - y1);
      setValue("x0", x0 + dx); setValue("x1", x1 + dx); setValue("y0", y0 + dy); setValue("y1", y1 + dy);
    }
    showBox();
  }

  // --- z: two sliders -------------------------------------------------------------------------------------
  function slider(id, text) {
    var wrap = document.createElement("p"), label = document.createElement("label"), input = document.createElement("input");
    wrap.className = "form-row z-slider";
    label.setAttribute("for", id);
    label.textContent = text;
    input.type = "range"; input.id = id; input.step = "1";
    wrap.appendChild(label); wrap.appendChild(input);
    return { wrap: wrap, input: input };
  }
  function syncSliders() {
    var g = geometry();
    if (!g || !zStart) return;
    [zStart, zStop].forEach(function (s) { s.input.min = g.lv.start[2]; s.input.max = g.lv.stop[2]; });
    if (value("z0") !== null) zStart.input.value = value("z0");
    if (value("z1") !== null) zStop.input.value = value("z1");
    zStart.input.setAttribute("aria-valuetext", "z start " + zStart.input.value);
    zStop.input.setAttribute("aria-valuetext", "z stop " + zStop.input.value);
  }
  function slid(which) {
    var a = parseInt(zStart.input.value, 10), b = parseInt(zStop.input.value, 10);
    if (a >= b) { if (which === "start") b = a + 1; else a = b - 1; }
    var g = geometry();
    a = clamp(a, g.lv.start[2], g.lv.stop[2] - 1); b = clamp(b, a + 1, g.lv.stop[2]);
    setValue("z0", a); setValue("z1", b);
    syncSliders();
  }
  function addSliders() {
    var help = document.createElement("p");
    help.className = "muted";
    help.id = "preview-keys";
    help.textContent = "Drag on the picture to draw the box, or inside it to move it. With the picture focused: " +
      "arrow keys move the box, Shift+arrow keys resize it, Alt for small steps. The sliders set z.";
    zStart = slider("z-start-slider", "z start");
    zStop = slider("z-stop-slider", "z stop");
    section.appendChild(help);
    section.appendChild(zStart.wrap);
    section.appendChild(zStop.wrap);
    zStart.input.addEventListener("input", function () { slid("start"); });
    zStop.input.addEventListener("input", function () { slid("stop"); });
  }

  function later() {
    showBox();
    syncSliders();
    clearTimeout(timer);
    timer = setTimeout(loadPicture, 400);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  addSliders();
  syncSliders();
  loadPicture();
})();
