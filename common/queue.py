"""Submitting jobs: store the upload and the record, then enqueue the task by name.

Used by the API; it needs Redis and Celery's client side only, never the engine.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any

import redis
from celery import Celery

from ocrq.config import Settings
from ocrq.errors import QueueFull, ServiceUnavailable
from ocrq.store import BrokerView, Job, JobStore, WebhookOutbox, WorkerRegistry, connect
from ocrq.tasks import (
    OCR_QUEUES,
    OCR_TASK,
    PAGE_TASK,
    SEND_RETRY_POLICY,
    WORKER_QUEUES,
    celery_config,
    page_task_id,
    queue_for,
)
from ocrq.webhooks import send_webhook

log = logging.getLogger("ocrq.queue")


class JobQueue:
    """The producer side: ``submit`` a job, see how deep the queue is."""

    def __init__(self, settings: Settings, client: redis.Redis | None = None) -> None:
        self.settings = settings
        self.redis = client or connect(settings)
        self.store = JobStore(self.redis, settings.job_ttl_seconds, settings.upload_ttl_seconds)
        self.broker = BrokerView(self.redis, WORKER_QUEUES, settings.visibility_timeout)
        self.workers = WorkerRegistry(self.redis)
        self.celery = Celery("ocrq-api", set_as_current=False)
        self.celery.conf.update(celery_config(settings))

    def depths(self) -> dict[str, int]:
        """Tasks waiting in each broker queue, read at once."""
        return self.broker.depths()

    def depth(self) -> int:
        """OCR tasks waiting, every priority together (what back-pressure counts; webhooks are not OCR)."""
        depths = self.depths()
        return sum(depths[queue] for queue in OCR_QUEUES)

    def check_depth(self) -> None:
        """QueueFull when the backlog is over the limit (a batch checks once, before its first item)."""
        if self.depth() >= self.settings.max_queue_depth:
            raise QueueFull(
                f"the queue holds {self.settings.max_queue_depth} or more jobs; retry later"
            )

    def submit(self, data: bytes, options: dict[str, Any], owner: str = "", document: dict | None = None,
               check_depth: bool = True, request_id: str = "") -> Job:
        """Store and enqueue one job (``document``: a PDF or multi-page TIFF, see common/documents.py);
        refuse with QueueFull when the backlog is over the limit. ``request_id``: the X-Request-Id that
        made it, for its workers' log lines."""
        if check_depth:
            self.check_depth()
        job_id = str(uuid.uuid4())
        job = self.store.create(job_id, data, options, owner, document, request_id=request_id,
                                keep_upload=self.settings.keep_uploads)
        try:
            self.enqueue(job_id, options.get("priority", "normal"))
        except Exception as exc:  # the broker refused: the job must not exist half-made
            with contextlib.suppress(redis.RedisError):
                self.store.discard(job_id)
            raise ServiceUnavailable("the job queue is unavailable; retry later") from exc
        return job

    def enqueue(self, job_id: str, priority: str | None = None) -> None:
        """Send the task for a stored job to its priority's queue (again, when the reconciler finds its
        message gone: then the priority is read from the job)."""
        queue = queue_for(priority if priority is not None else self.store.priority(job_id))
        self.celery.send_task(OCR_TASK, args=[job_id], task_id=job_id, queue=queue, retry=True,
                              retry_policy=SEND_RETRY_POLICY)

    def enqueue_page(self, job_id: str, page: int) -> None:
        """Send the task of one page of a document again (the reconciler found its message gone)."""
        self.celery.send_task(PAGE_TASK, args=[job_id, page], task_id=page_task_id(job_id, page),
                              queue=queue_for(self.store.priority(job_id)), retry=True,
                              retry_policy=SEND_RETRY_POLICY)

    def enqueue_webhook(self, job_id: str) -> None:
        """Send the webhook task of a job whose webhook is due (it was canceled here, or the reconciler
        found the task gone)."""
        send_webhook(self.celery, job_id)

    def cancel(self, job_id: str, owner: str = "") -> str:
        """Cancel a queued or running job, or delete a finished one (``JobStore.cancel``); a canceled job
        with a callback_url gets its webhook (if the broker fails now, the reconciler sends it)."""
        outcome = self.store.cancel(job_id, owner)
        if outcome == "canceled" and WebhookOutbox(self.redis).due_since(job_id) is not None:
            try:
                self.enqueue_webhook(job_id)
            except Exception as exc:
                log.warning("job %s: webhook task not sent (%s); the reconciler will send it",
                            job_id, type(exc).__name__)
        return outcome
