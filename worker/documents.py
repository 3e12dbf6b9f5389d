"""Multi-page documents (PDF, multi-page TIFF): one job, one task per page, spread over every worker.

``ocrq.ocr`` claims a document job like any other, then :func:`split_document` sends one ``ocrq.page``
task per page not recorded yet and hands the job over to its pages. Each page task renders its own page
from the upload (ocrq/documents.py), so pages are rendered in parallel and nothing but the upload is
stored; it is ``acks_late`` and idempotent like ``ocrq.ocr``: its claim skips a page already recorded and
counts deliveries (a page that keeps killing its worker fails the document after OCRQ_MAX_ATTEMPTS), and
the page that completes the document assembles the result in the same Lua script that records it
(ocrq/store/pages.py), so the result is written once whatever is redelivered.
"""

from __future__ import annotations

import logging
import os
import time

from ocrq.documents import DocumentInfo, render_page
from ocrq.store import Job
from ocrq.store.lua import now_iso
from ocrq.tasks import PAGE_TASK
from ocrq.worker import metrics
from ocrq.worker.base import OcrqTask
from ocrq.worker.celery_app import app
from ocrq.worker.faults import inject_fault

log = logging.getLogger("ocrq.worker")


def split_document(task: OcrqTask, job: Job) -> str:
    """``ocrq.ocr`` for a claimed document: admit a task for every page without a result (sent as far as
    its key's cap allows, held after that), then let the pages carry the job (from then on the reconciler
    watches each page, not this node)."""
    job_id, pages = job.job_id, task.pages
    if not task.patiently(lambda: task.jobs.has_upload(job_id)):
        raise task.upload_expired(job_id, job)
    total = int((job.document or {})["pages"])
    todo = [state.page for state in task.patiently(lambda: pages.unfinished(job_id, total))]
    try:  # in page order, at the job's priority and place in its key's line
        task.dispatcher.admit_pages(job.owner, job_id, job.options.get("priority"), todo)
    finally:  # even if the broker failed half-way: the reconciler then re-sends the missing pages
        task.patiently(lambda: pages.split_done(job_id))
    log.info("job %s: %d page tasks admitted (%d pages)", job_id, len(todo), total)
    return "split"


@app.task(name=PAGE_TASK, base=OcrqTask, bind=True)
def ocr_page(self: OcrqTask, job_id: str, page: int) -> str:
    """OCR page ``page`` (1-based) of document job ``job_id`` and record it; the last one ends the job."""
    settings, jobs, pages = self.settings, self.jobs, self.pages
    node, pid = self.request.hostname or "", os.getpid()
    if not isinstance(page, int) or isinstance(page, bool):  # the broker is not trusted with types
        log.warning("job %s: page task with a page that is not a number, skipped", job_id)
        return "invalid"
    claim = self.patiently(lambda: pages.claim(job_id, page, settings.max_attempts, node, pid))
    started_at = now_iso()
    if claim.verdict == "exhausted":  # the claim failed the whole document
        raise self.exhausted(job_id, settings.max_attempts)
    if not claim.should_run:
        log.info("job %s page %s skipped: %s", job_id, page, claim.verdict)
        return claim.verdict
    job = self.patiently(lambda: jobs.get(job_id))
    data = self.patiently(lambda: jobs.upload(job_id))
    if job is None or data is None or not job.document:
        raise self.upload_expired(job_id, job)
    document = DocumentInfo.from_dict(job.document)
    with self.failing(job_id, job, where=f"page {page}: "):
        if settings.fault_injection and job.options.get("fault"):
            inject_fault(job.options["fault"])
        start = time.perf_counter()
        # a PDF page is rendered within the engine's working budget (a bounded worker: SECURITY.md)
        image, dpi = render_page(data, document, page, settings.max_image_pixels,
                                 self.engine.options.working_pixels)
        render_ms = (time.perf_counter() - start) * 1000
        result = self.engine.run_array(image, enhance=job.options.get("enhance"),
                                       chars=bool(job.options.get("chars")))
    engine_result = result.to_dict()
    timings = {"render": round(render_ms, 2), **engine_result["timings_ms"]}
    timings["total"] = round(render_ms + engine_result["timings_ms"].get("total", 0.0), 2)
    record = {
        "page": page, "width": result.width, "height": result.height, "text": result.text,
        "angle": result.angle,
        "lines": engine_result["lines"], "blocks": engine_result["blocks"], **({"dpi": dpi} if dpi else {}),
        "attempts": claim.attempts, "worker": {"node": node, "pid": pid}, "started_at": started_at,
        "timings_ms": timings,
    }
    head = {"format": document.format, "page_count": document.pages, **({"dpi": document.dpi} if dpi else {}),
            "enhance": result.enhance, "model": result.model}
    metrics.engine_timings(timings)  # per page: render, det, rec, ...
    outcome = self.patiently(lambda: pages.record(job_id, page, record, head))
    if outcome == "assembled":  # this page completed the document, and so the job
        self.ended(job_id, job, "succeeded")
    log.info("job %s page %d/%d %s in %.0f ms (pid %d, attempt %d)", job_id, page, document.pages,
             outcome, timings["total"], pid, claim.attempts)
    return outcome
