// The portal's one size formatter for scripts (the same rule as portal/units.py `human_bytes`):
// decimal units (1 GB = 10^9 bytes), three significant figures, the unit named.
// window.portalUnits.bytes(67108864) === "67.1 MB"; bytes(1e9) === "1.00 GB"; bytes(512) === "512 B".
(function () {
  "use strict";
  var UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

  function threeFigures(value) {
    return value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0);
  }

  function bytes(n) {
    if (n === null || n === undefined || n === "" || !isFinite(Number(n))) return "";
    n = Number(n);
    var sign = n < 0 ? "-" : "", value = Math.abs(n), i = 0;
    while (value >= 1000 && i < UNITS.length - 1) { value /= 1000; i++; }
    if (i === 0) return sign + Math.round(value) + " B";
    var text = threeFigures(value);
    if (parseFloat(text) >= 1000 && i < UNITS.length - 1) { text = threeFigures(value / 1000); i++; }
    return sign + text + " " + UNITS[i];
  }

  window.portalUnits = { bytes: bytes };
})();
