"""The real stack for reliability scenarios, one private copy per scenario so that killing a worker or
restarting Redis never disturbs the session fixtures other tests share.

    Stack: its own Redis server (append-only file in its own folder, restartable on the same port),
           Celery worker processes, and the API served by gunicorn over real HTTP.
    Figures: what a scenario prints and asserts (sent, completed, failed, lost, duplicated, time).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import redis
import requests
from PIL import Image, ImageDraw

from ocrq.cli.serve import api_command
from ocrq.config import Settings
from ocrq.embedded_redis import EmbeddedRedis, free_port
from ocrq.store.jobs import FINISHED
from ocrq.store.keys import job_key
from tests.support.render import encode, font
from tests.support.stack import ROOT, WorkerProcess, stack_env, stop_gracefully

# Every scenario's figures, printed again in the terminal summary (see conftest).
REPORTS: list[dict] = []


@lru_cache(maxsize=4096)
def tiny_png(label: str) -> bytes:
    """One short line on a 640x16 grayscale page: under 1 kB, tens of ms of engine time."""
    page = Image.new("L", (640, 16), 255)
    ImageDraw.Draw(page).text((6, 0), label, fill=0, font=font(12))
    return encode(page)


def label(n: int) -> str:
    return f"job {n:04d} 任务"


def same_text(a: str, b: str) -> bool:
    return a.replace(" ", "") == b.replace(" ", "")


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


class ApiServer:
    """The API as it runs in production: gunicorn (gevent, ocrq.api.gunicorn_worker) serving the app."""

    def __init__(self, redis_url: str, log_path: Path, **env: str) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.env = stack_env(redis_url, **env)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ApiServer:
        settings = Settings(
            api_workers=int(self.env.get("OCRQ_API_WORKERS", 2)),
            api_connections=int(self.env.get("OCRQ_API_CONNECTIONS", 1000)),
        )
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                api_command(settings, "127.0.0.1", self.port),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log()[-2000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn not up: {self.log()[-2000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def pids(self) -> list[int]:
        assert self.process is not None
        return [self.process.pid, *children_of(self.process.pid)]

    def stop(self, timeout: float = 30.0) -> None:
        stop_gracefully(self.process, timeout)


class Stack:
    """A private Redis server, worker processes and a gunicorn API, started in that order."""

    def __init__(self, base: Path, concurrency: int = 2, api: bool = True, **env: str) -> None:
        self.base = base
        self.env = env
        self.concurrency = concurrency
        self.redis_server = EmbeddedRedis(base / "redis", appendonly=True)
        self.workers: list[WorkerProcess] = []
        self.api = ApiServer(self.redis_url, base / "api.log", **env) if api else None

    @property
    def redis_url(self) -> str:
        return self.redis_server.url

    @property
    def url(self) -> str:
        assert self.api is not None
        return self.api.url

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_timeout=10)

    def start(self, workers: int = 1) -> Stack:
        self.redis_server.start()
        for _ in range(workers):
            self.add_worker()
        if self.api is not None:
            self.api.start()
        return self

    def add_worker(self, concurrency: int | None = None) -> WorkerProcess:
        index = len(self.workers)
        worker = WorkerProcess(
            self.redis_url,
            self.base / f"worker{index}.log",
            concurrency=concurrency or self.concurrency,
            **self.env,
        )
        self.workers.append(worker)  # before start: a worker that fails to get ready is still stopped
        return worker.start()

    def stop_redis(self) -> None:
        """SIGTERM: Redis writes its append-only file and exits, as a restart by an operator does."""
        self.redis_server.stop()

    def start_redis(self) -> None:
        """The same server again: same port, same folder, so it reloads the append-only file."""
        self.redis_server.start()

    def worker_logs(self) -> str:
        return "".join(w.log() for w in self.workers)

    def stop(self) -> None:
        if self.api is not None:
            self.api.stop()
        for worker in self.workers:
            worker.stop()
        self.redis_server.stop()


_WRITTEN = re.compile(r"job ([0-9a-f-]{36}) succeeded in")


def writes_per_job(worker_log: str) -> Counter:
    """How many times each job's result was written, from the workers' own log lines."""
    return Counter(_WRITTEN.findall(worker_log))


def statuses(client: redis.Redis, job_ids: list[str]) -> dict[str, str | None]:
    """Every job's status straight from Redis (one round trip), for cheap progress checks."""
    with client.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(job_key(job_id), "status")
        raw = pipe.execute()
    return {job_id: (s.decode() if s else None) for job_id, s in zip(job_ids, raw, strict=True)}


def wait_finished(client: redis.Redis, job_ids: list[str], timeout: float) -> dict[str, str | None]:
    """Wait until every job is finished (or gone), or ``timeout``; the statuses either way."""
    deadline = time.monotonic() + timeout
    while True:
        seen = statuses(client, job_ids)
        if all(s in FINISHED or s is None for s in seen.values()) or time.monotonic() > deadline:
            return seen
        time.sleep(0.25)


def fetch_jobs(base: str, job_ids: list[str], headers: dict | None = None) -> dict[str, dict]:
    """Each job's document over HTTP (the client's view)."""
    docs = {}
    with requests.Session() as http:
        for job_id in job_ids:
            response = http.get(f"{base}/v1/jobs/{job_id}", headers=headers, timeout=30)
            docs[job_id] = (
                response.json() if response.status_code == 200 else {"status": response.status_code}
            )
    return docs


@dataclass
class Figures:
    """What a scenario reports: every figure printed, the important ones asserted by the test."""

    scenario: str
    sent: int = 0
    accepted: int = 0
    completed: int = 0
    failed: int = 0
    lost: int = 0
    duplicated: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)
    _start: float = field(default_factory=time.monotonic, repr=False)

    def stop_clock(self) -> None:
        self.seconds = round(time.monotonic() - self._start, 1)

    def report(self) -> dict:
        if not self.seconds:
            self.stop_clock()
        row = {
            "scenario": self.scenario,
            "sent": self.sent,
            "accepted": self.accepted,
            "completed": self.completed,
            "failed": self.failed,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "seconds": self.seconds,
            **self.extra,
        }
        REPORTS.append(row)
        print(f"\n[reliability] {json.dumps(row, ensure_ascii=False)}")
        return row


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]
