"""The per-owner cap on tasks in flight and the held queue (ocrq/store/shares.py), and the per-owner limits
(ocrq/store/quotas.py), against a real Redis (a database of their own)."""

from __future__ import annotations

import math
import time

import pytest

from ocrq.store import JobStore, WorkerRegistry
from ocrq.store.keys import PENDING, SHARE_OWNERS, job_key
from ocrq.store.quotas import QuotaStore
from ocrq.store.shares import ShareStore, score


@pytest.fixture
def jobs(scratch_redis):
    return JobStore(scratch_redis, job_ttl=60, upload_ttl=60)


def admit(shares: ShareStore, owner: str, job_id: str, priority: str = "normal") -> list[str]:
    return [r.task_id for r in shares.admit(owner, [(job_id, score(priority, shares.order(job_id)))])]


def test_an_owner_gets_its_cap_in_flight_and_the_rest_is_held_by_priority_then_submission(jobs):
    shares = ShareStore(jobs.redis, cap=2)
    for job_id in ("a1", "a2", "a3", "a4", "b1"):
        jobs.create(job_id, b"x", {}, owner=job_id[0])
    assert admit(shares, "a", "a1") == ["a1"] and admit(shares, "a", "a2") == ["a2"]
    assert admit(shares, "a", "a3") == [] and admit(shares, "a", "a4", "high") == []
    assert admit(shares, "b", "b1") == ["b1"]  # another owner's first task is not behind a's
    assert shares.held("a") == ["a4", "a3"] and shares.in_flight("a") == {"a1", "a2"}
    assert jobs.redis.zscore(PENDING, "a3") == math.inf  # held: not the reconciler's to look at
    released = shares.finish("a", "a1")
    assert [(r.task_id, r.priority) for r in released] == [("a4", "high")]
    assert jobs.redis.zscore(PENDING, "a4") < time.time() + 1  # released: watched like any sent task
    assert shares.finish("a", "a1") == []  # a task that returns twice frees one slot
    assert [r.task_id for r in shares.finish("a", "a2")] == ["a3"]
    for task in ("a3", "a4"):
        shares.finish("a", task)
    assert shares.owners() == ["b"]  # nothing held nor in flight: a is forgotten


def test_a_documents_pages_keep_its_place_in_line(jobs):
    shares = ShareStore(jobs.redis, cap=1)
    jobs.create("doc", b"x", {}, document={"format": "pdf", "pages": 3})
    jobs.create("later", b"x", {})
    base = shares.order("doc")
    assert shares.order("doc") == base  # kept on the record
    assert admit(shares, "", "doc") == ["doc"] and admit(shares, "", "later") == []
    pages = [(f"doc:p{n}", score("normal", base + n)) for n in (1, 2, 3)]
    assert shares.admit("", pages) == []
    assert shares.held("") == ["doc:p1", "doc:p2", "doc:p3", "later"]
    assert shares.held_among("", ["doc:p2", "doc:p9"]) == {"doc:p2"}
    assert shares.admit("", [("doc", 1)]) == []  # in flight already: not held a second time
    assert "doc" not in shares.held("")


def test_unhold_releases_nothing_and_ended_tasks_are_recognised(jobs):
    shares = ShareStore(jobs.redis, cap=1)
    for job_id in ("run", "held"):
        jobs.create(job_id, b"x", {})
        admit(shares, "", job_id)
    shares.unhold("", ["held"])  # a canceled held job: no slot was freed
    assert shares.held("") == [] and shares.in_flight("") == {"run"}
    assert shares.ended(["run", "gone", "run:p1"]) == [False, True, False]
    jobs.cancel("run")
    assert shares.ended(["run"]) == [True]
    shares.land("", ["run"])
    assert shares.in_flight("") == set()


def test_the_default_cap_is_the_live_ocr_processes(jobs):
    shares = ShareStore(jobs.redis)  # cap 0: follow the workers
    for n in range(6):
        jobs.create(f"j{n}", b"x", {})
    assert admit(shares, "", "j0") == ["j0"] and admit(shares, "", "j1") == []  # no worker: 1
    registry = WorkerRegistry(jobs.redis)
    registry.beat("node-a", 2)
    registry.beat("node-b", 0)  # webhooks only: no OCR process
    assert registry.processes() == 2
    assert [r.task_id for r in shares.release("")] == ["j1"]
    registry.beat("node-c", 3)
    assert admit(shares, "", "j2") == ["j2"]
    assert [r.task_id for r in shares.release("")] == []  # 3 in flight, 5 processes: room for 2
    for n in (3, 4, 5):
        admit(shares, "", f"j{n}")
    assert shares.in_flight("") == {"j0", "j1", "j2", "j3", "j4"} and shares.held("") == ["j5"]
    registry.leave("node-c")
    assert registry.processes() == 2 and jobs.redis.sismember(SHARE_OWNERS, "")


def test_quotas_name_the_limit_that_refuses(scratch_redis):
    quotas = QuotaStore(scratch_redis)
    assert quotas.check("a", 1, 2, 0, 0).ok
    quotas.waiting("a", "a1")
    quotas.waiting("a", "a2")
    assert quotas.check("a", 1, 100, 2, 0).limit == "key_queue_full"
    assert quotas.check("a", 1, 2, 0, 0).limit == "queue_full"
    assert quotas.check("b", 1, 2, 0, 0).ok  # the server is full, but b has nothing waiting
    quotas.waiting("b", "b1")
    assert quotas.check("b", 1, 2, 0, 0).limit == "queue_full"
    rated = quotas.check("c", 2, 100, 0, 2)  # counted: 2 of 2 this minute
    assert rated.ok
    refused = quotas.check("c", 1, 100, 0, 2)
    assert refused.limit == "key_rate_limited" and 1 <= refused.retry_after <= 60
    assert quotas.count() == 3 and quotas.count("a") == 2
    quotas.started("a", "a1")
    assert quotas.count() == 2 and quotas.count("a") == 1


def test_tidy_drops_jobs_that_are_no_longer_queued(jobs):
    quotas = QuotaStore(jobs.redis)
    for job_id in ("waits", "ran", "gone"):
        jobs.create(job_id, b"x", {}, owner="k")
        quotas.waiting("k", job_id)
    jobs.claim("ran", 3, "node")
    jobs.redis.delete(job_key("gone"))
    assert sorted(quotas.tidy(time.time() + 1)) == ["gone", "ran"]
    assert quotas.count("k") == 1 == quotas.count()
