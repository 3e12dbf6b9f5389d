"""Submitting jobs: store the upload and the record, then enqueue the task by name.

Used by the API; it needs Redis and Celery's client side only, never the engine.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import redis
from celery import Celery

from common.config import Settings
from common.errors import QueueFull, ServiceUnavailable
from common.jobs import Job, JobStore
from common.redis_client import connect
from common.tasks import OCR_QUEUE, OCR_TASK, PAGE_TASK, celery_config, page_task_id


class JobQueue:
    """The producer side: ``submit`` a job, see how deep the queue is."""

    def __init__(self, settings: Settings, client: redis.Redis | None = None) -> None:
        self.settings = settings
        self.redis = client or connect(settings)
        self.store = JobStore(self.redis, settings.job_ttl_seconds, settings.upload_ttl_seconds)
        self.celery = Celery("ocrq-api", set_as_current=False)
        self.celery.conf.update(celery_config(settings))

    def depth(self) -> int:
        """Tasks waiting in the broker's queue (the Redis transport keeps a queue as a list)."""
        return int(self.redis.llen(OCR_QUEUE))

    def check_depth(self) -> None:
        """QueueFull when the backlog is over the limit (a batch checks once, before its first item)."""
        if self.depth() >= self.settings.max_queue_depth:
            raise QueueFull(
                f"the queue holds {self.settings.max_queue_depth} or more jobs; retry later"
            )

    def submit(self, data: bytes, options: dict[str, Any], owner: str = "", document: dict | None = None,
               check_depth: bool = True) -> Job:
        """Store and enqueue one job (``document``: a PDF or multi-page TIFF, see common/documents.py);
        refuse with QueueFull when the backlog is over the limit."""
        if check_depth:
            self.check_depth()
        job_id = str(uuid.uuid4())
        job = self.store.create(job_id, data, options, owner, document)
        try:
            self.enqueue(job_id)
        except Exception as exc:  # the broker refused: the job must not exist half-made
            with contextlib.suppress(redis.RedisError):
                self.store.discard(job_id)
            raise ServiceUnavailable("the job queue is unavailable; retry later") from exc
        return job

    def enqueue(self, job_id: str) -> None:
        """Send the task for a stored job (again, when the reconciler finds its message gone)."""
        self.celery.send_task(OCR_TASK, args=[job_id], task_id=job_id, queue=OCR_QUEUE,
                              retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2,
                                                        "interval_step": 0.5})

    def enqueue_page(self, job_id: str, page: int) -> None:
        """Send the task of one page of a document again (the reconciler found its message gone)."""
        self.celery.send_task(PAGE_TASK, args=[job_id, page], task_id=page_task_id(job_id, page),
                              queue=OCR_QUEUE, retry=True,
                              retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5})
