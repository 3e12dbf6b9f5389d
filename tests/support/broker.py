"""Broker messages as kombu's Redis transport stores them, and a recording task sender, for unit tests of
the reconciler and the broker view against a real Redis."""

from __future__ import annotations

import json
import time

import redis

from ocrq.store import BrokerView, JobStore, WorkerRegistry
from ocrq.store.keys import PENDING, UNACKED, UNACKED_INDEX
from ocrq.tasks import WORKER_QUEUES


def message(task_id: str, task: str = "ocrq.ocr") -> dict:
    """A Celery protocol 2 message, as kombu keeps it in a queue list."""
    return {"body": "W10=", "headers": {"id": task_id, "task": task, "timelimit": [None, None]},
            "properties": {"delivery_tag": task_id, "delivery_info": {"routing_key": "ocr"}}}


def queue(client: redis.Redis, task_id: str, name: str = "ocr") -> None:
    """A message waiting in queue ``name``."""
    client.lpush(name, json.dumps(message(task_id)))


def hold(client: redis.Redis, task_id: str, node: str | None, name: str = "ocr", tag: str | None = None,
         reservation_ttl: int = 60) -> str:
    """A message node ``node`` received and has not acknowledged (None: no reservation was noted)."""
    tag = tag or f"tag-{task_id}"
    client.hset(UNACKED, tag, json.dumps([message(task_id), name, name]))
    client.zadd(UNACKED_INDEX, {tag: time.time()})
    if node is not None:
        BrokerView(client, WORKER_QUEUES, reservation_ttl).reserve(task_id, node)
    return tag


def age(jobs: JobStore, job_id: str, seconds: float) -> None:
    """Make a pending job look last enqueued or claimed ``seconds`` ago."""
    jobs.redis.zadd(PENDING, {job_id: time.time() - seconds})


def alive(client: redis.Redis, *nodes: str) -> None:
    registry = WorkerRegistry(client)
    for node in nodes:
        registry.beat(node)


class RecordingSender:
    """What the reconciler sent again, in order: job ids, ``<job>:p<n>`` pages, ``<job>:webhook``."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.released: list[str] = []  # owners whose held tasks a pass asked to release

    def enqueue(self, job_id: str) -> None:
        self.sent.append(job_id)

    def enqueue_page(self, job_id: str, page: int) -> None:
        self.sent.append(f"{job_id}:p{page}")

    def enqueue_webhook(self, job_id: str) -> None:
        self.sent.append(f"{job_id}:webhook")

    def release(self, owner: str) -> list[str]:
        self.released.append(owner)
        return []
