"""Worker liveness in one sorted set scored by Redis server time, and the reconciler's lease."""

from __future__ import annotations

import time

from ocrq.store import WorkerRegistry
from ocrq.store.keys import WORKERS
from ocrq.store.workers import Lease


def test_live_nodes_are_those_that_beat_recently(scratch_redis):
    registry = WorkerRegistry(scratch_redis, live_seconds=1.0)
    registry.beat("ocrq@a-1")
    registry.beat("ocrq@b-2")
    assert registry.live() == {"ocrq@a-1", "ocrq@b-2"} and registry.count() == 2
    time.sleep(1.2)
    registry.beat("ocrq@b-2")
    assert registry.live() == {"ocrq@b-2"} and registry.count() == 1
    registry.leave("ocrq@b-2")
    assert registry.count() == 0


def test_a_heartbeat_is_scored_by_the_servers_clock_and_drops_long_silent_nodes(scratch_redis):
    seconds, _ = scratch_redis.time()
    scratch_redis.zadd(WORKERS, {"ocrq@gone-1": seconds - 2 * 86400})  # silent for two days
    WorkerRegistry(scratch_redis).beat("ocrq@a-1")
    members = dict(scratch_redis.zrange(WORKERS, 0, -1, withscores=True))
    assert list(members) == [b"ocrq@a-1"] and abs(members[b"ocrq@a-1"] - seconds) < 5


def test_probes_do_not_scan_the_keyspace(scratch_redis):
    """Counting workers costs the same with a day of job records in Redis: one sorted-set read."""
    for n in range(2000):
        scratch_redis.set(f"ocrq:job:{n}", "x")
    WorkerRegistry(scratch_redis).beat("ocrq@a-1")
    before = scratch_redis.info("commandstats")
    assert WorkerRegistry(scratch_redis).count() == 1
    after = scratch_redis.info("commandstats")
    assert after.get("cmdstat_scan", {}).get("calls", 0) == before.get("cmdstat_scan", {}).get("calls", 0)
    assert after.get("cmdstat_keys", {}).get("calls", 0) == before.get("cmdstat_keys", {}).get("calls", 0)


def test_a_lease_has_one_holder_until_it_lapses(scratch_redis):
    lease = Lease(scratch_redis, "ocrq:test-lease")
    assert lease.hold("a", 1) and lease.hold("a", 1) and not lease.hold("b", 1)
    time.sleep(1.1)
    assert lease.hold("b", 1) and not lease.hold("a", 1)
