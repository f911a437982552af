"""The portal's one size formatter: decimal units (1 GB = 10^9 bytes, as BOSS states its 500 MB cap), three
significant figures, the unit named. Every page, API message and limit says sizes through `human_bytes`, so a
box and the cap it is compared with are always written alike ("1.07 GB, over the 1.00 GB cap").

static/portal/units.js (`window.portalUnits.bytes`) is the same rule for the pages' scripts; keep them alike.
This module imports nothing, so any layer may use it.
"""
UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")
STEP = 1000


def human_bytes(n):
    """'67.1 MB' for 67,108,864; '1.00 GB' for 10**9; '512 B'; '' for None or anything not a number."""
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        try:
            n = float(n)
        except (TypeError, ValueError):
            return ""
    if n != n or n in (float("inf"), float("-inf")):
        return ""
    sign, value, i = "-" if n < 0 else "", abs(n), 0
    while value >= STEP and i < len(UNITS) - 1:
        value /= STEP
        i += 1
    if i == 0:
        return f"{sign}{round(value)} B"
    text = _three_figures(value)
    if float(text) >= STEP and i < len(UNITS) - 1:  # 999.96 kB rounds to 1000 kB: say 1.00 MB instead
        text, i = _three_figures(value / STEP), i + 1
    return f"{sign}{text} {UNITS[i]}"


def _three_figures(value):
    """1.00, 67.1, 954: three significant figures for a value in [1, 1000)."""
    decimals = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{decimals}f}"
