"""Optional API keys (OCRQ_API_KEYS): 401 without a valid key on /v1 and /ocr, one tenant per key,
health endpoints and the web page open, and the key itself never stored."""

from __future__ import annotations

import io

import pytest

from ocrq.api import create_app
from tests.support.render import render_png

ALPHA, BETA = "alpha-7Hq2kP9xW4mZ", "beta-Vn3sR8tY1cLb"
JOB = "/v1/jobs/00000000-0000-4000-8000-000000000000"


@pytest.fixture
def keyed(settings, worker):
    return create_app(settings.model_copy(update={"api_keys": f"{ALPHA}, {BETA},"})).test_client()


def image():
    return {"image": (io.BytesIO(render_png(["钥匙 Key 9"], size=32)), "k.png")}


def assert_401(response):
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"X-API-Key": ALPHA[:-1]},
        {"Authorization": f"Basic {ALPHA}"},
        {"Authorization": "Bearer "},
        {"X-API-Key": ALPHA + "x"},
        {"Authorization": f"Bearer {ALPHA},{BETA}"},
    ],
)
def test_every_v1_and_ocr_endpoint_needs_a_valid_key(keyed, headers):
    assert_401(keyed.post("/v1/jobs", data=image(), content_type="multipart/form-data", headers=headers))
    assert_401(keyed.get(JOB, headers=headers))
    assert_401(keyed.delete(JOB, headers=headers))
    assert_401(keyed.post("/ocr/predict", data=image(), content_type="multipart/form-data", headers=headers))
    assert_401(keyed.get("/v1/anything", headers=headers))  # no probing of what exists


def test_health_and_the_web_page_stay_open(keyed):
    assert keyed.get("/healthz").status_code == 200
    assert keyed.get("/readyz").status_code == 200
    page = keyed.get("/")
    page.close()  # a file response: its file is closed with it
    assert page.status_code != 401


def test_a_job_belongs_to_its_key(keyed, redis_client):
    posted = keyed.post(
        "/v1/jobs",
        data=image(),
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {ALPHA}"},
    )
    assert posted.status_code == 202
    job = posted.headers["Location"]
    doc = keyed.get(job + "?wait=30", headers={"X-API-Key": ALPHA}).get_json()  # either header works
    assert doc["status"] == "succeeded" and doc["result"]["text"].replace(" ", "") == "钥匙Key9"
    assert keyed.get(job, headers={"X-API-Key": BETA}).status_code == 404  # invisible to another key
    assert keyed.delete(job, headers={"Authorization": f"Bearer {BETA}"}).status_code == 404
    assert keyed.get(job, headers={"X-API-Key": ALPHA}).status_code == 200  # ...which did not delete it
    record = redis_client.hgetall(f"ocrq:job:{doc['job_id']}")
    assert record[b"owner"].startswith(b"key:") and ALPHA.encode() not in b"".join(record.values())
    assert keyed.delete(job, headers={"X-API-Key": ALPHA}).get_json()["status"] == "deleted"


def test_predict_with_a_key(keyed):
    response = keyed.post(
        "/ocr/predict",
        data=image(),
        content_type="multipart/form-data",
        headers={"Authorization": f"bearer {BETA}"},
    )
    assert response.status_code == 200 and response.get_json()["success"] is True


def test_without_keys_the_api_is_open(client):
    assert client.get(JOB).status_code == 404  # not 401
