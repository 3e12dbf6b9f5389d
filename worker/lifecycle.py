"""Worker process lifecycle: load the engine in each pool process after fork, announce liveness, note each
task message this node receives, and run the reconciler that re-sends lost tasks (ocrq/reconcile.py)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from celery.signals import task_received, worker_process_init, worker_ready, worker_shutdown

from ocrq.config import get_settings
from ocrq.queue import JobQueue
from ocrq.reconcile import Reconciler
from ocrq.store import WorkerRegistry, connect
from ocrq.store.workers import HEARTBEAT_SECONDS
from ocrq.tasks import consumes_ocr
from ocrq.worker.base import OcrqTask

log = logging.getLogger("ocrq.worker")
_engine = None
_stop = threading.Event()


@worker_process_init.connect
def _load_engine_after_fork(**_: object) -> None:
    if consumes_ocr(get_settings().worker_queues):
        OcrqTask.load_engine()
    else:
        log.info("no OCR queue in OCRQ_WORKER_QUEUES: no model loaded (pid %d)", os.getpid())


def _heartbeat(hostname: str, processes: int) -> None:
    """Report this node alive, with its OCR processes, every HEARTBEAT_SECONDS until shutdown (/readyz and
    the reconciler read it; the processes size each API key's default cap, ocrq/store/shares.py)."""
    registry = WorkerRegistry(connect(get_settings()))
    while not _stop.is_set():
        try:
            registry.beat(hostname, processes)
        except Exception as exc:  # Redis restarting: keep trying, never kill the worker over it
            log.warning("heartbeat failed: %s", type(exc).__name__)
        _stop.wait(HEARTBEAT_SECONDS)
    try:
        registry.leave(hostname)
    except Exception:  # noqa: S110 - best effort on the way out
        pass


def _reconcile(hostname: str) -> None:
    """Every OCRQ_RECONCILE_INTERVAL seconds, re-enqueue jobs (pages, webhooks) whose task vanished (one
    node at a time)."""
    settings = get_settings()
    queue = JobQueue(settings)
    reconciler = Reconciler(queue.store, queue.broker, queue.workers, queue, hostname,
                            settings.reconcile_interval)
    while not _stop.wait(settings.reconcile_interval):
        try:
            reconciler.run_once()
        except Exception as exc:  # Redis restarting: try again next time, never kill the worker over it
            log.warning("reconciler pass failed: %s", type(exc).__name__)


_broker: JobQueue | None = None


@task_received.connect
def _note_reservation(request: Any = None, **_: object) -> None:
    """In the main process, as a message arrives: this node holds it, so that if the node dies before the
    task runs, the reconciler hands the message back at once (ocrq/store/broker.py)."""
    global _broker
    try:
        if _broker is None:
            _broker = JobQueue(get_settings())
        _broker.broker.reserve(request.id, request.hostname or "")
    except Exception as exc:  # Redis away: the message falls back to the visibility timeout
        log.warning("reservation of %s not noted: %s", getattr(request, "id", "?"), type(exc).__name__)


@worker_ready.connect
def _start_heartbeat(sender: object = None, **_: object) -> None:
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    settings = get_settings()
    pool = getattr(getattr(sender, "controller", None), "concurrency", None)  # the pool's real size
    processes = (pool or settings.worker_concurrency or os.cpu_count() or 1) \
        if consumes_ocr(settings.worker_queues) else 0
    threading.Thread(target=_heartbeat, args=(hostname, int(processes)), name="ocrq-heartbeat",
                     daemon=True).start()
    threading.Thread(target=_reconcile, args=(hostname,), name="ocrq-reconciler", daemon=True).start()


@worker_shutdown.connect
def _stop_heartbeat(**_: object) -> None:
    _stop.set()
