"""``/docs`` in headless Chromium with every other host cut off: Swagger UI renders the whole API from
``/openapi.json`` under its Content-Security-Policy, and "Try it out" reaches the real stack."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect


def test_docs_render_offline_and_try_it_out_works(page, live_server):
    elsewhere: list[str] = []
    console: list[str] = []
    own = urlsplit(live_server).netloc

    def only_this_server(route):
        if urlsplit(route.request.url).netloc in (own, "") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.on("console", lambda message: console.append(message.text))
    page.goto("/docs")
    expect(page.locator(".information-container .title")).to_contain_text("ocrq")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    summaries = ["".join(text.split()) for text in operations.locator(".opblock-summary").all_inner_texts()]
    for wanted in ("POST/v1/jobs", "GET/v1/jobs/{job_id}", "DELETE/v1/jobs/{job_id}", "POST/ocr/predict",
                   "GET/healthz", "GET/metrics"):
        assert any(wanted in s for s in summaries), (wanted, summaries)
    assert page.locator("button.authorize").is_visible()  # the API key's security schemes

    health = page.locator(".opblock-get", has_text="/healthz")
    health.locator(".opblock-summary").click()
    health.get_by_role("button", name="Execute").click()
    answer = health.locator(".live-responses-table tbody .response").first
    expect(answer.locator(".response-col_status")).to_contain_text("200")
    expect(answer).to_contain_text('"status": "ok"')

    assert not elsewhere, elsewhere
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
