"""``Idempotency-Key`` on POST /v1/jobs and /v1/batches, against the real stack: a retry gets the first
answer, a different request under a used key is a 409, keys are per API key, and concurrent duplicates make
one job."""

from __future__ import annotations

import io
import threading
import uuid

import pytest

from ocrq.api import batches, create_app
from tests.support.render import render_png

IMAGE = render_png(["Once 1"], size=28)
OTHER = render_png(["Twice 2"], size=28)


def post_job(client, key: str | None, data: bytes = IMAGE, headers: dict | None = None, **fields):
    return client.post("/v1/jobs", data={"image": (io.BytesIO(data), "a.png"), **fields},
                       headers={**({"Idempotency-Key": key} if key else {}), **(headers or {})},
                       content_type="multipart/form-data")


def jobs_in(redis_client) -> int:
    return sum(1 for _ in redis_client.scan_iter(match="ocrq:job:*", count=1000))


def test_a_retry_with_the_same_key_gets_the_same_job(client, redis_client):
    key, before = f"order-{uuid.uuid4()}", jobs_in(redis_client)
    first = post_job(client, key, enhance="off")
    again = post_job(client, key, enhance="off")
    assert first.status_code == again.status_code == 202
    assert again.get_json() == first.get_json() and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotency-Replayed"] == "true" and "Idempotency-Replayed" not in first.headers
    assert jobs_in(redis_client) == before + 1
    assert post_job(client, None).get_json()["job_id"] != first.get_json()["job_id"]  # no key: a new job


def test_the_same_key_with_another_request_is_409(client):
    key = f"order-{uuid.uuid4()}"
    assert post_job(client, key).status_code == 202
    for response in (post_job(client, key, OTHER), post_job(client, key, enhance="seed"),
                     post_job(client, key, priority="high")):
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "idempotency_conflict"


def test_a_refused_request_does_not_use_up_its_key(client):
    key = f"order-{uuid.uuid4()}"
    assert post_job(client, key, enhance="sharpen").status_code == 400
    assert post_job(client, key, data=b"not an image").status_code == 415
    assert post_job(client, key).status_code == 202


def test_a_malformed_key_is_400(client):
    for key in ("has space", "x" * 256, "naïve"):
        response = client.post("/v1/jobs", data=IMAGE, content_type="image/png",
                               headers={"Idempotency-Key": key.encode().decode("latin-1")})
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_option"


def test_keys_belong_to_their_api_key(settings, worker):
    keyed = create_app(settings.model_copy(update={"api_keys": "alpha-key,beta-key"})).test_client()
    key = f"order-{uuid.uuid4()}"
    alpha = post_job(keyed, key, headers={"X-API-Key": "alpha-key"})
    beta = post_job(keyed, key, headers={"X-API-Key": "beta-key"})
    assert alpha.status_code == beta.status_code == 202
    assert alpha.get_json()["job_id"] != beta.get_json()["job_id"]
    assert "Idempotency-Replayed" not in beta.headers


def test_concurrent_duplicates_make_one_job(app, worker, redis_client):
    key, before, answers = f"order-{uuid.uuid4()}", jobs_in(redis_client), []

    def send() -> None:
        answers.append(post_job(app.test_client(), key))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [a.status_code for a in answers] == [202] * 6
    assert len({a.get_json()["job_id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotency-Replayed") == "true" for a in answers) == 5
    assert jobs_in(redis_client) == before + 1


@pytest.mark.parametrize("second", ["same", "other"])
def test_a_batch_is_idempotent_too(client, second):
    key = f"batch-{uuid.uuid4()}"

    def post(files: list[bytes]):
        images = [(io.BytesIO(data), f"{i}.png") for i, data in enumerate(files)]
        return client.post("/v1/batches", data={"images": images}, headers={"Idempotency-Key": key},
                           content_type="multipart/form-data")

    first = post([IMAGE, OTHER])
    again = post([IMAGE, OTHER] if second == "same" else [OTHER, IMAGE])
    assert first.status_code == 202
    if second == "same":
        assert again.status_code == 202 and again.get_json()["batch_id"] == first.get_json()["batch_id"]
    else:
        assert again.status_code == 409 and again.get_json()["error"]["code"] == "idempotency_conflict"


def test_a_batch_without_a_key_is_not_hashed(client, monkeypatch):
    digests = []
    monkeypatch.setattr(batches, "_digest", lambda upload: digests.append(upload) or b"d")
    images = [(io.BytesIO(data), f"{i}.png") for i, data in enumerate([IMAGE, OTHER])]
    response = client.post("/v1/batches", data={"images": images}, content_type="multipart/form-data")
    assert response.status_code == 202 and digests == []  # no key: no fingerprint to take
    images = [(io.BytesIO(data), f"{i}.png") for i, data in enumerate([IMAGE, OTHER])]
    response = client.post("/v1/batches", data={"images": images}, content_type="multipart/form-data",
                           headers={"Idempotency-Key": f"batch-{uuid.uuid4()}"})
    assert response.status_code == 202 and len(digests) == 2
