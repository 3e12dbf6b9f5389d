"""``/healthz`` (the process answers) and ``/readyz`` (Redis reachable and a worker alive)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ocrq.api import context
from ocrq.api.errors import error_response
from ocrq.api.openapi import Reply, operation
from ocrq.schemas import ErrorResponse, Health, Ready
from ocrq.store.workers import READY_SECONDS

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@operation("Liveness: the process answers", {200: Reply(Health, "Always, while the process runs")},
           tags=("service",))
def healthz():
    return jsonify(Health(status="ok").dump())


@blueprint.get("/readyz")
@operation("Readiness: Redis answers and a worker reported in the last 6 s",
           {200: Reply(Ready, "Ready to take jobs"),
            503: Reply(ErrorResponse, "`service_unavailable` (Redis unreachable) or `no_workers`")},
           tags=("service",))
def readyz():
    client = context.queue().redis
    try:
        client.ping()
        workers = context.queue().workers.count(READY_SECONDS)
        depth = context.queue().depth()
    except Exception as exc:  # any Redis failure means not ready, whatever its type
        return error_response(503, "service_unavailable", f"Redis is not reachable ({type(exc).__name__})",
                              {"Retry-After": "5"})
    if workers == 0:
        return error_response(503, "no_workers", f"no worker has reported in the last {READY_SECONDS} s",
                              {"Retry-After": "5"})
    return jsonify(Ready(status="ready", workers=workers, queue_depth=depth).dump())
