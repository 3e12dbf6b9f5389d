"""The task bodies, run in this process against a real Redis (a database of their own) with a stand-in
engine: each outcome of a job and what Celery is told (a failed job raises JobFailed, Celery's FAILURE)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from ocrq.documents import inspect
from ocrq.errors import UndecodableImage
from ocrq.ocr.pipeline import EngineOptions
from ocrq.ocr.result import OcrLine, OcrResult
from ocrq.store import JobStore, PageStore
from ocrq.store.keys import WEBHOOKS_DUE, upload_key
from ocrq.worker import base
from ocrq.worker.base import JobFailed, OcrqTask
from ocrq.worker.documents import ocr_page
from ocrq.worker.tasks import ocr_job
from tests.support.documents import text_pdf


class StandInEngine:
    """Reads every image as ``text``, or raises ``error``."""

    options = EngineOptions()  # the worker reads the working resolution from it

    def __init__(self, text: str = "hello", error: BaseException | None = None) -> None:
        self.text, self.error, self.calls = text, error, 0
        self.chars: list[bool] = []  # the chars option of each call

    def _read(self) -> OcrResult:
        self.calls += 1
        if self.error is not None:
            raise self.error
        line = OcrLine(self.text, 0.99, [[0, 0], [9, 0], [9, 9], [0, 9]])
        return OcrResult(width=10, height=10, lines=[line], enhance="off", timings_ms={"total": 1.0},
                         model={"name": "stand-in"})

    def run(self, data: bytes, enhance: str | None = None, chars: bool = False) -> OcrResult:
        self.chars.append(chars)
        return self._read()

    def run_array(self, image: Any, enhance: str | None = None, chars: bool = False) -> OcrResult:
        self.chars.append(chars)
        return self._read()


@pytest.fixture
def stores(scratch_redis, monkeypatch) -> Iterator[tuple[JobStore, list[str]]]:
    """The tasks' stores on the scratch database; webhook tasks recorded instead of sent."""
    jobs = JobStore(scratch_redis, job_ttl=60, upload_ttl=60)
    sent: list[str] = []
    monkeypatch.setattr(base, "send_webhook", lambda app, job_id, *a, **k: sent.append(job_id))
    for task in (ocr_job, ocr_page):
        task.__dict__["jobs"] = jobs
        task.__dict__["pages"] = PageStore(scratch_redis, job_ttl=60)
    yield jobs, sent
    for task in (ocr_job, ocr_page):
        task.__dict__.pop("jobs", None)
        task.__dict__.pop("pages", None)
    OcrqTask._engine = None


def use(engine: StandInEngine) -> StandInEngine:
    OcrqTask._engine = engine  # type: ignore[assignment]
    return engine


def test_a_job_succeeds_and_a_redelivery_is_skipped(stores):
    jobs, sent = stores
    engine = use(StandInEngine("你好 hello"))
    jobs.create("j", b"png", {"enhance": "off", "callback_url": "https://hooks.example/x"})
    assert ocr_job.run("j") == "succeeded"
    job = jobs.get("j")
    assert job.status == "succeeded" and job.result["text"] == "你好 hello" and job.attempts == 1
    assert sent == ["j"]  # it ended the job: its webhook task is sent
    assert ocr_job.run("j") == "finished" and engine.calls == 1 and sent == ["j"]
    jobs.create("k", b"png", {"enhance": "off", "chars": True})
    assert ocr_job.run("k") == "succeeded" and engine.chars == [False, True]  # the option reaches the engine


@pytest.mark.parametrize(("error", "code"), [
    (UndecodableImage("the image cannot be decoded"), "undecodable_image"),
    (SoftTimeLimitExceeded(), "timeout"),
    (RuntimeError("a bug"), "internal_error"),
])
def test_what_the_engine_raises_fails_the_job_and_the_task(stores, error, code):
    jobs, sent = stores
    use(StandInEngine(error=error))
    jobs.create("j", b"png", {})
    with pytest.raises(JobFailed) as raised:
        ocr_job.run("j")
    assert raised.value.code == code
    job = jobs.get("j")
    assert job.status == "failed" and job.error["code"] == code
    assert "Traceback" not in job.error["message"]
    assert sent == []  # no callback_url: no webhook task


def test_a_job_out_of_attempts_fails_without_running(stores):
    jobs, _ = stores
    engine = use(StandInEngine())
    jobs.create("j", b"png", {})
    for _ in range(3):
        jobs.claim("j", 3, "node-gone")  # three deliveries that never finished
    with pytest.raises(JobFailed) as raised:
        ocr_job.run("j")
    assert raised.value.code == "worker_lost" and engine.calls == 0
    assert jobs.get("j").error["code"] == "worker_lost"


def test_a_job_whose_upload_expired_fails_clearly(stores):
    jobs, _ = stores
    use(StandInEngine())
    jobs.create("j", b"png", {"callback_url": "https://hooks.example/x"})
    jobs.redis.delete(upload_key("j"))
    with pytest.raises(JobFailed) as raised:
        ocr_job.run("j")
    assert raised.value.code == "upload_expired"
    assert jobs.redis.zscore(WEBHOOKS_DUE, "j") is not None  # the failure made the webhook due


def test_pages_record_once_and_the_last_assembles_the_document(stores):
    jobs, sent = stores
    use(StandInEngine("page text"))
    pdf = text_pdf(["One", "Two"])
    info = inspect(pdf, 40_000_000, 10, 72)
    jobs.create("d", pdf, {}, document=info.to_dict())
    jobs.claim("d", 3, "node-a")  # ocrq.ocr claimed it and split it
    assert [ocr_page.run("d", 1), ocr_page.run("d", 1)] == ["recorded", "done"]
    assert ocr_page.run("d", 2) == "assembled"
    job = jobs.get("d")
    assert job.status == "succeeded" and [p["page"] for p in job.result["pages"]] == [1, 2]
    assert job.result["text"] == "page text\n\f\npage text"
    assert ocr_page.run("d", "2") == "invalid"  # a page number that is not an int is not trusted


def test_a_failing_page_fails_the_document_with_the_page_named(stores):
    jobs, _ = stores
    use(StandInEngine(error=UndecodableImage("bad pixels")))
    pdf = text_pdf(["One"])
    jobs.create("d", pdf, {}, document=inspect(pdf, 40_000_000, 10, 72).to_dict())
    jobs.claim("d", 3, "node-a")
    with pytest.raises(JobFailed):
        ocr_page.run("d", 1)
    assert jobs.get("d").error == {"code": "undecodable_image", "message": "page 1: bad pixels"}
