"""In chromium: Swagger UI draws the API's operations under the site's Content Security Policy."""
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_page_draws_every_operation_without_breaking_the_csp(live_server, page):  # noqa: F811
    problems = []  # a refused script or style is a console error; a missing file is a 4xx answer
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    failed = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    page.goto(live_server.url + "/api/docs/")
    page.wait_for_selector(".opblock-summary-path")
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {"/api/cutouts/", "/api/cutouts/{job_id}/retry", "/api/collections/", "/api/me/"} <= {
        p.replace("\u200b", "") for p in paths}
    assert [url for url in failed if not url.endswith("/favicon.ico")] == []  # the site has no favicon
    assert [text for text in problems if not text.startswith("Failed to load resource")] == []
