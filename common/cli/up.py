"""``ocrq up``: everything on one machine (a private Redis unless REDIS_URL is set, the API, one worker).

Ctrl-C stops it all: the API first, then the worker (it finishes or hands back its jobs), Redis last.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request

from ocrq.cli.extras import require


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("up", help="run Redis (embedded unless REDIS_URL is set), the API and a worker")
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default 5000)")
    parser.add_argument("--concurrency", type=int, default=None, help="worker processes (default: cores)")
    parser.set_defaults(handler=run)


def _wait_healthy(url: str, processes: list[subprocess.Popen], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            return False
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def _stop(process: subprocess.Popen, timeout: float) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(args: argparse.Namespace) -> int:
    require("up", "all")
    from ocrq import metrics_dir
    from ocrq.cli.serve import api_command, worker_command, worker_concurrency, worker_env
    from ocrq.config import get_settings
    from ocrq.embedded_redis import EmbeddedRedis
    from ocrq.store.connection import redact

    settings = get_settings()
    host, port = args.host or settings.host, args.port or settings.port
    concurrency = args.concurrency or worker_concurrency(settings)
    embedded = None
    # One metrics directory for the API's and the worker's processes: the API's /metrics shows both.
    metrics_dir.ensure("up")
    env = dict(os.environ)
    if not settings.redis_url:
        embedded = EmbeddedRedis(settings.data_dir / "redis").start()
        env["REDIS_URL"] = embedded.url
        where = f"embedded, data in {embedded.data_dir}"
    else:
        where = redact(settings.redis_url)

    stopping = False

    def _request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    # Children get their own process group so Ctrl-C reaches only us; we stop them in order.
    api = subprocess.Popen(api_command(settings, host, port), env=env, start_new_session=True)
    worker = subprocess.Popen(worker_command(settings, concurrency),
                              env=worker_env(settings, concurrency, base=env), start_new_session=True)
    url = f"http://{host}:{port}"
    status = 0
    try:
        if _wait_healthy(url, [api, worker]):
            print(f"ocrq is up: {url}  (Redis: {where}; worker: {concurrency} processes). Ctrl-C stops it.",
                  flush=True)
        while not stopping:
            for name, process in (("API", api), ("worker", worker)):
                if process.poll() is not None:
                    print(f"ocrq: the {name} exited with status {process.returncode}; stopping",
                          file=sys.stderr, flush=True)
                    stopping, status = True, 1
            time.sleep(0.3)
    finally:
        print("ocrq: stopping...", file=sys.stderr, flush=True)
        _stop(api, 30)
        _stop(worker, settings.task_time_limit + 10)
        if embedded is not None:
            embedded.stop()
        metrics_dir.release()
    return status
