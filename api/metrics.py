"""``/metrics`` of the API, in Prometheus text format: HTTP requests by route and status, jobs submitted
and canceled (every gunicorn worker's samples added up), and the queue as Redis has it at scrape time.

With ``ocrq up`` the worker writes to the same multiprocess directory, so this one scrape shows the
workers' samples too; elsewhere a worker serves its own (``OCRQ_WORKER_METRICS_PORT``, worker/metrics.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from ocrq.api import context
from ocrq.api.openapi import Reply, operation
from ocrq.metrics import CONTENT_TYPE, exposition
from ocrq.queue import JobQueue

HTTP_REQUESTS = Counter("ocrq_http_requests", "HTTP requests answered, by method, route and status",
                        ["method", "route", "status"])
HTTP_SECONDS = Histogram("ocrq_http_request_duration_seconds",
                         "Time to answer an HTTP request (a long-poll included), by method and route",
                         ["method", "route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
JOBS_SUBMITTED = Counter("ocrq_jobs_submitted", "Jobs stored and enqueued, by the endpoint that took them",
                         ["endpoint"])

blueprint = Blueprint("metrics", __name__)


class QueueCollector:
    """Gauges read from Redis at scrape time: the broker queue, unfinished jobs, live worker nodes."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("ocrq_redis_up", "1 if Redis answered this scrape, else 0")
        try:
            depths = self.queue.depths()
            pending = self.queue.store.pending_count()
            workers = self.queue.workers.count()
        except Exception:  # a scrape must still answer (with ocrq_redis_up 0) while Redis is down
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        queued = GaugeMetricFamily("ocrq_queue_depth", "Tasks waiting in a broker queue (ocr.high, ocr, "
                                   "ocr.low: OCR by priority; webhooks)", labels=["queue"])
        for name, depth in depths.items():
            queued.add_metric([name], depth)
        yield queued
        yield GaugeMetricFamily("ocrq_jobs_pending", "Jobs queued or running (ocrq:pending)", value=pending)
        yield GaugeMetricFamily("ocrq_workers", "Worker nodes whose heartbeat is fresh", value=workers)


@blueprint.get("/metrics")
@operation("Prometheus metrics of the API (and, under `ocrq up`, of the workers)",
           {200: Reply(None, "Prometheus text format 0.0.4", media="text/plain", schema={"type": "string"})},
           tags=("service",))
def metrics():
    return Response(exposition(QueueCollector(context.queue())), content_type=CONTENT_TYPE)


def _route() -> str:
    """The route's template (``/v1/jobs/<job_id>``), never the raw path: one series per route."""
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def register(app: Flask) -> None:
    """Count every request; register this first, so that it sees requests other hooks answer (401)."""
    app.register_blueprint(blueprint)

    @app.before_request
    def _start_clock():
        g.ocrq_started = time.perf_counter()

    @app.after_request
    def _count(response):
        route = _route()
        HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        started = g.get("ocrq_started")
        if started is not None:
            HTTP_SECONDS.labels(request.method, route).observe(time.perf_counter() - started)
        return response


def job_submitted(endpoint: str) -> None:
    JOBS_SUBMITTED.labels(endpoint).inc()
