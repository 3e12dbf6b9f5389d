"""What a worker sets up before anything else, through Celery's signals: JSON logs (Celery's own loggers
too), the metrics directory its pool's processes share, and the metrics endpoint of the main process. The
job and task ids are bound to a task's log lines by the base task (ocrq/worker/base.py).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import time
from typing import Any

import celery.apps.worker
from celery import signals

from ocrq import logs, metrics_dir
from ocrq.config import get_settings
from ocrq.store.connection import redact, redis_url

log = logging.getLogger("ocrq.worker")


@signals.import_modules.connect
def _metrics_dir(**_: Any) -> None:
    """Before the task modules are imported (they import prometheus_client, which reads the variable
    once): a directory of this run's own, shared by the pool's children, unless one was given."""
    metrics_dir.ensure("worker")
    atexit.register(metrics_dir.release)


def _say(msg: str, f: Any = None) -> None:
    """Celery writes a few notices ("Warm shutdown") straight to stderr from its signal handlers, where
    logging could deadlock; this writes them as one JSON line, with the same lock-free ``os.write``."""
    line = json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": "warning",
                       "logger": "celery.apps.worker", "message": msg.strip(), "pid": os.getpid()})
    try:
        os.write(2, (line + "\n").encode())
    except OSError:
        pass


@signals.celeryd_init.connect  # early: before the warnings of the worker's start (running as root, ...)
@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    """A receiver here means Celery configures no logging of its own (nor redirects stdout): every
    logger, Celery's and billiard's included, and Python's warnings go through one handler on stderr."""
    settings = get_settings()
    handler = logs.configure(settings.log_level, settings.log_format)
    from celery.utils.log import get_multiprocessing_logger

    pool_log = get_multiprocessing_logger()  # billiard's ("Process ... exited with ..."): no propagation
    pool_log.handlers = [handler]
    pool_log.setLevel(logging.ERROR)
    celery.apps.worker.safe_say = _say


@signals.worker_ready.connect
def _ready(sender: Any = None, **_: Any) -> None:
    from ocrq.worker import metrics

    settings = get_settings()
    hostname = getattr(sender, "hostname", None) or ""
    log.info("worker %s ready", hostname, extra={
        "hostname": hostname, "concurrency": settings.worker_concurrency,
        "broker": redact(redis_url(settings)), "model_pack": settings.model_pack,
    })
    metrics.serve(settings)
