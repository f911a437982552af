"""The accessibility check every browser test can run on a page: axe-core (bundled by axe-playwright-python)
finds no serious or critical violation, and the page does not scroll sideways, at 1280 px and at 375 px.

    from tests.a11y.axe import assert_page_ok
    assert_page_ok(page)                  # both widths; the viewport is left at the last one
    assert_page_ok(page, widths=(375,))

axe is injected with page.evaluate (the DevTools protocol), which the portal's Content Security Policy does not
govern, so the pages are checked with their real CSP: a style or script the CSP refuses stays refused here too.
"""
from axe_playwright_python.sync_playwright import Axe

WIDTHS = (1280, 375)
HEIGHT = 900
BLOCKING = ("serious", "critical")
_AXE = Axe()


def problems(page, widths=WIDTHS):
    """Human-readable problems of the page now loaded in `page`, at each width: [] when it is fine."""
    found = []
    for width in widths:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        page.wait_for_timeout(150)  # let resize handlers (scroll.js) settle
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            found.append(f"{width} px: the page scrolls sideways by {overflow} px ({widest(page)})")
        for violation in blocking_violations(page):
            targets = "; ".join(", ".join(node["target"]) if isinstance(node["target"][0], str) else str(node["target"])
                                for node in violation["nodes"][:4])
            found.append(f"{width} px: axe {violation['impact']} {violation['id']}: {violation['help']} "
                         f"({len(violation['nodes'])}x: {targets})")
    return found


def blocking_violations(page):
    results = _AXE.run(page, options={"resultTypes": ["violations"]})
    return [v for v in results.response["violations"] if v.get("impact") in BLOCKING]


def widest(page):
    """The element that sticks out furthest past the right edge, to say what makes the page scroll."""
    return page.evaluate("""() => {
        let worst = null, right = window.innerWidth;
        const clipped = (el) => {  // inside a box that scrolls or clips sideways: not what makes the page scroll
            for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
                if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) return true;
            }
            return false;
        };
        for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect();
            if (r.right > right + 0.5 && !clipped(el)) { right = r.right; worst = el; }
        }
        if (!worst) return 'nothing found';
        const cls = worst.className && typeof worst.className === 'string' ? '.' + worst.className.trim().split(/\\s+/).join('.') : '';
        return `${worst.tagName.toLowerCase()}${worst.id ? '#' + worst.id : ''}${cls} to ${Math.round(right)} px`;
    }""")


def assert_page_ok(page, widths=WIDTHS):
    """Fail with every problem found on the page (see problems)."""
    found = problems(page, widths)
    assert not found, f"{page.url}:\n  " + "\n  ".join(found)
