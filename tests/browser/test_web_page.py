"""The web page at ``/`` in headless Chromium, against the real stack (Flask over HTTP, Redis, a worker).

``OCRQ_SCREENSHOT=docs/screenshot.png`` (``make screenshot``) also saves the finished job's picture.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import requests
from playwright.sync_api import expect

from tests.support.documents import text_pdf
from tests.support.pdftext import pdfium_pages
from tests.support.render import encode, font, render_lines

LINES = ["增值税专用发票", "发票代码 044031900111", "购买方：深圳市星河科技有限公司",
         "Item: OCR service, 12 months", "合计 Total ¥128.50", "开票日期 2026年01月29日"]
NOTE = "备注 Note: 请于月底前付款"  # printed faint and blurred, as on a real receipt
ROOT = Path(__file__).resolve().parents[2]
JOB_DONE = ".job[data-status=succeeded], .job[data-status=failed]"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def invoice_png() -> bytes:
    from PIL import ImageDraw, ImageFilter

    page = render_lines([*LINES, " "], size=30, spacing=0.8)
    y = 40 + 54 * len(LINES)
    ImageDraw.Draw(page).text((40, y), NOTE, fill=(150, 150, 150), font=font(24))
    band = (30, y - 6, page.width - 10, y + 40)
    page.paste(page.crop(band).filter(ImageFilter.GaussianBlur(1.6)), band[:2])
    return encode(page)


def png_file(name: str, text: str) -> dict:
    """A file for ``set_input_files``: one line of ``text`` rendered as a PNG."""
    return {"name": name, "mimeType": "image/png", "buffer": encode(render_lines([text], size=32))}


def test_page_and_its_assets_are_served(live_server):
    page = requests.get(f"{live_server}/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in re.findall(r'(?:src|href)="(/web/static/[^"]+)"', page.text):
        assert requests.get(f"{live_server}{asset}", timeout=10).status_code == 200, asset
    assert "http" not in page.text.replace("http://www.w3.org/2000/svg", "")  # nothing external
    for module in ("app.js", "client.js", "i18n.js", "result.js"):
        response = requests.get(f"{live_server}/web/static/{module}", timeout=10)
        assert response.status_code == 200 and "javascript" in response.headers["Content-Type"]
        assert "http" not in response.text.replace("http://www.w3.org/2000/svg", "")


def test_every_file_of_the_page_ships_in_the_package():
    """pyproject's package-data must match each file, or a non-editable install serves 404s."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = data["ocrq.api.web"]
    web = ROOT / "api" / "web"
    files = [path for path in (web / "static").rglob("*") if path.is_file()]
    assert {path.name for path in files} >= {"index.html", "app.js", "style.css"}
    for path in files:
        assert any(fnmatch(str(path.relative_to(web)), pattern) for pattern in patterns), path


