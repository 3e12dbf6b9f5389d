"""``POST /ocr/predict``: the reference design's synchronous endpoint."""

from __future__ import annotations

import io

from PIL import Image

from ocrq.api import create_app
from tests.support.render import encode, render_png


def test_predict_answers_like_the_reference_design(client):
    image = render_png(["增值税专用发票", "购买方名称：某某科技有限公司"], size=32)
    response = client.post("/ocr/predict", data={"image": (io.BytesIO(image), "invoice.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert [r["text"] for r in body["results"]] == ["增值税专用发票", "购买方名称：某某科技有限公司"]
    for item in body["results"]:
        assert 0.0 <= item["confidence"] <= 1.0 and len(item["box"]) == 4
    assert isinstance(body["processing_time"], float) and 0 < body["processing_time"] < 30


def test_predict_times_out_into_a_job_to_poll(settings, worker):
    app = create_app(settings.model_copy(update={"predict_timeout": 0.5}))
    client = app.test_client()
    response = client.post("/ocr/predict", data={"image": (io.BytesIO(render_png(["slow"])), "a.png"),
                                                 "fault": "sleep:2"},
                           content_type="multipart/form-data")
    assert response.status_code == 202
    body = response.get_json()
    assert body["success"] is False and body["status"] in ("queued", "running")
    assert response.headers["Location"] == body["links"]["self"]
    assert client.get(body["links"]["self"] + "?wait=30").get_json()["status"] == "succeeded"


def test_predict_reports_a_failed_job_with_its_status(client):
    jpeg = encode(Image.effect_noise((300, 300), 50).convert("RGB"), "JPEG")
    broken = jpeg[: len(jpeg) // 2]  # the header is fine, the pixels are cut off: only the worker finds out
    response = client.post("/ocr/predict", data={"image": (io.BytesIO(broken), "a.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    body = response.get_json()
    assert body["success"] is False and body["error"]["code"] == "undecodable_image"


def test_predict_maps_worker_failures_to_server_statuses(client):
    from ocrq.errors import status_for_code

    assert status_for_code("undecodable_image") == 422
    assert status_for_code("timeout") == 504 and status_for_code("worker_lost") == 502
    response = client.post("/ocr/predict", data={"image": (io.BytesIO(render_png(["boom"])), "a.png"),
                                                 "fault": "crash"},
                           content_type="multipart/form-data")
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "worker_lost"
