"""``ocrq up``: everything on one machine (a private Redis unless REDIS_URL is set, the API, one worker).

It supervises what it starts: the embedded Redis is restarted if it dies (same port, same append-only
data), at most ``REDIS_RESTARTS`` times a minute; if the API or the worker exits, everything stops with
a message and status 1. Ctrl-C or SIGTERM stops it all in order: the API first, then the worker (it
finishes or hands back its jobs), Redis last. And whatever way ``ocrq up`` ends, SIGKILL included, no
process it started outlives it (ocrq/cli/children.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.request

from ocrq.cli.extras import require

REDIS_RESTARTS = 3  # restarts of the embedded Redis allowed in any minute before ocrq up gives up
FLOWER_PORT = 5555


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("up", help="run Redis (embedded unless REDIS_URL is set), the API and a worker")
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default 5000)")
    parser.add_argument("--concurrency", type=int, default=None, help="worker processes (default: cores)")
    parser.add_argument("--flower", type=int, nargs="?", const=FLOWER_PORT, default=None, metavar="PORT",
                        help=f"also run Flower on 127.0.0.1:PORT (default {FLOWER_PORT}) against this Redis "
                             "(needs the monitoring extra)")
    parser.set_defaults(handler=run)


def flower_command(port: int) -> list[str]:
    """Flower on loopback, with the workers' broker settings (JSON only; TLS for rediss://)."""
    return [sys.executable, "-m", "celery", "-A", "ocrq.worker.celery_app", "flower", "--address=127.0.0.1",
            f"--port={port}"]


def say(message: str) -> None:
    print(f"ocrq: {message}", file=sys.stderr, flush=True)


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


class RedisKeeper:
    """The embedded Redis, restarted when it dies, up to REDIS_RESTARTS times in any 60 s."""

    def __init__(self, embedded) -> None:
        self.embedded = embedded
        self.restarts: list[float] = []

    def check(self) -> bool:
        """False when Redis is down for good (too many restarts, or one that failed)."""
        from ocrq.errors import ConfigError

        process = self.embedded.process
        if process is None or process.poll() is None:
            return True
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < 60] + [now]
        if len(self.restarts) > REDIS_RESTARTS:
            say(f"the embedded Redis exited with status {process.returncode} {len(self.restarts)} times in "
                f"a minute; stopping (its log: {self.embedded.data_dir / 'redis.log'})")
            return False
        say(f"the embedded Redis exited with status {process.returncode}; restarting it on the same port "
            "with its data")
        try:
            self.embedded.start()
        except ConfigError as exc:
            say(f"{exc}; stopping")
            return False
        return True


def run(args: argparse.Namespace) -> int:
    require("up", "all")
    from ocrq import metrics_dir
    from ocrq.cli.children import die_with_parent, port_taken
    from ocrq.cli.serve import api_command, worker_command, worker_concurrency, worker_env
    from ocrq.config import get_settings
    from ocrq.embedded_redis import EmbeddedRedis
    from ocrq.store.connection import redact

    settings = get_settings()
    host, port = args.host or settings.host, args.port or settings.port
    if port_taken(host, port):
        say(f"port {port} on {host} is already in use; choose another with OCRQ_PORT (or --port)")
        return 1
    concurrency = args.concurrency or worker_concurrency(settings)
    if args.flower is not None and importlib.util.find_spec("flower") is None:
        say("Flower is not installed: pip install 'ocrq[monitoring]' (make install has it)")
        return 2
    if args.flower is not None and port_taken("127.0.0.1", args.flower):
        say(f"port {args.flower} on 127.0.0.1 is already in use; choose another: --flower PORT")
        return 1
    embedded, keeper = None, None
    # One metrics directory for the API's and the worker's processes: the API's /metrics shows both.
    metrics_dir.ensure("up")
    env = dict(os.environ)
    if not settings.redis_url:
        embedded = EmbeddedRedis(settings.data_dir / "redis", preexec=die_with_parent()).start()
        keeper = RedisKeeper(embedded)
        env["REDIS_URL"] = embedded.url
        where = f"embedded at {embedded.url}, data in {embedded.data_dir}"
    else:
        where = redact(settings.redis_url)

    stopping = False

    def _request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    # Each child in a session of its own (Ctrl-C reaches only us; we stop them in order), and each gets
    # SIGTERM from the kernel if we die without stopping them.
    api = subprocess.Popen(api_command(settings, host, port), env=env, preexec_fn=die_with_parent())
    worker = subprocess.Popen(worker_command(settings, concurrency), preexec_fn=die_with_parent(),
                              env=worker_env(settings, concurrency, base=env))
    children = [("API", api), ("worker", worker)]
    if args.flower is not None:
        children.append(("Flower", subprocess.Popen(flower_command(args.flower), env=env,
                                                    preexec_fn=die_with_parent())))
    url = f"http://{host}:{port}"
    status = 0
    try:
        if _wait_healthy(url, [api, worker]):
            print(f"ocrq is up: {url}  (Redis: {where}; worker: {concurrency} processes). Ctrl-C stops it.",
                  flush=True)
            if args.flower is not None:
                print(f"Flower: http://127.0.0.1:{args.flower}", flush=True)
        while not stopping:
            for name, process in children:
                if process.poll() is not None and not stopping:
                    say(f"the {name} exited with status {process.returncode}; stopping")
                    stopping, status = True, 1
            if not stopping and keeper is not None and not keeper.check():
                stopping, status = True, 1
            time.sleep(0.3)
    finally:
        say("stopping...")
        for _, process in children[2:]:
            _stop(process, 10)
        _stop(api, 30)
        _stop(worker, settings.task_time_limit + 10)
        if embedded is not None:
            embedded.stop()
        metrics_dir.release()
    return status
