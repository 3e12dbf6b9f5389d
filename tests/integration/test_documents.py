"""Multi-page documents against the real stack: a PDF or a multi-page TIFF is one job whose pages run as
tasks on every worker process, come back in order, show progress, and survive a killed worker."""

from __future__ import annotations

import io
import os
import signal

import pytest

from ocrq.api import create_app
from ocrq.store.keys import pages_key
from tests.support.documents import broken_pdf, encrypted_pdf, text_pages, text_pdf, tiff_bytes
from tests.support.stack import WorkerProcess, wait_for

TEXTS = ["第一页 Page one", "第二页 Page two", "第三页 Page three", "第四页 Page four"]


@pytest.fixture(scope="module")
def two_process_worker(redis_server, worker, tmp_path_factory):
    """A second worker node with 2 processes beside the session's: 3 processes share the queue."""
    process = WorkerProcess(redis_server.url, tmp_path_factory.mktemp("worker2") / "worker.log",
                            concurrency=2).start(timeout=120)  # two engines to load on a shared machine
    yield process
    process.stop()


def squash(text: str) -> str:
    return text.replace(" ", "")


def post(client, data: bytes, name: str, path: str = "/v1/jobs", **fields):
    return client.post(path, data={"image": (io.BytesIO(data), name), **fields},
                       content_type="multipart/form-data")


def assert_pages(result: dict, texts: list[str], fmt: str) -> None:
    assert result["format"] == fmt and result["page_count"] == len(texts)
    assert [page["page"] for page in result["pages"]] == list(range(1, len(texts) + 1))
    assert [squash(page["text"]) for page in result["pages"]] == [squash(t) for t in texts]
    assert squash(result["text"]) == squash("\n\f\n".join(texts))
    for page in result["pages"]:
        assert page["width"] > 0 and page["height"] > 0 and page["lines"][0]["confidence"] > 0.5


def test_a_pdf_runs_its_pages_on_several_processes_and_keeps_their_order(client, two_process_worker):
    response = post(client, text_pdf(TEXTS), "four.pdf", fault="sleep:1")  # slow pages: progress shows
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["progress"] == {"done": 0, "total": 4}
    seen = []

    def finished():
        doc = client.get(body["links"]["self"]).get_json()
        seen.append((doc["status"], doc["progress"]["done"]))
        return doc if doc["status"] in ("succeeded", "failed") else None

    doc = wait_for(finished, timeout=120)
    assert doc["status"] == "succeeded", doc["error"]
    assert doc["progress"] == {"done": 4, "total": 4}
    assert any(status == "running" and 0 < done < 4 for status, done in seen), seen  # pages ended one by one
    assert_pages(doc["result"], TEXTS, "pdf")
    assert doc["result"]["dpi"] == 150 and doc["result"]["pages"][0]["dpi"] == 150
    assert len({page["worker"]["pid"] for page in doc["result"]["pages"]}) >= 2


def test_a_multipage_tiff_is_one_job_with_its_pages_in_order(client, two_process_worker):
    texts = TEXTS[:3]
    response = post(client, tiff_bytes(text_pages(texts)), "scan.tif")
    assert response.status_code == 202
    doc = client.get(response.get_json()["links"]["self"] + "?wait=60").get_json()
    assert doc["status"] == "succeeded", doc["error"]
    assert_pages(doc["result"], texts, "tiff")
    assert "dpi" not in doc["result"]


def test_a_worker_process_killed_mid_document_still_yields_the_whole_document(
        client, two_process_worker, worker, redis_client):
    response = post(client, text_pdf(TEXTS[:3]), "three.pdf", fault="sleep:3")
    job_id = response.get_json()["job_id"]

    def a_page_running():
        fields = {k.decode(): v.decode() for k, v in redis_client.hgetall(pages_key(job_id)).items()}
        running = [n for n in (1, 2, 3) if f"pid:{n}" in fields and f"result:{n}" not in fields]
        return (running[0], int(fields[f"pid:{running[0]}"])) if running else None

    page, pid = wait_for(a_page_running, timeout=60)
    assert pid in worker.children() + two_process_worker.children()  # only ever kill our own workers
    os.kill(pid, signal.SIGKILL)

    doc = wait_for(lambda: (d := client.get(f"/v1/jobs/{job_id}?wait=10").get_json())["status"]
                   in ("succeeded", "failed") and d, timeout=120)
    assert doc["status"] == "succeeded", doc["error"]
    assert_pages(doc["result"], TEXTS[:3], "pdf")
    assert doc["result"]["pages"][page - 1]["attempts"] == 2  # the killed page ran again
    assert doc["result"]["pages"][page - 1]["worker"]["pid"] != pid


def test_predict_reads_a_pdf_with_page_numbers(client, two_process_worker):
    response = post(client, text_pdf(TEXTS[:2]), "two.pdf", path="/ocr/predict")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    pages = [(r["page"], squash(r["text"])) for r in body["results"]]
    assert pages == [(1, "第一页Pageone"), (2, "第二页Pagetwo")]


def test_documents_the_api_cannot_take_are_refused_with_clear_errors(settings, redis_server):
    client = create_app(settings.model_copy(update={"max_pages": 3})).test_client()
    cases = {
        "too_many_pages": text_pdf(["1", "2", "3", "4"]),
        "encrypted_document": encrypted_pdf(),
        "undecodable_document": broken_pdf(),
    }
    for code, data in cases.items():
        response = post(client, data, "doc.pdf")
        assert response.status_code == 422 and response.get_json()["error"]["code"] == code, code
    raw = client.post("/v1/jobs", data=encrypted_pdf(), content_type="application/pdf")
    assert raw.status_code == 422 and raw.get_json()["error"]["code"] == "encrypted_document"
    too_many = post(client, cases["too_many_pages"], "d.pdf").get_json()["error"]["message"]
    assert "4 pages; the limit is 3" in too_many