def test_recognise_two_images_and_link_lines_to_boxes(page, live_server, tmp_path):
    invoice = tmp_path / "invoice.png"
    invoice.write_bytes(invoice_png())
    hello = tmp_path / "hello.png"
    hello.write_bytes(encode(render_lines(["Hello 你好"], size=32)))

    page.goto("/")
    assert page.locator("#recognise").is_disabled()
    page.set_input_files("#file-input", [str(invoice), str(hello)])
    assert page.locator("#staged li").count() == 2
    assert page.locator("#recognise").inner_text() == "Recognise 2 images"
    page.check("input[name=enhance][value=seed]")  # the reference design's mode: it flags the faint line
    page.click("#recognise")

    jobs = page.locator(".job")
    assert jobs.count() == 2
    expect(page.locator(".job[data-status=succeeded]")).to_have_count(2, timeout=90_000)
    assert re.fullmatch(r"\d+\.\d s", jobs.first.locator(".job-elapsed").inner_text())
    assert page.locator("#result-name").inner_text() == "invoice.png"  # the first job stays selected

    # The list shows what the API says, and the API found the text that was drawn.
    texts = page.locator("#lines .line-text").all_inner_texts()
    for expected in LINES:
        assert squash(expected) in map(squash, texts), (expected, texts)
    assert squash(page.input_value("#full-text")) == squash("".join(texts))

    # One box per line, on the picture and scaled to it.
    boxes = page.locator("#figure polygon.box")
    assert boxes.count() == len(texts) >= len(LINES)
    image = page.locator("#figure img.preview").bounding_box()
    overlay = page.locator("#figure svg.overlay").bounding_box()
    assert image and overlay and image["width"] > 300
    for key in ("x", "y", "width", "height"):
        assert abs(image[key] - overlay[key]) < 1.5, (key, image, overlay)
    with page.expect_download() as download_info:
        page.click("#download")
    doc = json.loads(download_info.value.path().read_text(encoding="utf-8"))
    assert doc["status"] == "succeeded" and [line["text"] for line in doc["result"]["lines"]] == texts
    assert doc["options"]["enhance"] == "seed"
    scale = image["width"] / doc["result"]["width"]
    for k in (0, len(texts) - 1):  # each box lands where the API says, in displayed pixels
        drawn = boxes.nth(k).evaluate("el => el.getBoundingClientRect().toJSON()")  # geometry, no stroke
        xs, ys = zip(*doc["result"]["lines"][k]["box"], strict=True)
        assert abs(drawn["left"] - (image["x"] + min(xs) * scale)) < 1
        assert abs(drawn["top"] - (image["y"] + min(ys) * scale)) < 1
        assert abs(drawn["width"] - (max(xs) - min(xs)) * scale) < 1

    # Hover links list and boxes both ways; a click pins a line.
    page.hover("#lines .line >> nth=1")
    assert "is-hover" in (boxes.nth(1).get_attribute("class") or "")
    # over a line's box the pointer meets one of its words (drawn on top), which links to its line too
    page.hover("#figure polygon.box >> nth=2", force=True)
    assert "is-hover" in (page.locator("#lines .line").nth(2).get_attribute("class") or "")
    assert "is-hover" not in (boxes.nth(1).get_attribute("class") or "")
    page.click("#lines .line >> nth=0")
    assert "is-selected" in (boxes.first.get_attribute("class") or "")

    page.click("#copy")
    expect(page.locator("#toast")).to_have_text("Copied to the clipboard")  # after the clipboard promise
    assert squash(page.evaluate("navigator.clipboard.readText()")) == squash("".join(texts))

    jobs.nth(1).click()
    assert page.locator("#result-name").inner_text() == "hello.png"
    assert squash(page.locator("#lines .line-text").first.inner_text()) == "Hello你好"

    if os.environ.get("OCRQ_SCREENSHOT"):  # the README's picture: the same invoice in the default mode
        page.check("input[name=enhance][value=auto]")
        page.set_input_files("#file-input", [str(invoice)])
        page.click("#recognise")
        expect(page.locator(".job[data-status=succeeded]")).to_have_count(3, timeout=90_000)
        assert squash(NOTE) in map(squash, page.locator("#lines .line-text").all_inner_texts())
        page.set_viewport_size({"width": 1280, "height": 900})
        page.hover("#lines .line >> nth=4")
        expect(page.locator("#toast")).not_to_have_class(re.compile("is-shown"), timeout=5_000)
        page.wait_for_timeout(300)  # the toast's fade
        page.screenshot(path=os.environ["OCRQ_SCREENSHOT"])


