"""The OCR task: claim the job, fetch its upload, run the engine, record the outcome. Idempotent.

A document (PDF, multi-page TIFF) is claimed the same way, then split into one task per page
(ocrq/worker/documents.py). The base task (ocrq/worker/base.py) holds the stores and the engine and turns
a failure into the job's.
"""

from __future__ import annotations

import logging

from ocrq.tasks import OCR_TASK
from ocrq.worker import metrics
from ocrq.worker.base import OcrqTask
from ocrq.worker.celery_app import app
from ocrq.worker.documents import split_document
from ocrq.worker.faults import inject_fault

log = logging.getLogger("ocrq.worker")


@app.task(name=OCR_TASK, base=OcrqTask, bind=True)
def ocr_job(self: OcrqTask, job_id: str) -> str:
    """Run job ``job_id``; a redelivered job that already finished (or was canceled) is skipped."""
    settings, jobs = self.settings, self.jobs
    node = self.request.hostname or ""  # the reconciler re-sends the job if this node disappears
    claim = self.patiently(lambda: jobs.claim(job_id, settings.max_attempts, node))
    if claim.verdict == "exhausted":
        raise self.exhausted(job_id, settings.max_attempts)
    if not claim.should_run:
        log.info("job %s skipped: %s", job_id, claim.verdict)
        return claim.verdict
    job = self.patiently(lambda: jobs.get(job_id))
    if job is not None:  # started: no longer counted waiting against its key (the reconciler mends a miss)
        self.patiently(lambda: self.quotas.started(job.owner, job_id))
    if job is not None and job.document:  # a PDF or multi-page TIFF: one task per page
        return split_document(self, job)
    data = self.patiently(lambda: jobs.upload(job_id))
    if job is None or data is None:
        raise self.upload_expired(job_id, job)
    with self.failing(job_id, job):
        if settings.fault_injection and job.options.get("fault"):
            inject_fault(job.options["fault"])
        result = self.engine.run(data, enhance=job.options.get("enhance"),
                                 chars=bool(job.options.get("chars")))
    metrics.engine_timings(result.timings_ms)
    written = self.patiently(lambda: jobs.succeed(job_id, result.to_dict()))
    if written:
        self.ended(job_id, job, "succeeded")
    log.info("job %s %s in %.0f ms (attempt %d)", job_id, "succeeded" if written else "dropped (canceled)",
             result.timings_ms.get("total", 0.0), claim.attempts)
    return "succeeded" if written else "dropped"
