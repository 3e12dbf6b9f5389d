"""The base of every ocrq task: what a task needs besides its own few steps.

It owns this process's stores and engine, waits out a Redis restart (``patiently``), turns whatever a job's
work raises into the job's failure (``failing``: an OcrqError's code, ``timeout``, ``internal_error``),
counts the end of a job and sends its webhook, and binds the job and task ids to every log line. A task
whose job failed raises :class:`JobFailed` after recording it, so Celery and Flower report ``FAILURE`` for
it, not ``SUCCESS``; it is an expected error (``throws``), logged in one line without a traceback.

Every ocrq task takes the job id as its first argument. The options of every task are declared here, once:
``acks_late`` with ``reject_on_worker_lost`` (a task whose process dies goes back to the queue), a failed
or timed-out task acknowledged (its job is recorded as failed; a task that ended without ending its job is
the reconciler's to send again), no result backend (jobs live in the JobStore).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import redis
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from ocrq import logs
from ocrq.config import Settings, get_settings
from ocrq.dispatch import TaskDispatcher
from ocrq.errors import OcrqError
from ocrq.store import BrokerView, Job, JobStore, PageStore, connect
from ocrq.store.quotas import QuotaStore
from ocrq.tasks import OCR_TASK, PAGE_TASK, WORKER_QUEUES
from ocrq.webhooks import WebhookDelivery, send_webhook
from ocrq.worker import metrics

if TYPE_CHECKING:
    from ocrq.ocr import OcrEngine

log = logging.getLogger("ocrq.worker")
T = TypeVar("T")
REDIS_PATIENCE = 90.0  # seconds a task waits out a Redis restart before it gives up (the reconciler mends)


class JobFailed(Exception):
    """The job this task ran has been recorded as failed (``code``); raised so Celery's state agrees."""

    def __init__(self, job_id: str, code: str, message: str) -> None:
        super().__init__(job_id, code, message)  # args rebuild it: Celery pickles and re-raises it
        self.job_id, self.code, self.message = job_id, code, message

    def __str__(self) -> str:
        return f"job {self.job_id} failed: {self.code}: {self.message}"


