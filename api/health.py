"""``/healthz`` (the process answers) and ``/readyz`` (Redis reachable and a worker alive)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from api import context
from api.errors import error_response
from common.jobs import PREFIX

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz():
    client = context.queue().redis
    try:
        client.ping()
        workers = sum(1 for _ in client.scan_iter(match=f"{PREFIX}worker:*", count=100))
        depth = context.queue().depth()
    except Exception as exc:  # any Redis failure means not ready, whatever its type
        return error_response(503, "redis_unavailable", f"Redis is not reachable ({type(exc).__name__})")
    if workers == 0:
        return error_response(503, "no_workers", "no worker has reported in the last 15 s")
    return jsonify({"status": "ready", "workers": workers, "queue_depth": depth})
