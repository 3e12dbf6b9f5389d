"""``/v1/batches`` against the real stack: several files in one request, each item an ordinary job, read
and long-polled together; a bad item fails alone; owner scoping and limits like jobs."""

from __future__ import annotations

import io

from ocrq.api import create_app
from ocrq.store.batches import batch_key
from tests.support.documents import text_pdf
from tests.support.render import render_png

ALPHA, BETA = "alpha-7Hq2kP9xW4mZ", "beta-Vn3sR8tY1cLb"


def files(*items: tuple[bytes, str]) -> list[tuple[io.BytesIO, str]]:
    return [(io.BytesIO(data), name) for data, name in items]


def post_batch(client, items, headers=None, **fields):
    return client.post("/v1/batches", data={"images": files(*items), **fields},
                       content_type="multipart/form-data", headers=headers or {})


def test_a_batch_runs_its_items_as_jobs_and_a_bad_item_fails_alone(client, settings, redis_client):
    good = render_png(["批量 Batch 1"], size=32)
    truncated = good[: len(good) // 2]  # its header passes the API's check; the pixels do not decode
    items = [
        (good, "../../etc/批量1.png"),
        (render_png(["批量 Batch 2"], size=32), "/home/me/scans/two\x07.png"),
        (b"just some notes\n", "notes.txt"),
        (truncated, "cut.png"),
        (text_pdf(["批量 Page 1", "批量 Page 2"]), "two-pages.pdf"),
    ]
    response = post_batch(client, items, fault="sleep:0.5")  # slow items: the first look sees progress
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert set(body) == {"batch_id", "status", "total", "links"} and body["total"] == 5
    assert body["status"] == "running"  # one item was refused at once; the others are queued
    assert response.headers["Location"] == body["links"]["self"] == f"/v1/batches/{body['batch_id']}"

    first = client.get(body["links"]["self"]).get_json()
    assert first["status"] == "running" and first["progress"]["done"] < 3 and first["finished_at"] is None

    doc = client.get(body["links"]["self"] + "?wait=60").get_json()
    assert doc["status"] == "partial", doc
    assert doc["progress"] == {"done": 3, "failed": 2, "total": 5}
    by_index = {item["index"]: item for item in doc["items"]}
    assert [item["index"] for item in doc["items"]] == [0, 1, 2, 3, 4]
    assert [item["filename"] for item in doc["items"]] == ["批量1.png", "two.png", "notes.txt", "cut.png",
                                                           "two-pages.pdf"]
    assert by_index[0]["result"]["text"].replace(" ", "") == "批量Batch1"
    assert by_index[1]["result"]["text"].replace(" ", "") == "批量Batch2"
    assert by_index[2]["status"] == "failed" and by_index[2]["job_id"] is None
    assert by_index[2]["error"]["code"] == "unsupported_image"
    assert by_index[3]["status"] == "failed" and by_index[3]["error"]["code"] == "undecodable_image"
    assert by_index[4]["progress"] == {"done": 2, "total": 2}
    assert [p["text"].replace(" ", "") for p in by_index[4]["result"]["pages"]] == ["批量Page1", "批量Page2"]
    # each item is an ordinary job, readable on its own
    job = client.get(by_index[0]["links"]["self"]).get_json()
    assert job["job_id"] == by_index[0]["job_id"] and job["status"] == "succeeded"
    # kept like a job: it expires OCRQ_JOB_TTL_SECONDS after it was seen finished
    assert doc["finished_at"]
    assert 0 < redis_client.ttl(batch_key(body["batch_id"])) <= settings.job_ttl_seconds


def test_unknown_batches_are_404(client):
    for path in ("/v1/batches/00000000-0000-4000-8000-000000000000", "/v1/batches/not-an-id"):
        response = client.get(path)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_a_batch_belongs_to_its_key(settings, worker):
    keyed = create_app(settings.model_copy(update={"api_keys": f"{ALPHA},{BETA}"})).test_client()
    image = (render_png(["钥匙 Key 5"], size=32), "k.png")
    assert post_batch(keyed, [image]).status_code == 401
    response = post_batch(keyed, [image], headers={"X-API-Key": ALPHA})
    assert response.status_code == 202
    link = response.get_json()["links"]["self"]
    assert keyed.get(link, headers={"X-API-Key": BETA}).status_code == 404
    doc = keyed.get(link + "?wait=30", headers={"Authorization": f"Bearer {ALPHA}"}).get_json()
    assert doc["status"] == "succeeded" and doc["progress"] == {"done": 1, "failed": 0, "total": 1}
    job = doc["items"][0]["links"]["self"]
    assert keyed.get(job, headers={"X-API-Key": BETA}).status_code == 404  # its items are ALPHA's jobs too
    assert keyed.get(job, headers={"X-API-Key": ALPHA}).status_code == 200


def test_batch_limits_are_clear_4xx_errors(settings, redis_server):
    limited = create_app(settings.model_copy(update={"max_batch_items": 2, "max_batch_bytes": 4096}))
    client = limited.test_client()
    small = (render_png(["a"], size=12), "a.png")

    def error(response):
        return response.status_code, response.get_json()["error"]["code"]

    assert error(post_batch(client, [small] * 3)) == (400, "too_many_files")
    assert error(post_batch(client, [(bytes(300 * 1024), "big.png")])) == (413, "payload_too_large")
    assert error(post_batch(client, [small], enhance="sharpen")) == (400, "invalid_option")
    assert error(client.post("/v1/batches", data={"image": files(small)},
                             content_type="multipart/form-data")) == (400, "missing_file")
    assert error(client.post("/v1/batches", data=small[0], content_type="image/png")) == (400, "missing_file")
