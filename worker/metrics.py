"""The workers' metrics: jobs finished, job latency, engine time per stage, model load time, webhooks.

The pool's child processes count (multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR``, set by
worker/celery_app.py before this module is imported); the worker's main process serves their sum on
``OCRQ_WORKER_METRICS_HOST:OCRQ_WORKER_METRICS_PORT`` when the port is set.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Histogram, start_http_server

from ocrq.config import Settings
from ocrq.metrics import JOBS_FINISHED, registry
from ocrq.store.jobs import Job

log = logging.getLogger("ocrq.worker")

JOB_SECONDS = Histogram(
    "ocrq_job_latency_seconds", "From submission to the final status (queue wait included), by status",
    ["status"], buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800))
STAGE_SECONDS = Histogram(
    "ocrq_engine_stage_seconds", "Engine time per stage of a job (decode, det, rec, onnx, total, ...)",
    ["stage"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
MODEL_LOAD_SECONDS = Histogram(
    "ocrq_worker_model_load_seconds", "Time for a worker process to load its engine, by model pack",
    ["model"], buckets=(0.25, 0.5, 1, 2, 5, 10, 20, 40, 80))
WEBHOOK_DELIVERIES = Counter(
    "ocrq_webhook_deliveries", "Webhook attempts by outcome: delivered (2xx), retry (failed, tried again "
    "later), given_up (failed for the last time, or no longer allowed), dropped (the job was gone)",
    ["outcome"])
_STAGE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")  # a stage name from timings_ms becomes a label: keep it tame


def job_finished(job: Job | None, status: str, code: str = "") -> None:
    """Count a job this process brought to its final status (once: only when the write took effect)."""
    JOBS_FINISHED.labels(status, code).inc()
    if job is not None:
        created = datetime.fromisoformat(job.created_at.replace("Z", "+00:00"))
        JOB_SECONDS.labels(status).observe(max(0.0, (datetime.now(created.tzinfo) - created).total_seconds()))


def engine_timings(timings_ms: dict[str, float]) -> None:
    for stage, ms in timings_ms.items():
        if _STAGE.match(stage) and isinstance(ms, int | float):
            STAGE_SECONDS.labels(stage).observe(ms / 1000)


def webhook_outcome(outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def model_loaded(model: str, seconds: float) -> None:
    MODEL_LOAD_SECONDS.labels(model).observe(seconds)


def serve(settings: Settings) -> WSGIServer | None:
    """Serve every pool process's samples on the configured port (main process only); None when off."""
    if settings.worker_metrics_port is None:
        return None
    server, _ = start_http_server(settings.worker_metrics_port, settings.worker_metrics_host,
                                  registry=registry())
    log.info("metrics on http://%s:%d/metrics", settings.worker_metrics_host, settings.worker_metrics_port)
    return server
