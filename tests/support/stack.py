"""The real stack for integration tests: a Redis server and Celery worker processes, as subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests

from ocrq.cli.serve import worker_command
from ocrq.config import Settings
from ocrq.store import WorkerRegistry
from ocrq.tasks import consumes_ocr

ROOT = Path(__file__).resolve().parents[2]
# Webhooks in the test stacks: signed with this secret, to receivers on loopback, retried quickly and
# given up after a few seconds (tests/integration/test_webhooks.py).
WEBHOOK_SECRET = "test-webhook-secret"
WEBHOOK_ENV = {"OCRQ_WEBHOOK_SECRET": WEBHOOK_SECRET, "OCRQ_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
               "OCRQ_WEBHOOK_BACKOFF": "0.25", "OCRQ_WEBHOOK_RETRY_SECONDS": "3"}


def stack_env(redis_url: str, **overrides: str) -> dict[str, str]:
    """Environment for worker/API subprocesses: test Redis, 1 thread per process, fault injection on."""
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "OCRQ_ORT_THREADS": "1",
        "OCRQ_FAULT_INJECTION": "1",
        "OCRQ_MAX_ATTEMPTS": "3",
        "PYTHONUNBUFFERED": "1",
        **WEBHOOK_ENV,
    }
    env.update(overrides)
    return env


class WorkerProcess:
    """A ``celery worker`` subprocess (prefork, ``concurrency`` children) logging to a file."""

    def __init__(self, redis_url: str, log_path: Path, concurrency: int = 1, args: tuple[str, ...] = (),
                 **env: str) -> None:
        self.redis_url = redis_url
        self.args = args  # more `celery worker` options
        self.log_path = log_path
        self.concurrency = concurrency
        self.env = stack_env(redis_url, OCRQ_WORKER_CONCURRENCY=str(concurrency), **env)
        # OCRQ_WORKER_QUEUES=webhooks: a node that loads no model (its children say so instead)
        self.settings = Settings(worker_queues=self.env.get("OCRQ_WORKER_QUEUES", "webhooks,ocr"))
        self.ready_line = "loaded in" if consumes_ocr(self.settings.worker_queues) else "no model loaded"
        self.process: subprocess.Popen | None = None
        port = env.get("OCRQ_WORKER_METRICS_PORT")  # the worker's own /metrics, when asked for
        self.metrics_url = f"http://127.0.0.1:{port}/metrics" if port else None

    def start(self, timeout: float = 60.0) -> WorkerProcess:
        registry = WorkerRegistry(redis.Redis.from_url(self.redis_url))
        before = registry.live()
        command = [*worker_command(self.settings, self.concurrency), *self.args]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # ready when its heartbeat appears and its children loaded
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_path.read_text()[-2000:]}")
            if registry.live() - before and \
                    self.log().count(self.ready_line) >= self.concurrency:
                return self
            time.sleep(0.1)
        self.stop()  # not left running, unwatched, after the test gave up on it
        raise RuntimeError(f"worker not ready: {self.log()[-2000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def children(self) -> list[int]:
        """PIDs of the pool's child processes (the ones that run tasks)."""
        assert self.process is not None
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill_child(self) -> int:
        pid = self.children()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self, timeout: float = 30.0) -> None:
        stop_gracefully(self.process, timeout)


def stop_gracefully(process: subprocess.Popen | None, timeout: float = 30.0) -> None:
    """SIGTERM a subprocess started in a session of its own; SIGKILL its whole group after ``timeout``."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def answer_text(url: str, timeout: float = 2.0) -> str | None:
    """The body ``url`` answers with (any status), or None while nothing answers there."""
    try:
        return requests.get(url, timeout=timeout).text
    except requests.RequestException:
        return None


def python() -> str:
    return sys.executable
