"""The reconciler's decisions, against a real Redis (a database of their own) and a recording ``enqueue``."""

from __future__ import annotations

import json
import time

import pytest

from ocrq.jobs import PENDING_KEY, WEBHOOKS_DUE_KEY, JobStore, worker_key
from ocrq.reconcile import Reconciler, broker_task_ids, message_task_id
from ocrq.tasks import BROKER_UNACKED_KEY, OCR_QUEUE, webhook_task_id


@pytest.fixture
def store(scratch_redis):
    return JobStore(scratch_redis, job_ttl=60, upload_ttl=60)


def age(store: JobStore, job_id: str, seconds: float) -> None:
    store.redis.zadd(PENDING_KEY, {job_id: time.time() - seconds})


def message(task_id: str) -> dict:
    return {"body": "W10=", "headers": {"id": task_id, "task": "ocrq.ocr"}, "properties": {}}


def test_message_task_id_reads_protocol_2_and_1():
    assert message_task_id(message("abc")) == "abc"
    assert message_task_id({"headers": {}, "properties": {"correlation_id": "def"}}) == "def"
    assert message_task_id({}) is None


def test_queued_job_without_a_message_is_enqueued_again_on_the_second_look(store):
    sent: list[str] = []
    reconciler = Reconciler(store, sent.append, "node-a", interval=1)
    store.create("lost", b"x", {}), store.create("waiting", b"x", {}), store.create("fresh", b"x", {})
    age(store, "lost", 5), age(store, "waiting", 5)
    store.redis.lpush(OCR_QUEUE, json.dumps(message("waiting")))
    assert broker_task_ids(store.redis) == {"waiting"}
    assert reconciler.run_once() == []  # first look: only a suspect (a worker may be fetching it)
    assert reconciler.run_once() == ["lost"] == sent
    assert store.redis.zscore(PENDING_KEY, "lost") > time.time() - 1  # its clock restarted


def test_a_message_held_by_a_worker_counts_as_present(store):
    reconciler = Reconciler(store, [].append, "node-a", interval=1)
    store.create("held", b"x", {})
    age(store, "held", 5)
    store.redis.hset(BROKER_UNACKED_KEY, "tag-1", json.dumps([message("held"), "", "ocr"]))
    assert reconciler.run_once() == [] and reconciler.run_once() == []


def test_running_job_is_enqueued_again_only_when_its_node_is_gone(store):
    sent: list[str] = []
    reconciler = Reconciler(store, sent.append, "node-a", interval=1)
    for job_id, node in (("orphan", "node-dead"), ("busy", "node-alive")):
        store.create(job_id, b"x", {})
        assert store.claim(job_id, 3, node).should_run
        age(store, job_id, 5)
    store.redis.set(worker_key("node-alive"), "{}", ex=30)
    assert reconciler.run_once() == ["orphan"] == sent


def test_finished_and_expired_jobs_leave_the_pending_set(store):
    store.create("done", b"x", {})
    store.claim("done", 3, "n")
    assert store.redis.zscore(PENDING_KEY, "done") is not None
    store.succeed("done", {"text": ""})
    assert store.redis.zscore(PENDING_KEY, "done") is None  # the finish removes it
    store.redis.zadd(PENDING_KEY, {"expired": time.time() - 5})  # its record expired meanwhile
    assert Reconciler(store, [].append, "node-a", interval=1).run_once() == []
    assert not store.redis.exists(PENDING_KEY)


def test_one_node_reconciles_at_a_time(store):
    store.create("lost", b"x", {})
    age(store, "lost", 5)
    first, second = [], []
    a, b = Reconciler(store, first.append, "node-a", 1), Reconciler(store, second.append, "node-b", 1)
    for _ in range(2):
        a.run_once(), b.run_once()
    assert first == ["lost"] and second == []


def test_messages_in_every_priority_queue_and_the_webhook_queue_count_as_present(store):
    for queue, task_id in (("ocr.high", "hi"), ("ocr.low", "lo"), ("webhooks", "j:webhook")):
        store.redis.lpush(queue, json.dumps(message(task_id)))
    assert broker_task_ids(store.redis) == {"hi", "lo", "j:webhook"}
    reconciler = Reconciler(store, (sent := []).append, "node-a", interval=1)
    for job_id in ("hi", "lo"):
        store.create(job_id, b"x", {})
        age(store, job_id, 5)
    assert reconciler.run_once() == [] and reconciler.run_once() == [] and sent == []


def test_a_due_webhook_without_a_task_message_is_sent_again_on_the_second_look(store):
    sent: list[str] = []
    reconciler = Reconciler(store, [].append, "node-a", interval=1, enqueue_webhook=sent.append)
    now = time.time()
    store.redis.zadd(WEBHOOKS_DUE_KEY, {"lost": now - 5, "waiting": now - 5, "retrying": now - 5,
                                        "fresh": now})
    store.redis.lpush("webhooks", json.dumps(message(webhook_task_id("waiting"))))
    # a retry counting down is a message a worker holds, unacknowledged
    held = [message(webhook_task_id("retrying")), "", "webhooks"]
    store.redis.hset(BROKER_UNACKED_KEY, "t", json.dumps(held))
    reconciler.run_once()
    assert sent == []  # first look: only a suspect (a worker may be fetching it)
    reconciler.run_once()
    assert sent == ["lost"]
