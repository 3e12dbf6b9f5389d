"""``ocrq api`` and ``ocrq worker``: start one part of the service (for Compose and extra machines)."""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from typing import TYPE_CHECKING

from ocrq.cli.extras import require

if TYPE_CHECKING:
    from ocrq.config import Settings


# gunicorn with gevent's monkey-patching before anything is imported. gunicorn (and ocrq's package, through
# requests) import ``ssl`` in the master before the gevent worker patches the standard library, and gevent
# warns that patching ``ssl`` late may misbehave (a ``rediss://`` connection from the API uses it). So the
# command patches first, as the worker would (all of it: patching twice with other options warns too).
GUNICORN_PATCHED_FIRST = ("from gevent import monkey; monkey.patch_all(); "
                          "from gunicorn.app.wsgiapp import run; run()")


def api_command(settings: Settings, host: str | None = None, port: int | None = None) -> list[str]:
    """gunicorn with gevent workers (ocrq.api.gunicorn_worker): a long-poll or a slow client holds a
    greenlet, not a thread, so a few hundred of them cannot keep /readyz or a new upload waiting."""
    return [
        sys.executable, "-c", GUNICORN_PATCHED_FIRST,
        "--bind", f"{host or settings.host}:{port or settings.port}",
        "--workers", str(settings.api_workers), "--worker-connections", str(settings.api_connections),
        "--worker-class", "ocrq.api.gunicorn_worker.ApiWorker", "--timeout", "120",
        "--graceful-timeout", "30", "--keep-alive", "5",  # the request line and headers within 5 s
        "--limit-request-line", "8190", "--log-level", settings.log_level.lower(),
        # JSON logs (access log included) and the metrics directory of its processes
        "--config", "python:ocrq.api.gunicorn_conf",
        "ocrq.api:create_app()",
    ]


def worker_concurrency(settings: Settings) -> int:
    return settings.worker_concurrency or os.cpu_count() or 1


def worker_command(settings: Settings, concurrency: int | None = None) -> list[str]:
    """A prefork Celery worker; each child process loads one engine after fork."""
    from ocrq.tasks import consumed_queues

    return [
        # --quiet: no banner on stdout; the worker writes JSON lines only ("worker ... ready" has the gist)
        sys.executable, "-m", "celery", "--quiet", "-A", "ocrq.worker.celery_app", "worker",
        "--loglevel", settings.log_level, "--pool", "prefork",
        "--concurrency", str(concurrency or worker_concurrency(settings)),
        # Webhooks, then OCR by priority: the order counts (common/tasks.py, queue_order_strategy).
        # A name of its own per worker: the heartbeat and the reconciler tell nodes apart by it.
        "--queues", ",".join(consumed_queues(settings.worker_queues)),
        "--hostname", f"ocrq@%h-{uuid.uuid4().hex[:8]}",
        "--without-gossip", "--without-mingle",
    ]


def worker_env(settings: Settings, concurrency: int | None = None,
               base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a worker needs: its concurrency, so each process sizes its onnxruntime threads."""
    env = dict(os.environ if base is None else base)
    env["OCRQ_WORKER_CONCURRENCY"] = str(concurrency or worker_concurrency(settings))
    return env


def add_parser(sub: argparse._SubParsersAction) -> None:
    api = sub.add_parser("api", help="run the HTTP API (gunicorn) against REDIS_URL")
    api.add_argument("--host", default=None)
    api.add_argument("--port", type=int, default=None)
    api.set_defaults(handler=run_api)
    worker = sub.add_parser("worker", help="run a Celery worker against REDIS_URL")
    worker.add_argument("--concurrency", type=int, default=None, help="processes (default: cores)")
    worker.set_defaults(handler=run_worker)


def run_api(args: argparse.Namespace) -> int:
    require("api", "api")
    from ocrq.config import get_settings

    command = api_command(get_settings(), args.host, args.port)
    os.execv(command[0], command)
    return 0  # not reached


def run_worker(args: argparse.Namespace) -> int:
    require("worker", "worker")
    from ocrq.config import get_settings

    settings = get_settings()
    command = worker_command(settings, args.concurrency)
    os.execve(command[0], command, worker_env(settings, args.concurrency))
    return 0  # not reached
