"""The reconciler's decisions, against a real Redis (a database of its own) and a recording sender."""

from __future__ import annotations

import json
import time

import pytest

from ocrq.reconcile import Reconciler
from ocrq.store import BrokerView, JobStore, WorkerRegistry
from ocrq.store.keys import PENDING, UNACKED, WEBHOOKS_DUE
from ocrq.tasks import WORKER_QUEUES, webhook_task_id
from tests.support.broker import RecordingSender, age, alive, hold, queue


@pytest.fixture
def store(scratch_redis):
    return JobStore(scratch_redis, job_ttl=60, upload_ttl=60)


def reconciler(store: JobStore, node: str = "node-a") -> tuple[Reconciler, RecordingSender]:
    sender = RecordingSender()
    broker = BrokerView(store.redis, WORKER_QUEUES, reservation_ttl=60)
    return Reconciler(store, broker, WorkerRegistry(store.redis), sender, node, interval=1), sender


def queued_ids(store: JobStore, name: str = "ocr") -> list[str]:
    return [json.loads(raw)["headers"]["id"] for raw in store.redis.lrange(name, 0, -1)]


def test_queued_job_without_a_message_is_sent_again_on_the_second_look(store):
    rec, sender = reconciler(store)
    for job_id in ("lost", "waiting", "fresh"):
        store.create(job_id, b"x", {})
    age(store, "lost", 5), age(store, "waiting", 5)
    queue(store.redis, "waiting")
    assert rec.run_once().sent == []  # first look: only a suspect (a worker may be fetching it)
    assert rec.run_once().sent == ["lost"] == sender.sent
    assert store.redis.zscore(PENDING, "lost") > time.time() - 1  # its clock restarted


def test_a_message_held_by_a_live_or_unknown_node_counts_as_present(store):
    rec, sender = reconciler(store)
    alive(store.redis, "node-b")
    for job_id, node in (("held", "node-b"), ("unnoted", None)):
        store.create(job_id, b"x", {})
        age(store, job_id, 5)
        hold(store.redis, job_id, node)
    for _ in range(2):
        report = rec.run_once()
        assert report.sent == report.restored == []
    assert store.redis.hlen(UNACKED) == 2


def test_a_message_received_by_a_dead_node_is_handed_back_at_once(store):
    """A node SIGKILLed with a reserved, unstarted job: its message goes back to the front of its queue
    in the first pass, not after the visibility timeout."""
    rec, sender = reconciler(store)
    store.create("reserved", b"x", {"priority": "high"})
    age(store, "reserved", 5)
    queue(store.redis, "behind", "ocr.high")
    hold(store.redis, "reserved", "node-dead", name="ocr.high")  # node-dead never beats: not live
    report = rec.run_once()
    assert report.restored == ["reserved"] and sender.sent == []
    assert not store.redis.hlen(UNACKED)
    assert queued_ids(store, "ocr.high") == ["behind", "reserved"]  # the right end is taken next
    assert rec.run_once().restored == []  # once: it is in a queue now


def test_a_running_job_whose_node_is_gone_is_handed_back_or_sent_again(store):
    rec, sender = reconciler(store)
    for job_id in ("held", "gone"):
        store.create(job_id, b"x", {})
        assert store.claim(job_id, 3, "node-dead").should_run
        age(store, job_id, 5)
    hold(store.redis, "held", "node-dead")  # its message is still held: handed back, not duplicated
    report = rec.run_once()
    assert report.restored == ["held"] and report.sent == ["gone"] == sender.sent
    assert queued_ids(store) == ["held"]


def test_a_running_job_whose_task_ended_without_ending_it_is_sent_again(store):
    """The node is alive but the job's message is in no queue and held by no one: Celery killed the
    process at the hard time limit and acknowledged it, or the task raised after its claim."""
    rec, sender = reconciler(store)
    alive(store.redis, "node-alive")
    for job_id in ("stuck", "busy"):
        store.create(job_id, b"x", {})
        assert store.claim(job_id, 3, "node-alive").should_run
        age(store, job_id, 5)
    hold(store.redis, "busy", "node-alive")  # running: its message is held until the task returns
    assert rec.run_once().sent == []  # a suspect first
    alive(store.redis, "node-alive")
    age(store, "stuck", 5), age(store, "busy", 5)
    assert rec.run_once().sent == ["stuck"] == sender.sent
    claim = store.claim("stuck", 3, "node-alive")  # the next delivery counts: it cannot loop forever
    assert claim.should_run and claim.attempts == 2


def test_finished_and_expired_jobs_leave_the_pending_set(store):
    store.create("done", b"x", {})
    store.claim("done", 3, "n")
    assert store.redis.zscore(PENDING, "done") is not None
    store.succeed("done", {"text": ""})
    assert store.redis.zscore(PENDING, "done") is None  # the end removes it
    store.redis.zadd(PENDING, {"expired": time.time() - 5})  # its record expired meanwhile
    assert reconciler(store)[0].run_once().forgotten == ["expired"]
    assert not store.redis.exists(PENDING)


