"""The OCR task: claim the job, fetch its upload, run the engine, record the outcome. Idempotent.

Whoever ends a job sends its webhook task (``notify``): the script that ended it made the webhook due."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from celery.exceptions import SoftTimeLimitExceeded

from ocrq.config import get_settings
from ocrq.errors import OcrqError
from ocrq.jobs import Job, JobStore
from ocrq.redis_client import connect
from ocrq.tasks import OCR_TASK
from ocrq.webhooks import send_webhook
from ocrq.worker import metrics
from ocrq.worker.celery_app import app
from ocrq.worker.lifecycle import engine

log = logging.getLogger("ocrq.worker")
T = TypeVar("T")
_store: JobStore | None = None


def store() -> JobStore:
    global _store
    if _store is None:
        settings = get_settings()
        _store = JobStore(connect(settings), settings.job_ttl_seconds, settings.upload_ttl_seconds)
    return _store


def patiently(action: Callable[[], T], seconds: float = 90.0) -> T:
    """Run a Redis action, waiting out a Redis restart instead of failing (or losing) the job."""
    deadline, delay = time.monotonic() + seconds, 0.2
    while True:
        try:
            return action()
        except (redis.ConnectionError, redis.TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def fail(job_id: str, code: str, message: str, job: Job | None = None) -> bool:
    """Record that the job failed, and count it if this call is what ended it (False: it had ended)."""
    written = patiently(lambda: store().fail(job_id, code, message))
    if written:
        metrics.job_finished(job, "failed", code)
        notify(job_id, job)
    return written


def notify(job_id: str, job: Job | None) -> None:
    """This process ended the job: send its webhook task if it has a callback_url (a job not read, None,
    may have one; the task finds nothing due if not). A failure here is the reconciler's to mend."""
    if job is not None and not job.options.get("callback_url"):
        return
    try:
        send_webhook(app, job_id)
    except Exception as exc:
        log.warning("job %s: webhook task not sent (%s); the reconciler will send it",
                    job_id, type(exc).__name__)


def exhausted(job_id: str) -> None:
    """A claim just failed the job (``worker_lost`` after OCRQ_MAX_ATTEMPTS deliveries): count it and send
    its webhook, as any other end of a job."""
    ended = patiently(lambda: store().get(job_id))
    metrics.job_finished(ended, "failed", "worker_lost")
    notify(job_id, ended)


def inject_fault(fault: str) -> None:
    """Test-only faults (OCRQ_FAULT_INJECTION=1): ``crash`` kills this process, ``sleep:N``, ``raise``."""
    if fault == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    elif fault.startswith("sleep:"):
        time.sleep(float(fault.split(":", 1)[1]))
    elif fault == "raise":
        raise RuntimeError("injected fault")


@app.task(name=OCR_TASK, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def ocr_job(self, job_id: str) -> str:
    """Run job ``job_id``; a redelivered job that already finished (or was canceled) is skipped."""
    settings, jobs = get_settings(), store()
    node = self.request.hostname or ""  # the reconciler re-enqueues the job if this node disappears
    claim = patiently(lambda: jobs.claim(job_id, settings.max_attempts, node))
    if not claim.should_run:
        log.info("job %s skipped: %s", job_id, claim.verdict)
        if claim.verdict == "exhausted":
            exhausted(job_id)
        return claim.verdict
    job = patiently(lambda: jobs.get(job_id))
    if job is not None and job.document:  # a PDF or multi-page TIFF: one task per page
        from ocrq.worker.documents import split_document  # here: ocrq.worker.documents imports this module

        return split_document(job)
    data = patiently(lambda: jobs.upload(job_id))
    if job is None or data is None:
        fail(job_id, "upload_expired", "the upload expired before a worker was free", job)
        return "failed"
    try:
        if settings.fault_injection and job.options.get("fault"):
            inject_fault(job.options["fault"])
        result = engine().run(data, enhance=job.options.get("enhance"))
    except OcrqError as exc:
        fail(job_id, exc.code, exc.message, job)
        return "failed"
    except SoftTimeLimitExceeded:
        fail(job_id, "timeout", f"the job ran longer than {settings.task_soft_time_limit} s", job)
        return "failed"
    except Exception:
        log.exception("job %s failed unexpectedly", job_id)
        fail(job_id, "internal_error", "the worker failed to process this image", job)
        return "failed"
    metrics.engine_timings(result.timings_ms)
    written = patiently(lambda: jobs.succeed(job_id, result.to_dict()))
    if written:
        metrics.job_finished(job, "succeeded")
        notify(job_id, job)
    log.info("job %s %s in %.0f ms (attempt %d)", job_id, "succeeded" if written else "dropped (canceled)",
             result.timings_ms.get("total", 0.0), claim.attempts)
    return "succeeded"