class OcrqTask(Task):
    """Base task: per-process stores and engine, Redis patience, the fail ladder, metrics, log context."""

    acks_late = True
    reject_on_worker_lost = True
    acks_on_failure_or_timeout = True  # a failed job is recorded as such: its message must not come back
    ignore_result = True
    throws = (JobFailed,)
    _engine: ClassVar[OcrEngine | None] = None  # one per worker process, shared by its tasks

    # --- what the process holds (made on first use, after the pool forked) ---

    @property
    def settings(self) -> Settings:
        return get_settings()

    @cached_property
    def jobs(self) -> JobStore:
        settings = self.settings
        return JobStore(connect(settings), settings.job_ttl_seconds, settings.upload_ttl_seconds)

    @cached_property
    def pages(self) -> PageStore:
        return PageStore(self.jobs.redis, self.settings.job_ttl_seconds)

    @cached_property
    def broker(self) -> BrokerView:
        return BrokerView(self.jobs.redis, WORKER_QUEUES, self.settings.visibility_timeout)

    @cached_property
    def dispatcher(self) -> TaskDispatcher:
        return TaskDispatcher(self.jobs.redis, self.app, self.settings.key_in_flight)

    @cached_property
    def quotas(self) -> QuotaStore:
        return QuotaStore(self.jobs.redis)

    @cached_property
    def delivery(self) -> WebhookDelivery:
        return WebhookDelivery(self.settings, self.jobs)

    @property
    def engine(self) -> OcrEngine:
        return OcrqTask.load_engine()

    @staticmethod
    def load_engine() -> OcrEngine:
        """This process's engine, loaded once (after fork, or on first use in a pool that does not fork)."""
        if OcrqTask._engine is None:
            from ocrq.ocr import OcrEngine  # the API never reaches this import

            settings = get_settings()
            processes = settings.worker_concurrency or os.cpu_count() or 1
            engine = OcrEngine.from_settings(settings, processes=processes)
            log.info("model %s loaded in %.2f s (pid %d, %d onnxruntime threads)",
                     engine.pack.name, engine.load_seconds, os.getpid(), engine.threads)
            metrics.model_loaded(engine.pack.name, engine.load_seconds)
            OcrqTask._engine = engine
        return OcrqTask._engine

    # --- around every run: log context, the reservation it no longer needs, its key's next task ---

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        job_id = (kwargs or {}).get("job_id") or (args[0] if args else None)
        request_id = None
        if isinstance(job_id, str):  # the X-Request-Id that made the job: the API's lines and these match
            with contextlib.suppress(redis.RedisError):  # a Redis that is down is met (patiently) below
                request_id = self.jobs.request_id(job_id) or None
        logs.set_context(job_id=job_id, task_id=task_id, task=self.name, request_id=request_id)

    def after_return(self, status: str, retval: Any, task_id: str, args: Any, kwargs: Any,
                     einfo: Any) -> None:
        try:
            self.broker.release(task_id)
        except redis.RedisError:  # it expires on its own
            pass
        if self.name in (OCR_TASK, PAGE_TASK) and args and isinstance(args[0], str):
            try:  # its slot is free: the owner's next held task goes (else the reconciler sends it)
                self.dispatcher.task_returned(args[0], task_id)
            except Exception as exc:
                log.warning("job %s: next held task not released (%s); the reconciler will",
                            args[0], type(exc).__name__)
        logs.clear_context()

    # --- helpers of the task bodies ---

    @staticmethod
    def patiently(action: Callable[[], T], seconds: float = REDIS_PATIENCE) -> T:
        """Run a Redis action, waiting out a Redis restart instead of failing (or losing) the job; past
        ``seconds`` the error propagates and the reconciler sends the task again later."""
        deadline, delay = time.monotonic() + seconds, 0.2
        while True:
            try:
                return action()
            except (redis.ConnectionError, redis.TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def fail(self, job_id: str, code: str, message: str, job: Job | None = None) -> JobFailed:
        """Record that the job failed (counted and its webhook sent if this call ended it); the exception
        for the task to raise."""
        if self.patiently(lambda: self.jobs.fail(job_id, code, message)):
            self.ended(job_id, job, "failed", code)
        return JobFailed(job_id, code, message)

    def ended(self, job_id: str, job: Job | None, status: str, code: str = "") -> None:
        """This process ended the job: count it, and send its webhook task if it may have a callback_url
        (the script that ended it made the webhook due; a failure to send is the reconciler's to mend)."""
        metrics.job_finished(job, status, code)
        if job is not None and not job.options.get("callback_url"):
            return
        try:
            send_webhook(self.app, job_id)
        except Exception as exc:
            log.warning("job %s: webhook task not sent (%s); the reconciler will send it",
                        job_id, type(exc).__name__)

    def exhausted(self, job_id: str, max_attempts: int) -> JobFailed:
        """A claim just failed the job (``worker_lost`` after OCRQ_MAX_ATTEMPTS deliveries)."""
        self.ended(job_id, self.patiently(lambda: self.jobs.get(job_id)), "failed", "worker_lost")
        return JobFailed(job_id, "worker_lost", f"given up after {max_attempts} deliveries")

    @contextmanager
    def failing(self, job_id: str, job: Job | None, where: str = "") -> Iterator[None]:
        """Run a job's work: whatever it raises fails the job (``where`` prefixes the message, e.g.
        ``page 3: ``) and is raised again as JobFailed."""
        try:
            yield
        except OcrqError as exc:
            raise self.fail(job_id, exc.code, f"{where}{exc.message}", job) from exc
        except SoftTimeLimitExceeded as exc:
            limit = self.settings.task_soft_time_limit
            raise self.fail(job_id, "timeout", f"{where}ran longer than {limit} s", job) from exc
        except Exception as exc:
            log.exception("job %s failed unexpectedly", job_id)
            raise self.fail(job_id, "internal_error", f"{where}the worker failed to process it", job) from exc

    def upload_expired(self, job_id: str, job: Job | None) -> JobFailed:
        return self.fail(job_id, "upload_expired", "the upload expired before a worker was free", job)