def test_job_states_elapsed_time_and_cancel(page):
    """Two slow jobs (the test-only ``fault=sleep:3`` option) on one worker: one runs, one waits."""
    def slow(route):
        if route.request.method != "POST":
            return route.continue_()
        return route.continue_(url=f"{route.request.url}?fault=sleep:3")

    page.route("**/v1/jobs", slow)
    page.goto("/")
    page.set_input_files("#file-input", files=[png_file(f"{name}.png", name) for name in ("first", "second")])
    page.click("#recognise")
    first, second = page.locator(".job").nth(0), page.locator(".job").nth(1)
    expect(first).to_have_attribute("data-status", "running", timeout=10_000)
    expect(second).to_have_attribute("data-status", "queued")
    assert first.locator(".badge").inner_text() == "running"
    ticking = first.locator(".job-elapsed").inner_text()
    page.wait_for_timeout(300)
    assert first.locator(".job-elapsed").inner_text() != ticking  # the clock runs while the job does

    with page.expect_response(lambda response: response.request.method == "DELETE") as deleted:
        second.locator(".job-cancel").click()
    assert deleted.value.json()["status"] == "canceled"
    expect(second).to_have_attribute("data-status", "canceled")
    expect(first).to_have_attribute("data-status", "succeeded", timeout=30_000)
    stopped = second.locator(".job-elapsed").inner_text()
    page.wait_for_timeout(300)
    assert second.locator(".job-elapsed").inner_text() == stopped


def loaded_picture(page, source_end: str) -> dict:
    """The figure's picture once it has loaded: where it came from and its natural size."""
    page.wait_for_function(
        """(end) => { const img = document.querySelector('#figure img.preview');
                      return img && img.dataset.source.endsWith(end) && img.complete
                             && img.naturalWidth > 0; }""",
        arg=source_end, timeout=30_000)
    return page.evaluate("""() => { const img = document.querySelector('#figure img.preview');
        return {source: img.dataset.source, src: img.src,
                width: img.naturalWidth, height: img.naturalHeight}; }""")


def test_a_pdf_is_shown_page_by_page(page):
    """A 2-page PDF is one job; its result is shown a page at a time, boxes drawn on the page's own image
    (rendered by the API: /v1/jobs/<id>/pages/<n>.png), and its outputs download."""
    pdf = text_pdf(["第一页 First page", "第二页 Second page"])
    page.goto("/")
    document = {"name": "two.pdf", "mimeType": "application/pdf", "buffer": pdf}
    page.set_input_files("#file-input", files=[document])
    page.click("#recognise")
    expect(page.locator(".job[data-status=succeeded]")).to_have_count(1, timeout=90_000)
    assert page.locator(".job-detail").inner_text() == "2 lines"  # both pages' lines

    nav = page.locator("#page-nav")
    expect(nav).to_be_visible()
    assert nav.locator(".page-label").inner_text() == "Page 1 of 2"
    assert nav.locator(".page-prev").is_disabled()
    assert [squash(t) for t in page.locator("#lines .line-text").all_inner_texts()] == ["第一页Firstpage"]
    first = loaded_picture(page, "/pages/1.png")
    assert re.fullmatch(r"/v1/jobs/[0-9a-f-]{36}/pages/1\.png", first["source"])
    assert first["src"].startswith("blob:") and first["width"] > 0 and first["height"] > 0
    assert page.locator("#figure .stage.no-preview").count() == 0
    assert page.locator("#figure .stage polygon.box").count() == 1  # the box, over the page image
    box = page.locator("#figure polygon.box").bounding_box()
    picture = page.locator("#figure img.preview").bounding_box()
    assert box and picture
    assert picture["x"] <= box["x"] and box["x"] + box["width"] <= picture["x"] + picture["width"]
    assert squash(page.input_value("#full-text")) == "第一页Firstpage第二页Secondpage"

    with page.expect_download() as download:
        page.click("[data-output=pdf]")
    searchable = Path(download.value.path()).read_bytes()
    assert [squash(t) for t in pdfium_pages(searchable)] == ["第一页Firstpage", "第二页Secondpage"]
    with page.expect_download() as download:
        page.click("[data-output=xml]")
    assert b"<alto" in Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename == "two.xml"

    nav.locator(".page-next").click()
    assert nav.locator(".page-label").inner_text() == "Page 2 of 2"
    assert nav.locator(".page-next").is_disabled()
    assert [squash(t) for t in page.locator("#lines .line-text").all_inner_texts()] == ["第二页Secondpage"]
    assert loaded_picture(page, "/pages/2.png")["width"] == first["width"]
    # the second page's own size and line count (every page of this PDF has the same size)
    assert re.match(r"\d+ × \d+ px · 1 line · ", page.locator("#result-meta").inner_text())


