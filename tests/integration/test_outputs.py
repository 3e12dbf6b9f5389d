"""A job's result in every output format, and its pages as images, against the real stack (Redis, a
worker and its model): text, hOCR and ALTO that parse, a searchable PDF whose text two readers extract
as the job's, a PDF upload's pages kept untouched, and the 4xx answers of each way it can be refused."""

from __future__ import annotations

import io

import pikepdf
import pytest
from lxml import etree, html
from PIL import Image

from ocrq.api import create_app
from tests.support.alto import alto_schema
from tests.support.documents import pdf_bytes
from tests.support.layout import page_with_words
from tests.support.pdftext import inside, normalised, pdfium_pages, poppler_pages, search_box
from tests.support.render import render_png
from tests.support.stack import wait_for

LINES = ["Invoice number 2026", "中文识别测试", "Searchable output"]
ALTO = "{http://www.loc.gov/standards/alto/ns-v4#}"


def post(client, data: bytes, name: str, **fields):
    return client.post("/v1/jobs", data={"image": (io.BytesIO(data), name), **fields},
                       content_type="multipart/form-data")


def finished(client, job_id: str) -> dict:
    doc = wait_for(lambda: (d := client.get(f"/v1/jobs/{job_id}?wait=5").get_json())["status"]
                   in ("succeeded", "failed", "canceled") and d, timeout=120)
    assert doc["status"] == "succeeded", doc
    return doc


@pytest.fixture(scope="module")
def image_job(app, worker):
    client = app.test_client()
    job_id = post(client, render_png(LINES, size=36), "page.png").get_json()["job_id"]
    return job_id, finished(client, job_id)["result"]


@pytest.fixture(scope="module")
def pdf_job(app, worker):
    client = app.test_client()
    pages = [page_with_words([[f"Page{n}", "of", "three"], list("第页文字")], width=600)[0]
             for n in (1, 2, 3)]
    upload = pdf_bytes(pages)
    job_id = post(client, upload, "three.pdf").get_json()["job_id"]
    return job_id, finished(client, job_id)["result"], upload


