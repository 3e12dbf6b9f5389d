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
from ocrq.dispatch import TaskDispatcher
from ocrq.errors import QueueFull, ServiceUnavailable
from ocrq.store import BrokerView, Job, JobStore, WebhookOutbox, WorkerRegistry, connect
from ocrq.store.quotas import QuotaStore
from ocrq.tasks import WORKER_QUEUES, celery_config, page_task_id
from ocrq.webhooks import send_webhook

log = logging.getLogger("ocrq.queue")


class JobQueue:
    """The producer side: ``submit`` a job under the limits, see how many wait, cancel."""

    def __init__(self, settings: Settings, client: redis.Redis | None = None) -> None:
        self.settings = settings
        self.redis = client or connect(settings)
        self.store = JobStore(self.redis, settings.job_ttl_seconds, settings.upload_ttl_seconds)
        self.broker = BrokerView(self.redis, WORKER_QUEUES, settings.visibility_timeout)
        self.workers = WorkerRegistry(self.redis)
        self.celery = Celery("ocrq-api", set_as_current=False)
        self.celery.conf.update(celery_config(settings))
        self.dispatcher = TaskDispatcher(self.redis, self.celery, settings.key_in_flight)
        self.quotas = QuotaStore(self.redis)

    def depths(self) -> dict[str, int]:
        """Tasks waiting in each broker queue, read at once (held ones are not there yet)."""
        return self.broker.depths()

    def depth(self) -> int:
        """Jobs waiting (not started; held ones included), all keys: what back-pressure counts."""
        return self.quotas.count()

    def check_limits(self, owner: str, jobs: int = 1) -> None:
        """QueueFull (``key_queue_full``, ``key_rate_limited`` or ``queue_full``) unless ``owner`` may
        submit ``jobs`` more; counts them in this minute if so (a batch checks once for all its files)."""
        settings = self.settings
        verdict = self.quotas.check(owner, jobs, settings.max_queue_depth, settings.key_max_queued,
                                    settings.key_jobs_per_minute)
        if verdict.limit == "key_queue_full":
            raise QueueFull(f"this API key has {settings.key_max_queued} jobs waiting, its limit "
                            "(OCRQ_KEY_MAX_QUEUED); retry later", code=verdict.limit,
                            retry_after=verdict.retry_after)
        if verdict.limit == "key_rate_limited":
            raise QueueFull(f"this API key may submit {settings.key_jobs_per_minute} jobs a minute "
                            f"(OCRQ_KEY_JOBS_PER_MINUTE); retry in {verdict.retry_after} s",
                            code=verdict.limit, retry_after=verdict.retry_after)
        if not verdict.ok:
            raise QueueFull(f"the server holds {settings.max_queue_depth} or more jobs waiting; retry later",
                            retry_after=verdict.retry_after)

    def submit(self, data: bytes, options: dict[str, Any], owner: str = "", document: dict | None = None,
               check_depth: bool = True, request_id: str = "") -> Job:
        """Store one job (``document``: a PDF or multi-page TIFF, see common/documents.py) and admit it:
        sent, or held while its key has its cap of tasks in flight; QueueFull over a limit
        (``check_depth`` False: the caller checked, as a batch does once). ``request_id``: the
        X-Request-Id that made it, for its workers' log lines."""
        if check_depth:
            self.check_limits(owner)
        job_id = str(uuid.uuid4())
        job = self.store.create(job_id, data, options, owner, document, request_id=request_id,
                                keep_upload=self.settings.keep_uploads)
        self.quotas.waiting(owner, job_id)
        try:
            self.dispatcher.admit_job(owner, job_id, options.get("priority", "normal"))
        except Exception as exc:  # the broker refused: the job must not exist half-made
            with contextlib.suppress(redis.RedisError):
                self.dispatcher.shares.unhold(owner, [job_id])
                self.dispatcher.shares.land(owner, [job_id])
                self.quotas.started(owner, job_id)
                self.store.discard(job_id)
            raise ServiceUnavailable("the job queue is unavailable; retry later") from exc
        return job

    def enqueue(self, job_id: str) -> None:
        """Send the task of a stored job again (the reconciler found its message gone), to the queue of
        the job's priority; a job that was never admitted (its submission was cut short) is admitted."""
        owner = self.dispatcher.shares.owner_of(job_id)
        if owner is not None:
            self.dispatcher.resend(owner, job_id, self.store.priority(job_id))

    def enqueue_page(self, job_id: str, page: int) -> None:
        """Send the task of one page of a document again (the reconciler found its message gone)."""
        owner = self.dispatcher.shares.owner_of(job_id)
        if owner is not None:
            self.dispatcher.resend(owner, page_task_id(job_id, page), self.store.priority(job_id))

    def release(self, owner: str) -> list[str]:
        """Send ``owner``'s next held tasks if it has room (the reconciler's repair of a missed release)."""
        return self.dispatcher.release(owner)

    def enqueue_webhook(self, job_id: str) -> None:
        """Send the webhook task of a job whose webhook is due (it was canceled here, or the reconciler
        found the task gone)."""
        send_webhook(self.celery, job_id)

    def cancel(self, job_id: str, owner: str = "", notify: bool = True) -> str:
        """Cancel a queued or running job, or delete a finished one (``JobStore.cancel``); a canceled job
        with a callback_url gets its webhook (if the broker fails now, the reconciler sends it). A held
        job (or held pages) leaves its key's queue: that frees no slot, so nothing else is released."""
        job = self.store.get(job_id, owner)
        outcome = self.store.cancel(job_id, owner, notify)
        if outcome == "canceled" and job is not None:
            pages = int((job.document or {}).get("pages") or 0)
            tasks = [job_id, *(page_task_id(job_id, page) for page in range(1, pages + 1))]
            self.dispatcher.shares.unhold(owner, tasks)
            self.quotas.started(owner, job_id)
        if outcome == "canceled" and notify and WebhookOutbox(self.redis).due_since(job_id) is not None:
            try:
                self.enqueue_webhook(job_id)
            except Exception as exc:
                log.warning("job %s: webhook task not sent (%s); the reconciler will send it",
                            job_id, type(exc).__name__)
        return outcome
