"""The Python client against the real stack over HTTP, and its retry rules against a scripted server."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from ocrq.client import ApiError, Client, JobFailed
from tests.support.http import send_json, serving
from tests.support.render import render_png


def test_submit_wait_and_ocr(live_server, tmp_path):
    client = Client(live_server)
    path = tmp_path / "receipt.png"
    path.write_bytes(render_png(["客户端 Client 3.14"], size=32))
    job = client.submit(path, enhance="off")
    assert job.status == "queued" and len(job.id) == 36
    job.wait(timeout=60)
    assert job.status == "succeeded"
    assert job.result["text"].replace(" ", "") == "客户端Client3.14"
    assert job.document["options"]["enhance"] == "off"
    assert client.ocr(render_png(["bytes 字节"], size=32))["text"].replace(" ", "") == "bytes字节"
    assert client.job(job.id).status == "succeeded"


def test_map_yields_every_source_as_it_finishes(live_server):
    client = Client(live_server)
    sources = [render_png([f"第{i}页 page {i}"], size=32) for i in range(5)]
    results = dict(client.map(sources, concurrency=3))
    assert set(results) == set(sources)
    for i, source in enumerate(sources):
        assert results[source].result["text"].replace(" ", "") == f"第{i}页page{i}"


def test_clear_errors(live_server):
    client = Client(live_server)
    with pytest.raises(ApiError) as caught:
        client.submit(b"plain text, not an image", filename="a.jpg")
    assert caught.value.status == 415 and caught.value.code == "unsupported_image"
    with pytest.raises(ApiError) as missing:
        client.job("00000000-0000-4000-8000-000000000000")
    assert missing.value.status == 404
    from PIL import Image

    from tests.support.render import encode

    jpeg = encode(Image.effect_noise((200, 200), 40).convert("RGB"), "JPEG")
    with pytest.raises(JobFailed, match="undecodable_image"):
        client.ocr(jpeg[: len(jpeg) // 2])


class Scripted(BaseHTTPRequestHandler):
    """Answers POST /v1/jobs with the next status in ``script``; records each request."""

    script: list[int] = []
    seen: list[str] = []
    keys: list[str] = []

    def do_POST(self):  # noqa: N802 - the http.server naming
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append(self.headers.get("Authorization", ""))
        type(self).keys.append(self.headers.get("Idempotency-Key", ""))
        status = type(self).script.pop(0)
        code = {429: "queue_full", 409: "idempotency_in_progress", 4091: "idempotency_conflict"}
        body = {"job_id": "j1", "status": "queued"} if status == 202 else \
            {"error": {"code": code.get(status, "bad_request"), "message": "scripted"}}
        status = 409 if status == 4091 else status
        send_json(self, status, body, {"Retry-After": "0"} if status == 429 else None)

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted():
    Scripted.seen, Scripted.keys = [], []
    with serving(Scripted) as server:
        yield server


def test_retries_429_then_succeeds_and_sends_the_key(scripted):
    Scripted.script = [429, 503, 202]
    client = Client(f"http://127.0.0.1:{scripted.server_port}", api_key="k-123", backoff=0.01)
    assert client.submit(b"x").id == "j1"
    assert Scripted.seen == ["Bearer k-123"] * 3
    assert len(set(Scripted.keys)) == 1 and Scripted.keys[0]  # the retries are the same request
    Scripted.script = [202]
    client.submit(b"x")
    assert Scripted.keys[-1] not in Scripted.keys[:-1]  # another submission, another key


def test_a_key_whose_first_request_is_in_progress_is_asked_again_but_a_conflict_is_not(scripted):
    Scripted.script = [409, 409, 202]
    client = Client(f"http://127.0.0.1:{scripted.server_port}", backoff=0.01)
    assert client.submit(b"x").id == "j1"
    assert len(Scripted.keys) == 3 and len(set(Scripted.keys)) == 1  # with the same key
    Scripted.script = [4091]  # idempotency_conflict: another body under the key, asking again cannot help
    with pytest.raises(ApiError) as caught:
        client.submit(b"x")
    assert caught.value.code == "idempotency_conflict" and len(Scripted.keys) == 4


def test_gives_up_after_the_retry_budget_and_does_not_retry_4xx(scripted):
    Scripted.script = [429, 429, 429]
    client = Client(f"http://127.0.0.1:{scripted.server_port}", retries=2, backoff=0.01)
    with pytest.raises(ApiError) as caught:
        client.submit(b"x")
    assert caught.value.status == 429 and len(Scripted.seen) == 3
    Scripted.script = [400]
    with pytest.raises(ApiError):
        client.submit(b"x")
    assert len(Scripted.seen) == 4


def test_connection_errors_are_retried_then_raised():
    import requests

    from ocrq.embedded_redis import free_port

    client = Client(f"http://127.0.0.1:{free_port()}", retries=1, backoff=0.01)
    with pytest.raises(requests.ConnectionError):
        client.submit(b"x")
