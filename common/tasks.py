"""Task and queue names, and the Celery configuration both sides share.

The API enqueues by name (``send_task``) and never imports the worker; the worker registers tasks under
these names. JSON only: a pickle payload from a broker is code execution.
"""

from __future__ import annotations

from common.config import Settings
from common.redis_client import redis_url

OCR_TASK = "ocrq.ocr"
OCR_QUEUE = "ocr"


def celery_config(settings: Settings) -> dict:
    """Celery settings for a broker on the configured Redis; no result backend (jobs live in JobStore)."""
    url = redis_url(settings)
    return {
        "broker_url": url,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # a Redis restart is waited out, not fatal
        "broker_transport_options": {
            # Redis redelivers an unacknowledged task after this; longer than any task may run.
            "visibility_timeout": settings.visibility_timeout,
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
            "health_check_interval": 10,
        },
        "broker_pool_limit": 10,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "event_serializer": "json",
        "task_ignore_result": True,
        "task_default_queue": OCR_QUEUE,
        "task_routes": {OCR_TASK: {"queue": OCR_QUEUE}},
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        "worker_send_task_events": False,
        "worker_hijack_root_logger": False,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "enable_utc": True,
    }
