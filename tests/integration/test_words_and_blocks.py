"""Words, characters and blocks through the real stack (API -> Redis -> worker): `chars=true` as a form
field or a query parameter gives each line its characters, and a document's pages carry words and
blocks as a single image's result does."""

from __future__ import annotations

import io

from tests.support.documents import text_pages, tiff_bytes
from tests.support.render import render_png
from tests.support.stack import wait_for


def finished(client, link: str) -> dict:
    def done():
        doc = client.get(link).get_json()
        return doc if doc["status"] in ("succeeded", "failed") else None

    doc = wait_for(done, timeout=90)
    assert doc["status"] == "succeeded", doc["error"]
    return doc


def post(client, data: bytes, name: str, query: str = "", **fields):
    return client.post("/v1/jobs" + query, data={"image": (io.BytesIO(data), name), **fields},
                       content_type="multipart/form-data")


def test_characters_come_with_the_chars_option_only(client):
    image = render_png(["Total 128.50", "增值税发票"], size=32)
    plain = post(client, image, "a.png").get_json()
    asked = post(client, image, "a.png", chars="true").get_json()
    by_query = post(client, image, "a.png", query="?chars=true").get_json()
    plain_doc = finished(client, plain["links"]["self"])
    assert "chars" not in plain_doc["options"]
    assert all("chars" not in line and line["words"] for line in plain_doc["result"]["lines"])
    assert [w["text"] for w in plain_doc["result"]["lines"][0]["words"]] == ["Total", "128.50"]
    for job in (asked, by_query):
        doc = finished(client, job["links"]["self"])
        assert doc["options"]["chars"] is True
        lines = doc["result"]["lines"]
        assert ["".join(c["text"] for c in line["chars"]) for line in lines] == ["Total128.50", "增值税发票"]
        assert [w["text"] for w in lines[1]["words"]] == list("增值税发票")
        assert doc["result"]["blocks"][0]["lines"] == [0, 1]


def test_a_bad_chars_value_is_refused(client):
    response = post(client, render_png(["x"]), "a.png", chars="maybe")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_option"


def test_document_pages_carry_words_characters_and_blocks(client):
    job = post(client, tiff_bytes(text_pages(["Page one 第一页", "Page two 第二页"])), "two.tif",
               chars="true").get_json()
    doc = finished(client, job["links"]["self"])
    pages = doc["result"]["pages"]
    assert [p["page"] for p in pages] == [1, 2]
    for page in pages:
        assert page["blocks"] and page["blocks"][0]["lines"] == list(range(len(page["lines"])))
        words = [w["text"] for line in page["lines"] for w in line["words"]]
        assert words[:2] == ["Page", "one" if page["page"] == 1 else "two"] and "页" in words
        assert all(line["chars"] for line in page["lines"])
