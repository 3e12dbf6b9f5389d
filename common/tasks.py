"""Task and queue names, and the Celery configuration both sides share.

The API enqueues by name (``send_task``) and never imports the worker; the worker registers tasks under
these names. JSON only: a pickle payload from a broker is code execution.
"""

from __future__ import annotations

import ssl
from urllib.parse import parse_qsl, urlsplit

from ocrq.config import Settings
from ocrq.errors import ConfigError
from ocrq.store.connection import redis_url

OCR_TASK = "ocrq.ocr"
# One page of a multi-page document (worker/documents.py); ocrq.ocr splits a document into these.
PAGE_TASK = "ocrq.page"
# Delivering a finished job to its callback_url (worker/webhooks.py), on a queue of its own.
WEBHOOK_TASK = "ocrq.webhook"
OCR_QUEUE = "ocr"
WEBHOOK_QUEUE = "webhooks"
# A job's priority is the queue its tasks go to (its pages' too).
PRIORITY_QUEUES = {"high": "ocr.high", "normal": OCR_QUEUE, "low": "ocr.low"}
OCR_QUEUES = ("ocr.high", OCR_QUEUE, "ocr.low")
# What a worker consumes, in this order: with queue_order_strategy "priority" kombu's Redis transport
# asks for these lists in one BRPOP, which takes from the first non-empty one, every time (the default,
# round_robin, would rotate the order after each message). Webhooks first: a delivery is short (at most
# OCRQ_WEBHOOK_TIMEOUT) and would otherwise wait for the whole OCR backlog.
WORKER_QUEUES = (WEBHOOK_QUEUE, *OCR_QUEUES)
# How send_task retries a broker that does not take a message (about 1 s in all), then raises to its caller.
SEND_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}


def page_task_id(job_id: str, page: int) -> str:
    """The task id of a document page: fixed, so the reconciler can look for its message in the broker."""
    return f"{job_id}:p{page}"


def webhook_task_id(job_id: str) -> str:
    """The task id of a job's webhook delivery (its retries keep it): the reconciler looks for it."""
    return f"{job_id}:webhook"


def consumed_queues(spec: str) -> tuple[str, ...]:
    """The broker queues of OCRQ_WORKER_QUEUES (``webhooks``, ``ocr`` or both), in the order a worker
    must ask for them: webhooks first, then OCR by priority."""
    names = {name.strip() for name in spec.split(",")}
    return tuple(q for q in WORKER_QUEUES if (q == WEBHOOK_QUEUE and "webhooks" in names)
                 or (q in OCR_QUEUES and "ocr" in names))


def consumes_ocr(spec: str) -> bool:
    """Whether a worker with this OCRQ_WORKER_QUEUES runs OCR (and so needs the model loaded)."""
    return OCR_QUEUE in consumed_queues(spec)


def queue_for(priority: str | None) -> str:
    """The queue of a job's tasks, from its ``priority`` option (none: an older job, normal)."""
    return PRIORITY_QUEUES.get(priority or "normal", OCR_QUEUE)


def broker_ssl(url: str) -> dict | None:
    """TLS options for a ``rediss://`` broker, as redis-py reads the same URL: the certificate is required
    unless ``ssl_cert_reqs`` says otherwise; ``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile`` pass on.
    (Kombu alone connects to a bare ``rediss://`` URL without checking the server's certificate.)"""
    parts = urlsplit(url)
    if parts.scheme != "rediss":
        return None
    options: dict = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    levels = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}
    for name, value in parse_qsl(parts.query):
        if name == "ssl_cert_reqs":
            key = value.lower().removeprefix("cert_")
            if key not in levels:
                raise ConfigError(
                    f"REDIS_URL: ssl_cert_reqs must be none, optional or required, not {value!r}")
            options[name] = levels[key]
        elif name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
            options[name] = value
    return options


def celery_config(settings: Settings) -> dict:
    """Celery settings for a broker on the configured Redis; no result backend (jobs live in JobStore)."""
    url = redis_url(settings)
    return {
        "broker_use_ssl": broker_ssl(url),
        "broker_url": url,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # a Redis restart is waited out, not fatal
        "broker_transport_options": {
            # Redis redelivers an unacknowledged task after this; longer than any task may run.
            "visibility_timeout": settings.visibility_timeout,
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
            "health_check_interval": 10,
            # consume the queues in the order given (WORKER_QUEUES), not round-robin: high jobs first
            "queue_order_strategy": "priority",
        },
        "broker_pool_limit": 10,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "event_serializer": "json",
        "task_default_queue": OCR_QUEUE,
        "task_routes": {OCR_TASK: {"queue": OCR_QUEUE}, PAGE_TASK: {"queue": OCR_QUEUE},
                        WEBHOOK_TASK: {"queue": WEBHOOK_QUEUE}},
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        "worker_send_task_events": False,
        "worker_hijack_root_logger": False,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "enable_utc": True,
    }
