"""Every documented error status, as JSON: 400, 404, 405, 413, 415, 422, 429, 503."""

from __future__ import annotations

import io

from PIL import Image

from ocrq.api import create_app
from ocrq.config import Settings
from tests.common.test_images import png_claiming
from tests.support.render import encode, render_png


def post(client, path="/v1/jobs", **kwargs):
    return client.post(path, **kwargs)


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert set(body["error"]) == {"code", "message"} and body["error"]["message"]
    return body["error"]["code"]


def multipart(data: bytes, field: str = "image", **extra):
    return {"data": {field: (io.BytesIO(data), "x.png"), **extra}, "content_type": "multipart/form-data"}


def test_400_missing_file_wrong_field_bad_option(client):
    assert error_of(post(client, data={}, content_type="multipart/form-data"), 400) == "missing_file"
    assert error_of(post(client, **multipart(render_png(["a"]), field="file")), 400) == "missing_file"
    assert error_of(post(client, data="hello", content_type="text/plain"), 400) == "missing_file"
    assert error_of(post(client, **multipart(render_png(["a"]), enhance="sharpen")), 400) == "invalid_option"
    assert error_of(post(client, **multipart(b"")), 400) == "empty_file"
    assert error_of(client.get("/v1/jobs/00000000-0000-4000-8000-000000000000?wait=abc"), 400) \
        == "invalid_option"
    images = [(io.BytesIO(render_png(["a"])), "a.png"), (io.BytesIO(render_png(["b"])), "b.png")]
    two = {"data": {"image": images},
           "content_type": "multipart/form-data"}
    assert error_of(post(client, **two), 400) == "too_many_files"


def test_404_and_405(client):
    assert error_of(client.get("/no/such/route"), 404) == "not_found"
    assert error_of(client.get("/ocr/predict"), 405) == "method_not_allowed"
    assert error_of(client.put("/v1/jobs"), 405) == "method_not_allowed"


def test_413_body_too_large(settings):
    client = create_app(settings.model_copy(update={"max_upload_bytes": 2048})).test_client()
    big = encode(Image.effect_noise((64, 64), 50))  # noise does not compress: about 12 kB
    assert 2048 < len(big) < 2048 + 64 * 1024  # over the image limit, under the multipart allowance
    assert error_of(post(client, data=big, content_type="image/png"), 413) == "payload_too_large"
    huge = b"\x89PNG" + bytes(200 * 1024)
    assert error_of(post(client, **multipart(huge)), 413) == "payload_too_large"


def test_415_not_an_image(client):
    assert error_of(post(client, **multipart(b"just some text, named .png")), 415) == "unsupported_image"
    assert error_of(post(client, data=b"<svg/>", content_type="image/svg+xml"), 415) == "unsupported_image"


def test_422_pixel_bomb_refused_before_enqueue(client, app):
    depth = app.extensions["ocrq.queue"].depth()
    assert error_of(post(client, **multipart(png_claiming(50_000, 50_000))), 422) == "image_too_large"
    assert app.extensions["ocrq.queue"].depth() == depth


def test_429_when_the_queue_is_too_deep(redis_server):
    # database 5: no worker listens there, so jobs stay queued
    settings = Settings(redis_url=redis_server.url.rsplit("/", 1)[0] + "/5", max_queue_depth=2)
    client = create_app(settings).test_client()
    client.application.extensions["ocrq.queue"].redis.flushdb()
    for _ in range(2):
        assert post(client, **multipart(render_png(["a"]))).status_code == 202
    response = post(client, **multipart(render_png(["a"])))
    assert error_of(response, 429) == "queue_full"
    assert response.headers["Retry-After"]
    assert error_of(client.get("/readyz"), 503) == "no_workers"


def test_503_when_redis_is_down():
    from ocrq.embedded_redis import free_port

    client = create_app(Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")).test_client()
    assert error_of(post(client, **multipart(render_png(["a"]))), 503) == "service_unavailable"
    assert error_of(client.get("/v1/jobs/00000000-0000-4000-8000-000000000000"), 503) == "service_unavailable"
    assert error_of(client.get("/readyz"), 503) == "service_unavailable"
    assert client.get("/healthz").status_code == 200


def test_readyz_with_a_worker(client):
    body = client.get("/readyz").get_json()
    assert body["status"] == "ready" and body["workers"] >= 1
