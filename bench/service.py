"""The service's own cost: queue overhead per job, throughput with 1 and 2 worker processes against the
engine called in-process, and each worker process's resident memory with the model loaded.

    python bench/service.py [--dataset synth_zh_docs] [--limit 20] [--overhead-jobs 30]
                            [--out bench/results/service.md]

Everything runs here for real: a private Redis server, `ocrq worker` processes, the API under gunicorn
on loopback. Queue overhead = (POST to the long-poll's answer) - the worker's own engine time
(``timings_ms.total``), measured one job at a time on a tiny image so the machine is otherwise idle.
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


def in_process_throughput(pages: list[bytes], threads: int) -> float:
    from ocrq.ocr import OcrEngine

    engine = OcrEngine.from_settings(Settings(ort_threads=threads))
    engine.run(pages[0])
    t0 = time.perf_counter()
    for page in pages:
        engine.run(page)
    return len(pages) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--dataset", default="synth_zh_docs")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--overhead-jobs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "service.md")
    args = parser.parse_args(argv)

    dataset = load(args.dataset, args.data_root)
    pages = [dataset.image_path(p).read_bytes() for p in dataset.pages[: args.limit]]
    from tests.support.render import render_png

    tiny = render_png(["排队开销 overhead"], size=24)
    cores = os.cpu_count() or 1
    rows, memory = [], []
    baseline = in_process_throughput(pages, cores)
    print(f"in-process engine ({cores} threads): {baseline:.2f} pages/s", file=sys.stderr)
    overhead: list[float] = []
    before: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for processes in (1, 2):
            server = EmbeddedRedis(Path(tmp) / f"redis{processes}").start()
            worker = WorkerProcess(server.url, Path(tmp) / f"worker{processes}.log", concurrency=processes,
                                   OCRQ_ORT_THREADS=str(max(1, cores // processes)),
                                   OCRQ_FAULT_INJECTION="0")
            api = old = None
            try:
                worker.start()
                api = Api(server.url)
                if processes == 1:  # the same workers behind today's front end and the previous one
                    old = Api(server.url, gthread=True)
                    overhead, before = queue_overhead([api.base, old.base], tiny, args.overhead_jobs)
                    old.stop()
                    old = None
                    print(f"queue overhead median {statistics.median(overhead):.1f} ms (gthread "
                          f"{statistics.median(before):.1f} ms)", file=sys.stderr)
                rate = throughput(api.base, pages, clients=max(4, 2 * processes))
                rows.append((processes, max(1, cores // processes), rate))
                print(f"{processes} worker process(es): {rate:.2f} pages/s", file=sys.stderr)
                memory += [(processes, pid, rss_mb(pid)) for pid in worker.children()]
                memory.append((processes, worker.process.pid, rss_mb(worker.process.pid)))
            finally:
                for server_ in (api, old):
                    if server_ is not None:
                        server_.stop()
                worker.stop()
                server.stop()

    overhead.sort()
    before.sort()
    lines = [
        "# Service benchmark",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({cores} cores), "
        f"`python bench/service.py --dataset {args.dataset} --limit {args.limit}`.",
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
        f"## Throughput ({len(pages)} pages of {args.dataset}, submitted concurrently)",
        "",
        "| setup | pages/s | vs engine in-process |",
        "|---|---|---|",
        f"| engine in-process, {cores} threads, one page at a time | {baseline:.2f} | 1.00 |",
    ]
    for processes, threads, rate in rows:
        lines.append(f"| service, {processes} worker process(es) x {threads} threads | {rate:.2f} | "
                     f"{rate / baseline:.2f} |")
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