def test_a_text_file_gets_a_readable_error(page, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image\n")
    page.goto("/")
    page.set_input_files("#file-input", str(notes))
    page.click("#recognise")
    page.wait_for_selector(JOB_DONE)
    assert page.locator(".job").get_attribute("data-status") == "failed"
    error = page.locator("#result-error")
    assert error.is_visible()
    assert "not an image the service can read" in error.inner_text()
    assert "not an image" in page.locator(".job-detail").inner_text()

    page.click("#lang-button")  # the same error in Chinese, and the page with it
    assert "不是可识别的图片格式" in error.inner_text()
    assert page.locator("#recognise").inner_text() == "开始识别"
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    page.reload()  # the choice is remembered
    assert page.locator("#recognise").inner_text() == "开始识别"


def test_dropped_and_pasted_images_are_staged(page):
    page.goto("/")
    png = list(encode(render_lines(["x"])))
    page.evaluate("""png => {
        const files = (name) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(png)], name, { type: "image/png" }));
            return transfer;
        };
        window.dispatchEvent(new DragEvent("drop", { dataTransfer: files("dropped.png") }));
        window.dispatchEvent(new ClipboardEvent("paste", { clipboardData: files("image.png") }));
    }""", png)
    names = page.locator("#staged .staged-name").all_inner_texts()
    assert names[0] == "dropped.png" and re.fullmatch(r"pasted-\d{6}\.png", names[1]), names
    assert page.locator("#recognise").inner_text() == "Recognise 2 images"
    page.click("#staged li >> nth=0 >> button")
    assert page.locator("#staged li").count() == 1


def show_answered(page, doc: dict) -> None:
    """Submit an image on the page with the job API answered by the test with ``doc`` (no OCR)."""
    page.route("**/v1/jobs", lambda route: route.fulfill(status=202, json={
        "job_id": doc["job_id"], "status": "queued", "links": {"self": f"/v1/jobs/{doc['job_id']}"}}))
    page.route("**/v1/jobs/*", lambda route: route.fulfill(json=doc))
    page.goto("/")
    page.set_input_files("#file-input", files=[png_file("x.png", "x")])
    page.click("#recognise")
    page.wait_for_selector(".job[data-status=succeeded]")


def test_low_confidence_lines_are_marked(page):
    """The page's drawing of a given result (the job API answered by the test, no OCR)."""
    lines = [{"text": "sure", "confidence": 0.99, "box": [[10, 10], [90, 10], [90, 30], [10, 30]]},
             {"text": "unsure", "confidence": 0.42, "box": [[10, 50], [120, 50], [120, 80], [10, 80]]}]
    doc = {"job_id": "00000000-0000-4000-8000-000000000001", "status": "succeeded", "error": None,
           "result": {"width": 200, "height": 100, "text": "sure\nunsure", "enhance": "off",
                      "timings_ms": {"total": 12.0}, "lines": lines}}
    show_answered(page, doc)
    assert page.locator("#lines .line.is-low").all_inner_texts() == ["2\nunsure\n42.0%"]
    assert page.locator("#figure polygon.box.is-low").count() == 1
    assert "below 80% confidence" in page.locator(".legend").inner_text()


def test_words_have_boxes_that_show_their_text_on_hover(page):
    """A result with words (issue 15's shape, answered by the test): a box per word over its line, and
    the hovered word's text and confidence under the picture."""
    words = [{"text": "你", "confidence": 0.97, "box": [[10, 10], [40, 10], [40, 40], [10, 40]]},
             {"text": "hello", "confidence": 0.61, "box": [[50, 10], [150, 10], [150, 40], [50, 40]]}]
    line = {"text": "你 hello", "confidence": 0.9, "box": [[10, 10], [150, 10], [150, 40], [10, 40]],
            "words": words}
    doc = {"job_id": "00000000-0000-4000-8000-000000000002", "status": "succeeded", "error": None,
           "result": {"width": 200, "height": 100, "text": "你 hello", "enhance": "off",
                      "timings_ms": {"total": 5.0}, "lines": [line]}}
    show_answered(page, doc)
    assert page.locator("#figure polygon.word").count() == 2
    assert page.locator("#figure polygon.word.is-low").count() == 1
    page.locator("#figure polygon.word").nth(1).hover()
    expect(page.locator("#figure .hover-caption")).to_have_text("hello · 61.0%")
    expect(page.locator("#lines .line").first).to_have_class(re.compile(r"is-hover"))  # its line too
    page.locator("#figure polygon.word").nth(0).hover()
    expect(page.locator("#figure .hover-caption")).to_have_text("你 · 97.0%")


def test_the_page_asks_for_an_api_key_on_401_and_retries_with_it(page):
    """The page against the documented 401 contract (issue 5), answered by the test in front of the app."""
    seen: list[str | None] = []

    def guard(route):
        auth = route.request.headers.get("authorization")
        seen.append(auth)
        if auth != "Bearer s3cret":
            return route.fulfill(status=401, json={"error": {"code": "unauthorized", "message": "no key"}})
        return route.continue_()

    page.route(re.compile(r".*/v1/jobs.*"), guard)
    page.goto("/")
    page.set_input_files("#file-input", files=[png_file("key.png", "KEY 密钥")])
    page.click("#recognise")
    dialog = page.locator("#key-dialog")
    dialog.wait_for(state="visible")
    page.fill("#key-input", "wrong")
    page.click("#key-save")
    page.wait_for_selector("#key-error", state="visible")  # asked again, saying the key was refused
    page.fill("#key-input", "s3cret")
    page.press("#key-input", "Enter")
    page.wait_for_selector(JOB_DONE, timeout=60_000)
    assert page.locator(".job").get_attribute("data-status") == "succeeded"
    assert seen[:3] == [None, "Bearer wrong", "Bearer s3cret"]
    assert all(auth == "Bearer s3cret" for auth in seen[2:])
    assert page.evaluate("localStorage.getItem('ocrq.apiKey')") == "s3cret"
    assert page.locator("#key-button").is_visible()
    page.click("#key-button")  # forget it
    assert page.evaluate("localStorage.getItem('ocrq.apiKey')") is None


def test_with_real_api_keys_the_page_asks_and_succeeds(browser, settings, worker, serve, monkeypatch):
    """OCRQ_API_KEYS on a real app (api/auth.py): the page asks once, then every request carries the key."""
    from ocrq.api import create_app
    from ocrq.config import Settings

    monkeypatch.setenv("OCRQ_API_KEYS", "k-browser-test")  # the variable issue 5 documents
    keyed = Settings(redis_url=settings.redis_url, ort_threads=1, long_poll_max=30.0)
    with serve(create_app(keyed)) as base:
        probe = requests.get(f"{base}/v1/jobs/00000000-0000-4000-8000-000000000000", timeout=10)
        assert probe.status_code == 401  # the server enforces the key before the page is tried
        context = browser.new_context(locale="en-US", base_url=base)
        try:
            page = context.new_page()
            page.goto("/")
            page.set_input_files("#file-input", files=[png_file("k.png", "API 密钥")])
            page.click("#recognise")
            page.fill("#key-input", "k-browser-test")
            page.click("#key-save")
            page.wait_for_selector(JOB_DONE, timeout=60_000)
            assert page.locator(".job").get_attribute("data-status") == "succeeded"
            assert page.locator("#lines .line").count() == 1
            assert page.evaluate("localStorage.getItem('ocrq.apiKey')") == "k-browser-test"
            # a TIFF the browser cannot show: its page comes from the API, fetched with the key
            tiff = {"name": "k.tif", "mimeType": "image/tiff",
                    "buffer": encode(render_lines(["TIFF 页"], size=32), "TIFF")}
            page.set_input_files("#file-input", files=[tiff])
            page.click("#recognise")
            expect(page.locator(".job[data-status=succeeded]")).to_have_count(2, timeout=60_000)
            page.locator(".job", has_text="k.tif").click()
            assert loaded_picture(page, "/pages/1.png")["width"] > 0
        finally:
            context.close()
