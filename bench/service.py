"""The service's own cost: queue overhead per job, throughput with 1 and 2 worker processes against the
engine called in-process, and each worker process's resident memory with the model loaded.

    python bench/service.py [--dataset synth_zh_docs] [--limit 20] [--rounds 3] [--overhead-jobs 30]
                            [--out bench/results/service.md]

Everything runs here for real: a private Redis server, `ocrq worker` processes, the API under gunicorn
on loopback. Queue overhead = (POST to the long-poll's answer) - the worker's own engine time
(``timings_ms.total``), measured one job at a time on a tiny image so the machine is otherwise idle.
Throughput is measured in ``--rounds`` rounds, each the in-process engine then each service setup on the
same pages (both setups stay up, idle while the other runs), so load from other work on a shared machine
hits all of them alike; each ratio is a round's service rate over the same round's in-process rate.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests

if __package__ in (None, ""):  # run as a script: make `bench` and `common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.data import DEFAULT_DATA_ROOT, REPO, load  # noqa: E402
from ocrq.cli.serve import api_command  # noqa: E402
from ocrq.config import Settings  # noqa: E402
from ocrq.embedded_redis import EmbeddedRedis, free_port  # noqa: E402
from tests.support.stack import WorkerProcess  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def gthread_command(command: list[str], threads: int = 16) -> list[str]:
    """``command`` (ocrq's gunicorn command line) with the previous front end: gthread, 16 threads."""
    out = list(command)
    out[out.index("--worker-class") + 1] = "gthread"
    at = out.index("--worker-connections")
    out[at: at + 2] = ["--threads", str(threads)]
    return out


class Api:
    """gunicorn serving the API on a free loopback port (``gthread``: the front end before gevent)."""

    def __init__(self, redis_url: str, gthread: bool = False) -> None:
        self.port = free_port()
        env = {**os.environ, "REDIS_URL": redis_url}
        command = api_command(Settings(), "127.0.0.1", self.port)
        self.process = subprocess.Popen(gthread_command(command) if gthread else command, cwd=REPO, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(200):
            try:
                if requests.get(self.base + "/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("API did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def run_job(session: requests.Session, base: str, data: bytes) -> tuple[float, dict]:
    """POST then long-poll one job; wall seconds and the final job document."""
    t0 = time.perf_counter()
    posted = session.post(base + "/v1/jobs", files={"image": ("page", data)}, timeout=30)
    posted.raise_for_status()
    doc = session.get(base + posted.headers["Location"], params={"wait": 30}, timeout=60).json()
    while doc["status"] in ("queued", "running"):
        doc = session.get(base + posted.headers["Location"], params={"wait": 30}, timeout=60).json()
    return time.perf_counter() - t0, doc


def queue_overhead(bases: list[str], data: bytes, jobs: int) -> list[list[float]]:
    """Milliseconds per job outside the engine (end-to-end minus timings_ms.total), one job at a time,
    for each API in ``bases`` in turn (interleaved: load on the machine hits them alike)."""
    sessions = [requests.Session() for _ in bases]
    for session, base in zip(sessions, bases, strict=True):
        run_job(session, base, data)  # warm-up
    overheads: list[list[float]] = [[] for _ in bases]
    for _ in range(jobs):
        for k, (session, base) in enumerate(zip(sessions, bases, strict=True)):
            seconds, doc = run_job(session, base, data)
            assert doc["status"] == "succeeded", doc
            overheads[k].append(seconds * 1000 - doc["result"]["timings_ms"]["total"])
    return overheads


def throughput(base: str, pages: list[bytes], clients: int) -> float:
    """Jobs per second for all ``pages`` submitted by ``clients`` concurrent clients."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        docs = list(pool.map(lambda d: run_job(requests.Session(), base, d)[1], pages))
    assert all(doc["status"] == "succeeded" for doc in docs)
    return len(pages) / (time.perf_counter() - t0)


def in_process_throughput(engine, pages: list[bytes]) -> float:
    """Pages per second of ``engine`` (an OcrEngine) reading ``pages`` one at a time."""
    t0 = time.perf_counter()
    for page in pages:
        engine.run(page)
    return len(pages) / (time.perf_counter() - t0)


class Stack:
    """A private Redis, a worker of ``processes`` processes sharing the cores, and the API in front."""

    def __init__(self, root: Path, processes: int, cores: int) -> None:
        self.processes, self.threads = processes, max(1, cores // processes)
        self.server = EmbeddedRedis(root / f"redis{processes}").start()
        self.worker = WorkerProcess(self.server.url, root / f"worker{processes}.log", concurrency=processes,
                                    OCRQ_ORT_THREADS=str(self.threads), OCRQ_FAULT_INJECTION="0")
        self.api: Api | None = None
        try:
            self.worker.start()
            self.api = Api(self.server.url)
        except BaseException:
            self.stop()
            raise

    def rss(self) -> list[tuple[int, int, float]]:
        """(processes, pid, RSS MB) of each pool child, then of Celery's main process."""
        pids = [*self.worker.children(), self.worker.process.pid]
        return [(self.processes, pid, rss_mb(pid)) for pid in pids]

    def stop(self) -> None:
        if self.api is not None:
            self.api.stop()
        self.worker.stop()
        self.server.stop()


def spread(values: list[float]) -> str:
    """'median (min-max)' of per-round figures, two decimals."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--dataset", default="synth_zh_docs")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--overhead-jobs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "service.md")
    args = parser.parse_args(argv)

    dataset = load(args.dataset, args.data_root)
    pages = [dataset.image_path(p).read_bytes() for p in dataset.pages[: args.limit]]
    from tests.support.render import render_png

    tiny = render_png(["排队开销 overhead"], size=24)
    cores = os.cpu_count() or 1
    from ocrq.ocr import OcrEngine

    engine = OcrEngine.from_settings(Settings(ort_threads=cores))
    engine.run(pages[0])  # warm-up, as each service setup gets below
    baseline: list[float] = []
    rates: dict[int, list[float]] = {1: [], 2: []}
    memory: list[tuple[int, int, float]] = []
    stacks: dict[int, Stack] = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for processes in rates:
                stacks[processes] = Stack(Path(tmp), processes, cores)
            old = Api(stacks[1].server.url, gthread=True)  # the same workers behind the previous front end
            try:
                overhead, before = queue_overhead([stacks[1].api.base, old.base], tiny, args.overhead_jobs)
            finally:
                old.stop()
            print(f"queue overhead median {statistics.median(overhead):.1f} ms (gthread "
                  f"{statistics.median(before):.1f} ms)", file=sys.stderr)
            for stack in stacks.values():  # each pool child loads its engine on its first page
                throughput(stack.api.base, pages[: stack.processes] * 2, clients=2 * stack.processes)
            for round_ in range(args.rounds):
                baseline.append(in_process_throughput(engine, pages))
                for processes, stack in stacks.items():
                    rates[processes].append(throughput(stack.api.base, pages, clients=max(4, 2 * processes)))
                print(f"round {round_ + 1}: in-process {baseline[-1]:.2f} pages/s, service "
                      + ", ".join(f"{p} process(es) {r[-1]:.2f}" for p, r in rates.items()), file=sys.stderr)
            for stack in stacks.values():
                memory += stack.rss()
        finally:
            for stack in stacks.values():
                stack.stop()
    overhead.sort()
    before.sort()
    lines = [
        "# Service benchmark",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({cores} cores), "
        f"`python bench/service.py --dataset {args.dataset} --limit {args.limit} --rounds {args.rounds}`.",
        "",
        "## Queue overhead (POST -> long-poll answer, minus the worker's engine time)",
        "",
        f"{len(overhead)} jobs one at a time, tiny image, loopback HTTP, 1 worker process: "
        f"median **{statistics.median(overhead):.1f} ms**, "
        f"p90 {overhead[int(0.9 * (len(overhead) - 1))]:.1f} ms, "
        f"min {overhead[0]:.1f} ms.",
        "",
        f"The previous front end (gunicorn gthread, 16 threads) in the same run, jobs interleaved: median "
        f"{statistics.median(before):.1f} ms; ratio gevent / gthread of the medians "
        f"**{statistics.median(overhead) / statistics.median(before):.2f}**.",
        "",
        f"## Throughput ({len(pages)} pages of {args.dataset}, submitted concurrently, {args.rounds} rounds)",
        "",
        "| setup | pages/s, median (min-max) | vs engine in-process, same round |",
        "|---|---|---|",
        f"| engine in-process, {cores} threads, one page at a time | {spread(baseline)} | 1.00 |",
    ]
    for processes, rate in rates.items():
        ratios = [r / b for r, b in zip(rate, baseline, strict=True)]
        lines.append(f"| service, {processes} worker process(es) x {stacks[processes].threads} threads | "
                     f"{spread(rate)} | **{spread(ratios)}** |")
    lines += ["", "## Resident memory (model loaded, after the throughput run)", "",
              "| worker setup | pid | RSS MB |", "|---|---|---|"]
    for processes, pid, mb in memory:
        lines.append(f"| {processes} process(es) | {pid} | {mb:.0f} |")
    lines.append("")
    lines.append("The last row of each setup is Celery's main process (no model); the others are the "
                 "pool's children, each holding one engine.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
