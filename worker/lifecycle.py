"""Worker process lifecycle: load the engine once per process after fork, announce liveness, and run the
reconciler that re-enqueues jobs whose task vanished (common/reconcile.py)."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time

from celery.signals import worker_process_init, worker_ready, worker_shutdown

from ocrq.config import get_settings
from ocrq.jobs import worker_key
from ocrq.queue import JobQueue
from ocrq.reconcile import Reconciler
from ocrq.redis_client import connect
from ocrq.tasks import consumes_ocr
from ocrq.worker import metrics

log = logging.getLogger("ocrq.worker")
HEARTBEAT_SECONDS = 5
_engine = None
_stop = threading.Event()


def engine():
    """This process's engine, loaded on first use if the pool did not fork (solo/threads pools)."""
    global _engine
    if _engine is None:
        from ocrq.ocr import OcrEngine  # the API never reaches this import

        settings = get_settings()
        processes = settings.worker_concurrency or os.cpu_count() or 1
        _engine = OcrEngine.from_settings(settings, processes=processes)
        log.info("model %s loaded in %.2f s (pid %d, %d onnxruntime threads)",
                 _engine.pack.name, _engine.load_seconds, os.getpid(), _engine.threads)
        metrics.model_loaded(_engine.pack.name, _engine.load_seconds)
    return _engine


@worker_process_init.connect
def _load_engine_after_fork(**_: object) -> None:
    if consumes_ocr(get_settings().worker_queues):
        engine()
    else:
        log.info("no OCR queue in OCRQ_WORKER_QUEUES: no model loaded (pid %d)", os.getpid())


def _heartbeat(hostname: str) -> None:
    """Refresh this worker's liveness key until shutdown; /readyz counts these keys."""
    settings = get_settings()
    client = connect(settings)
    info = json.dumps({"hostname": hostname, "pid": os.getpid(), "host": socket.gethostname(),
                       "concurrency": settings.worker_concurrency, "started": time.time()})
    while not _stop.is_set():
        try:
            client.set(worker_key(hostname), info, ex=3 * HEARTBEAT_SECONDS)
        except Exception as exc:  # Redis restarting: keep trying, never kill the worker over it
            log.warning("heartbeat failed: %s", type(exc).__name__)
        _stop.wait(HEARTBEAT_SECONDS)
    try:
        client.delete(worker_key(hostname))
    except Exception:  # noqa: S110 - best effort on the way out
        pass


def _reconcile(hostname: str) -> None:
    """Every OCRQ_RECONCILE_INTERVAL seconds, re-enqueue jobs (pages, webhooks) whose task vanished (one
    node at a time)."""
    settings = get_settings()
    queue = JobQueue(settings)
    reconciler = Reconciler(queue.store, queue.enqueue, hostname, settings.reconcile_interval,
                            enqueue_page=queue.enqueue_page, enqueue_webhook=queue.enqueue_webhook)
    while not _stop.wait(settings.reconcile_interval):
        try:
            reconciler.run_once()
        except Exception as exc:  # Redis restarting: try again next time, never kill the worker over it
            log.warning("reconciler pass failed: %s", type(exc).__name__)


@worker_ready.connect
def _start_heartbeat(sender: object = None, **_: object) -> None:
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    threading.Thread(target=_heartbeat, args=(hostname,), name="ocrq-heartbeat", daemon=True).start()
    threading.Thread(target=_reconcile, args=(hostname,), name="ocrq-reconciler", daemon=True).start()


@worker_shutdown.connect
def _stop_heartbeat(**_: object) -> None:
    _stop.set()