def test_plain_text_is_the_jobs_text(client, image_job):
    job_id, result = image_job
    response = client.get(f"/v1/jobs/{job_id}/result.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == result["text"] + "\n"
    assert normalised(result["text"]) == normalised("\n".join(LINES))  # the model read the page


def test_hocr_parses_into_pages_areas_paragraphs_lines_and_words_with_boxes(client, image_job):
    job_id, result = image_job
    response = client.get(f"/v1/jobs/{job_id}/result.hocr")
    assert response.status_code == 200 and response.mimetype == "text/vnd.hocr+html"
    tree = html.fromstring(response.data)
    for cls in ("ocr_page", "ocr_carea", "ocr_par", "ocr_line", "ocrx_word"):
        found = tree.find_class(cls)
        assert found, cls
        assert all(e.get("title", "").startswith("bbox ") for e in found), cls
    lines = tree.find_class("ocr_line")
    assert [normalised(line.text_content()) for line in lines] == [normalised(t) for t in LINES]
    x0, y0, x1, y1 = map(int, tree.find_class("ocr_page")[0].get("title").split(";")[0].split()[1:])
    assert (x0, y0, x1, y1) == (0, 0, result["width"], result["height"])


def test_alto_is_valid_v4_with_a_string_per_word(client, image_job):
    job_id, result = image_job
    response = client.get(f"/v1/jobs/{job_id}/result.xml")
    assert response.status_code == 200 and response.mimetype == "application/alto+xml"
    root = etree.fromstring(response.data)
    assert alto_schema().validate(root), alto_schema().error_log  # the published v4.4 schema
    lines = root.iter(f"{ALTO}TextLine")
    words = [" ".join(s.get("CONTENT") for s in line.iter(f"{ALTO}String")) for line in lines]
    assert [normalised(w) for w in words] == [normalised(line["text"]) for line in result["lines"]]


def test_the_searchable_pdf_gives_the_jobs_text_to_both_readers(client, image_job):
    job_id, result = image_job
    response = client.get(f"/v1/jobs/{job_id}/result.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert [normalised(t) for t in pdfium_pages(response.data)] == [normalised(result["text"])]
    assert [normalised(t) for t in poppler_pages(response.data)] == [normalised(result["text"])]
    for line in result["lines"]:  # each line's (or, with words, each word's) text where the model saw it
        needle = (line.get("words") or [line])[0]
        xs, ys = [p[0] for p in needle["box"]], [p[1] for p in needle["box"]]
        hit = search_box(response.data, 0, needle["text"], (result["width"], result["height"]))
        assert inside(hit, (min(xs), min(ys), max(xs), max(ys)), slack=2), (needle["text"], hit)


def test_accept_picks_the_format_and_refuses_what_is_not_offered(client, image_job):
    job_id, result = image_job
    url = f"/v1/jobs/{job_id}/result"
    assert client.get(url).get_json() == result  # no Accept: the JSON result
    pdf = client.get(url, headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    text = client.get(url, headers={"Accept": "text/plain;q=0.9, application/json;q=0.1"})
    assert text.mimetype == "text/plain" and text.headers["Vary"] == "Accept"
    refused = client.get(url, headers={"Accept": "image/gif"})
    assert refused.status_code == 406 and refused.get_json()["error"]["code"] == "not_acceptable"


def test_a_pdf_uploads_three_pages_come_back_untouched_with_their_text(client, pdf_job):
    job_id, result, upload = pdf_job
    response = client.get(f"/v1/jobs/{job_id}/result.pdf")
    assert response.status_code == 200
    before, after = pikepdf.open(io.BytesIO(upload)), pikepdf.open(io.BytesIO(response.data))
    assert len(after.pages) == len(before.pages) == 3
    for old, new in zip(before.pages, after.pages, strict=True):
        assert [float(v) for v in new.mediabox] == [float(v) for v in old.mediabox]
        assert old.obj.Contents.read_bytes() in [s.read_bytes() for s in new.obj.Contents]
    expected = [normalised(page["text"]) for page in result["pages"]]
    assert expected == [normalised(f"Page{n} of three 第页文字") for n in (1, 2, 3)]
    assert [normalised(t) for t in pdfium_pages(response.data)] == expected
    assert [normalised(t) for t in poppler_pages(response.data)] == expected


@pytest.mark.parametrize(("kind", "fmt"), [("png", "PNG"), ("jpg", "JPEG")])
def test_a_documents_page_is_an_image_of_the_pages_size(client, pdf_job, kind, fmt):
    job_id, result, _ = pdf_job
    response = client.get(f"/v1/jobs/{job_id}/pages/2.{kind}")
    assert response.status_code == 200 and response.mimetype == f"image/{'jpeg' if kind == 'jpg' else kind}"
    image = Image.open(io.BytesIO(response.data))
    page = result["pages"][1]
    assert image.format == fmt and image.size == (page["width"], page["height"])
    assert image.convert("L").getextrema()[0] < 80  # the page's text is on it, not a blank page


def test_a_page_out_of_range_is_404(client, pdf_job):
    job_id, _, _ = pdf_job
    for page in (0, 4):
        response = client.get(f"/v1/jobs/{job_id}/pages/{page}.png")
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_an_unfinished_job_has_no_output_yet(client):
    job_id = post(client, render_png(["slow"]), "slow.png", fault="sleep:3").get_json()["job_id"]
    try:
        response = client.get(f"/v1/jobs/{job_id}/result.txt")
        assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_finished"
        assert client.get(f"/v1/jobs/{job_id}/pages/1.png").status_code == 200  # the upload is there
    finally:
        client.delete(f"/v1/jobs/{job_id}")
    canceled = client.get(f"/v1/jobs/{job_id}/result.hocr")
    assert canceled.status_code == 409 and canceled.get_json()["error"]["code"] == "no_result"


def test_unknown_jobs_and_other_keys_jobs_are_404(settings, worker):
    keyed = create_app(settings.model_copy(update={"api_keys": "key-a,key-b"})).test_client()
    job_id = keyed.post("/v1/jobs", data={"image": (io.BytesIO(render_png(["mine"])), "m.png")},
                        headers={"X-API-Key": "key-a"},
                        content_type="multipart/form-data").get_json()["job_id"]
    wait_for(lambda: keyed.get(f"/v1/jobs/{job_id}?wait=5", headers={"X-API-Key": "key-a"}).get_json()
             ["status"] == "succeeded", timeout=60)
    assert keyed.get(f"/v1/jobs/{job_id}/result.txt", headers={"X-API-Key": "key-a"}).status_code == 200
    for path in ("result.txt", "result.pdf", "result", "pages/1.png"):
        other = keyed.get(f"/v1/jobs/{job_id}/{path}", headers={"X-API-Key": "key-b"})
        assert other.status_code == 404 and other.get_json()["error"]["code"] == "not_found", path
    unknown = keyed.get("/v1/jobs/00000000-0000-4000-8000-000000000000/result.pdf",
                        headers={"X-API-Key": "key-a"})
    assert unknown.status_code == 404


def test_without_kept_uploads_the_pdf_and_pages_are_410_and_the_text_is_still_there(settings, worker):
    client = create_app(settings.model_copy(update={"keep_uploads": False})).test_client()
    job_id = post(client, render_png(["gone soon"]), "g.png").get_json()["job_id"]
    finished(client, job_id)
    assert client.get(f"/v1/jobs/{job_id}/result.txt").status_code == 200
    for path in ("result.pdf", "pages/1.png"):
        response = client.get(f"/v1/jobs/{job_id}/{path}")
        assert response.status_code == 410 and response.get_json()["error"]["code"] == "upload_gone", path
