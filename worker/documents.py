"""Multi-page documents (PDF, multi-page TIFF): one job, one task per page, spread over every worker.

``ocrq.ocr`` claims a document job like any other, then :func:`split_document` sends one ``ocrq.page``
task per page not recorded yet and hands the job over to its pages. Each page task renders its own page
from the upload (common/documents.py), so pages are rendered in parallel and nothing but the upload is
stored; it is ``acks_late`` and idempotent like ``ocrq.ocr``: its claim skips a page already recorded and
counts deliveries (a page that keeps killing its worker fails the document after OCRQ_MAX_ATTEMPTS), and
the page that completes the document assembles the result in the same Lua script that records it
(common/pages.py), so the result is written once whatever is redelivered.
"""

from __future__ import annotations

import logging
import os
import time

from celery.exceptions import SoftTimeLimitExceeded

from ocrq.config import get_settings
from ocrq.documents import DocumentInfo, render_page
from ocrq.errors import OcrqError
from ocrq.jobs import Job, upload_key
from ocrq.pages import PageStore
from ocrq.tasks import PAGE_TASK, page_task_id, queue_for
from ocrq.worker import metrics
from ocrq.worker.celery_app import app
from ocrq.worker.lifecycle import engine
from ocrq.worker.tasks import exhausted, fail, inject_fault, notify, patiently, store

log = logging.getLogger("ocrq.worker")
_pages: PageStore | None = None


def page_store() -> PageStore:
    global _pages
    if _pages is None:
        _pages = PageStore(store().redis, get_settings().job_ttl_seconds)
    return _pages


def split_document(job: Job) -> str:
    """``ocrq.ocr`` for a claimed document: send a task for every page without a result, then let the
    pages carry the job (from then on the reconciler watches each page, not this node)."""
    jobs, pages = store(), page_store()
    job_id = job.job_id
    if not patiently(lambda: jobs.redis.exists(upload_key(job_id))):
        fail(job_id, "upload_expired", "the upload expired before a worker was free", job)
        return "failed"
    total = int((job.document or {})["pages"])
    todo = [state.page for state in patiently(lambda: pages.unfinished(job_id, total))]
    queue = queue_for(job.options.get("priority"))  # the job's priority is its pages'
    try:
        for page in todo:  # in page order: the queue is FIFO, so the first pages are read first
            ocr_page.apply_async(args=[job_id, page], task_id=page_task_id(job_id, page), queue=queue)
    finally:  # even if the broker failed half-way: the reconciler then re-sends the missing pages
        patiently(lambda: pages.split_done(job_id))
    log.info("job %s: %d page tasks sent (%d pages)", job_id, len(todo), total)
    return "split"


@app.task(name=PAGE_TASK, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def ocr_page(self, job_id: str, page: int) -> str:
    """OCR page ``page`` (1-based) of document job ``job_id`` and record it; the last one ends the job."""
    settings, jobs, pages = get_settings(), store(), page_store()
    node, pid = self.request.hostname or "", os.getpid()
    if not isinstance(page, int) or isinstance(page, bool):  # the broker is not trusted with types
        log.warning("job %s: page task with a page that is not a number, skipped", job_id)
        return "invalid"
    claim = patiently(lambda: pages.claim(job_id, page, settings.max_attempts, node, pid))
    if not claim.should_run:
        log.info("job %s page %s skipped: %s", job_id, page, claim.verdict)
        if claim.verdict == "exhausted":  # the claim failed the whole document
            exhausted(job_id)
        return claim.verdict
    job = patiently(lambda: jobs.get(job_id))
    data = patiently(lambda: jobs.upload(job_id))
    if job is None or data is None or not job.document:
        fail(job_id, "upload_expired", "the upload expired before a worker was free", job)
        return "failed"
    document = DocumentInfo.from_dict(job.document)
    try:
        if settings.fault_injection and job.options.get("fault"):
            inject_fault(job.options["fault"])
        start = time.perf_counter()
        image, dpi = render_page(data, document, page, settings.max_image_pixels)
        render_ms = (time.perf_counter() - start) * 1000
        result = engine().run_array(image, enhance=job.options.get("enhance"))
    except OcrqError as exc:
        fail(job_id, exc.code, f"page {page}: {exc.message}", job)
        return "failed"
    except SoftTimeLimitExceeded:
        fail(job_id, "timeout", f"page {page} ran longer than {settings.task_soft_time_limit} s", job)
        return "failed"
    except Exception:
        log.exception("job %s page %d failed unexpectedly", job_id, page)
        fail(job_id, "internal_error", f"page {page}: the worker failed to process this page", job)
        return "failed"
    engine_result = result.to_dict()
    timings = {"render": round(render_ms, 2), **engine_result["timings_ms"]}
    timings["total"] = round(render_ms + engine_result["timings_ms"].get("total", 0.0), 2)
    record = {
        "page": page, "width": result.width, "height": result.height, "text": result.text,
        "lines": engine_result["lines"], **({"dpi": dpi} if dpi else {}),
        "attempts": claim.attempts, "worker": {"node": node, "pid": pid}, "timings_ms": timings,
    }
    head = {"format": document.format, "page_count": document.pages, **({"dpi": document.dpi} if dpi else {}),
            "enhance": result.enhance, "model": result.model}
    metrics.engine_timings(timings)  # per page: render, det, rec, ...
    outcome = patiently(lambda: pages.record(job_id, page, record, head))
    if outcome == "assembled":  # this page completed the document, and so the job
        metrics.job_finished(job, "succeeded")
        notify(job_id, job)
    log.info("job %s page %d/%d %s in %.0f ms (pid %d, attempt %d)", job_id, page, document.pages,
             outcome, timings["total"], pid, claim.attempts)
    return outcome
