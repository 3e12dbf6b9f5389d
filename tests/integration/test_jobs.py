"""POST, then poll, against a real Redis server and a real Celery worker process."""

from __future__ import annotations

import time
import uuid

import urllib3

from tests.support.render import render_png
from tests.support.stack import wait_for

LINES = ["增值税专用发票", "Total 128.50"]


def submit(client, data: bytes | None = None, **fields):
    payload = {"image": (__import__("io").BytesIO(data or render_png(LINES, size=32)), "scan.png"), **fields}
    return client.post("/v1/jobs", data=payload, content_type="multipart/form-data")


def test_post_then_poll_returns_the_text(client):
    response = submit(client)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued"
    assert str(uuid.UUID(body["job_id"])) == body["job_id"]
    assert response.headers["Location"] == body["links"]["self"] == f"/v1/jobs/{body['job_id']}"
    assert response.headers["X-Content-Type-Options"] == "nosniff"

    def finished():
        doc = client.get(body["links"]["self"]).get_json()
        return doc if doc["status"] in ("succeeded", "failed") else None

    doc = wait_for(finished, timeout=60)
    assert doc["status"] == "succeeded", doc
    assert [line["text"] for line in doc["result"]["lines"]] == LINES
    assert doc["result"]["text"] == "\n".join(LINES)
    assert doc["attempts"] == 1 and doc["error"] is None
    assert doc["created_at"] <= doc["started_at"] <= doc["finished_at"]
    assert {"width", "height", "timings_ms", "model"} <= set(doc["result"])


def test_long_poll_returns_as_soon_as_the_job_is_done(client):
    job_id = submit(client).get_json()["job_id"]
    start = time.monotonic()
    doc = client.get(f"/v1/jobs/{job_id}?wait=25").get_json()
    elapsed = time.monotonic() - start
    assert doc["status"] == "succeeded"
    assert elapsed < 20  # it returned when the job finished, not when the wait ran out


def test_long_poll_times_out_with_the_current_state(client):
    job_id = submit(client, fault="sleep:3").get_json()["job_id"]
    start = time.monotonic()
    doc = client.get(f"/v1/jobs/{job_id}?wait=1").get_json()
    assert 0.9 <= time.monotonic() - start < 3
    assert doc["status"] in ("queued", "running")
    assert client.get(f"/v1/jobs/{job_id}?wait=30").get_json()["status"] == "succeeded"


def test_raw_image_body_is_accepted(client):
    response = client.post("/v1/jobs?enhance=off", data=render_png(["RAW 原始"], size=32),
                           content_type="image/png")
    assert response.status_code == 202
    doc = client.get(response.headers["Location"] + "?wait=30").get_json()
    assert doc["status"] == "succeeded" and doc["options"]["enhance"] == "off"
    assert doc["result"]["text"].replace(" ", "") == "RAW原始"


def test_unknown_and_malformed_ids_are_404(client):
    for path in (f"/v1/jobs/{uuid.uuid4()}", "/v1/jobs/not-a-uuid", f"/v1/jobs/{uuid.uuid4()}?wait=1"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert client.delete(f"/v1/jobs/{uuid.uuid4()}").status_code == 404


def test_cancel_a_queued_job_and_the_worker_skips_it(settings, worker):
    # two tasks in flight for the open API (its default cap is the worker's one process: the second job
    # would be held, and a held job that is canceled is never sent; tests/integration/test_fairness.py)
    from ocrq.api import create_app

    client = create_app(settings.model_copy(update={"key_in_flight": 2})).test_client()
    blocker = submit(client, fault="sleep:3").get_json()["job_id"]
    queued = submit(client).get_json()["job_id"]
    canceled = client.delete(f"/v1/jobs/{queued}")
    assert canceled.status_code == 200 and canceled.get_json()["status"] == "canceled"
    assert client.get(f"/v1/jobs/{blocker}?wait=30").get_json()["status"] == "succeeded"
    wait_for(lambda: f"job {queued} skipped: finished" in worker.log(), timeout=30)
    doc = client.get(f"/v1/jobs/{queued}").get_json()
    assert doc["status"] == "canceled" and doc["result"] is None and doc["attempts"] == 0


def test_delete_a_finished_job_removes_it(client, redis_client):
    job_id = submit(client).get_json()["job_id"]
    assert client.get(f"/v1/jobs/{job_id}?wait=30").get_json()["status"] == "succeeded"
    # the upload stays with the succeeded job (OCRQ_KEEP_UPLOADS), expiring with it
    upload_ttl = redis_client.ttl(f"ocrq:upload:{job_id}")
    assert 0 < upload_ttl <= redis_client.ttl(f"ocrq:job:{job_id}") <= 24 * 3600
    response = client.delete(f"/v1/jobs/{job_id}")
    assert response.get_json() == {"job_id": job_id, "status": "deleted"}
    assert client.get(f"/v1/jobs/{job_id}").status_code == 404
    assert not redis_client.exists(f"ocrq:upload:{job_id}")  # and its kept upload with it


def test_an_image_the_worker_cannot_decode_fails_the_job_clearly(client):
    from PIL import Image

    from tests.support.render import encode

    jpeg = encode(Image.effect_noise((300, 300), 50).convert("RGB"), "JPEG")
    job_id = submit(client, jpeg[: len(jpeg) // 2]).get_json()["job_id"]  # the header is fine, the rest not
    doc = client.get(f"/v1/jobs/{job_id}?wait=30").get_json()
    assert doc["status"] == "failed"
    assert doc["error"]["code"] == "undecodable_image" and doc["result"] is None


def test_a_redelivered_finished_job_is_not_run_again(client, app, worker):
    job_id = submit(client).get_json()["job_id"]
    first = client.get(f"/v1/jobs/{job_id}?wait=30").get_json()
    queue = app.extensions["ocrq.queue"]
    queue.celery.send_task("ocrq.ocr", args=[job_id], queue="ocr")  # as if the broker delivered it twice
    wait_for(lambda: worker.log().count(f"job {job_id} skipped: finished") == 1, timeout=30)
    assert client.get(f"/v1/jobs/{job_id}").get_json() == first


def test_an_upload_of_a_few_megabytes_is_accepted(client):
    """Werkzeug's multipart decoder applies MAX_FORM_MEMORY_SIZE to its read buffer, file parts included:
    set to its 64 KiB read size, files over ~100 kB were refused with 413 at random (api/__init__.py)."""
    from PIL import Image

    from tests.support.render import encode

    noise = encode(Image.effect_noise((1200, 1200), 80).convert("RGB"), "PNG")
    assert len(noise) > 2_000_000
    # encoded here: Werkzeug's test client spools a body this large to a temporary file it never closes
    body, content_type = urllib3.encode_multipart_formdata({"image": ("scan.png", noise, "image/png")})
    response = client.post("/v1/jobs", data=body, content_type=content_type)
    assert response.status_code == 202, response.get_json()
    assert client.delete(response.get_json()["links"]["self"]).status_code == 200  # no need to read it