def test_one_node_reconciles_at_a_time(store):
    store.create("lost", b"x", {})
    age(store, "lost", 5)
    (a, first), (b, second) = reconciler(store, "node-a"), reconciler(store, "node-b")
    for _ in range(2):
        a.run_once(), b.run_once()
    assert first.sent == ["lost"] and second.sent == []


def test_messages_in_every_priority_queue_and_the_webhook_queue_count_as_present(store):
    for name, task_id in (("ocr.high", "hi"), ("ocr.low", "lo"), ("webhooks", "j:webhook")):
        queue(store.redis, task_id, name)
    snapshot = BrokerView(store.redis, WORKER_QUEUES, 60).snapshot()
    assert snapshot.queued == {"hi", "lo", "j:webhook"} and snapshot.held == {}
    rec, sender = reconciler(store)
    for job_id in ("hi", "lo"):
        store.create(job_id, b"x", {})
        age(store, job_id, 5)
    assert rec.run_once().sent == [] and rec.run_once().sent == [] and sender.sent == []


def test_a_due_webhook_without_a_task_message_is_sent_again_on_the_second_look(store):
    rec, sender = reconciler(store)
    alive(store.redis, "node-b")
    now = time.time()
    store.redis.zadd(WEBHOOKS_DUE, {"lost": now - 5, "waiting": now - 5, "retrying": now - 5,
                                    "orphaned": now - 5, "fresh": now})
    queue(store.redis, webhook_task_id("waiting"), "webhooks")
    # a retry counting down is a message a worker holds, unacknowledged
    hold(store.redis, webhook_task_id("retrying"), "node-b", name="webhooks")
    hold(store.redis, webhook_task_id("orphaned"), "node-dead", name="webhooks")
    report = rec.run_once()
    assert report.sent == [] and report.restored == ["orphaned:webhook"]  # the rest: suspects for now
    assert rec.run_once().sent == ["lost:webhook"] == sender.sent



def admit(shares, owner: str, *task_ids: str) -> None:
    from ocrq.store.shares import score

    for task_id in task_ids:
        shares.admit(owner, [(task_id, score("normal", shares.order(task_id.partition(":p")[0])))])


def test_a_pass_frees_the_slots_of_ended_tasks_and_asks_for_the_owners_release(store):
    """Fair sharing (ocrq/store/shares.py): a task that ended without freeing its slot (its process died)
    is dropped from its key's in-flight set; the key's held tasks are released (the real sender sends
    them); a held job has no message on purpose and is never sent again by the pass itself."""
    from ocrq.store.shares import ShareStore

    rec, sender = reconciler(store)
    shares = ShareStore(store.redis, cap=1)
    for job_id in ("ended", "held"):
        store.create(job_id, b"x", {}, owner="k")
    admit(shares, "k", "ended", "held")
    assert shares.in_flight("k") == {"ended"} and shares.held("k") == ["held"]
    store.cancel("ended", "k")
    age(store, "ended", 5)
    report = rec.run_once()
    assert report.landed == ["ended"] and shares.in_flight("k") == set()
    assert sender.released == ["k"]
    assert rec.run_once().sent == [] == sender.sent  # "held" is scored +inf in the pending set


def test_held_pages_of_a_document_are_not_sent_again_but_a_lost_released_one_is(store):
    from ocrq.store import PageStore
    from ocrq.store.shares import ShareStore

    rec, sender = reconciler(store)
    shares = ShareStore(store.redis, cap=1)
    store.create("doc", b"x", {}, owner="k", document={"format": "pdf", "pages": 2})
    assert store.claim("doc", 3, "node-a").should_run
    assert PageStore(store.redis, 60).split_done("doc")
    admit(shares, "k", "doc:p1", "doc:p2")  # p1 released (its message is then lost), p2 held
    age(store, "doc", 5)
    for _ in range(2):
        rec.run_once()
    assert sender.sent == ["doc:p1"] and shares.held("k") == ["doc:p2"]


def test_a_missed_release_is_repaired_by_the_pass_with_the_real_sender(store, redis_server):
    """A process ended a job and died before its task freed the slot: the next pass drops the slot and
    sends the key's next held job to the broker (kombu's list for its priority)."""
    from ocrq.config import Settings
    from ocrq.queue import JobQueue

    queue = JobQueue(Settings(redis_url=redis_server.url.rsplit("/", 1)[0] + "/15", key_in_flight=1))
    first = queue.submit(b"x", {"priority": "normal"}, owner="k").job_id
    held = queue.submit(b"x", {"priority": "low"}, owner="k").job_id
    assert queue.dispatcher.shares.held("k") == [held] and queued_ids(store) == [first]
    store.redis.delete("ocr")
    assert store.claim(first, 3, "node-a").should_run and store.succeed(first, {"text": ""})
    rec = Reconciler(queue.store, queue.broker, queue.workers, queue, "node-a", interval=1)
    report = rec.run_once()
    assert report.landed == [first] and report.released == [held]
    assert queued_ids(store, "ocr.low") == [held]
    assert queue.dispatcher.shares.in_flight("k") == {held} and queue.dispatcher.shares.held("k") == []
