"""Prometheus metrics both sides count, and the exposition of a process's (or a process family's) samples.

Under gunicorn and Celery's prefork pool, ``PROMETHEUS_MULTIPROC_DIR`` is set before this module is
imported (common/metrics_dir.py): each process then writes its samples to files there, and
``exposition`` adds up every process's files. Without it (tests, the Flask dev server) the samples live in
this process's default registry.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ocrq.metrics_dir import ENV

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

JOBS_FINISHED = Counter(
    "ocrq_jobs_finished",
    "Jobs that reached a final status, by status and error code (succeeded and failed are counted by the "
    "workers, canceled by the API)",
    ["status", "code"],
)


class _Together:
    """Several collectors read as one."""

    def __init__(self, sources: Iterable[Collector]) -> None:
        self.sources = list(sources)

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def registry() -> CollectorRegistry:
    """Every process's samples in multiprocess mode (a fresh registry per scrape, as the client library
    asks); this process's default registry otherwise."""
    if os.environ.get(ENV):
        fresh = CollectorRegistry()
        multiprocess.MultiProcessCollector(fresh)
        return fresh
    return REGISTRY


def exposition(*extra: Collector) -> bytes:
    """The text format of the samples, plus ``extra`` collectors read at scrape time (e.g. from Redis)."""
    return generate_latest(_Together([registry(), *extra]))
