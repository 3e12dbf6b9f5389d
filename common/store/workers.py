"""Worker liveness: one sorted set of node names scored by their last heartbeat, in Redis server time.

A probe counts live nodes with one ZCOUNT instead of scanning the keyspace, and the scores come from the
Redis server's clock (``TIME`` inside the scripts), so nodes on machines whose clocks differ still agree
on who is alive. A node is live for LIVE_SECONDS after its last heartbeat; one silent for a day is dropped.
"""

from __future__ import annotations

import redis

from ocrq.store.keys import WORKER_PROCESSES, WORKERS

HEARTBEAT_SECONDS = 2  # how often a node reports (ocrq/worker/lifecycle.py)
# The reconciler's notion of a live node: a node silent this long has its held messages handed back, so
# it is generous (a node stalled by a loaded machine for a few seconds must not see its jobs run twice).
LIVE_SECONDS = 15
# /readyz's: a node that missed three heartbeats is not counted as a worker that will take a job.
READY_SECONDS = 3 * HEARTBEAT_SECONDS
FORGET_SECONDS = 86400

# KEYS: workers, processes. ARGV: node, forget after (s), OCR processes it runs.
_BEAT = """
local now = redis.call('TIME')
redis.call('ZADD', KEYS[1], now[1] + now[2] / 1000000, ARGV[1])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now[1] - tonumber(ARGV[2]))
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now[1] - tonumber(ARGV[2]))
if #gone > 0 then redis.call('HDEL', KEYS[2], unpack(gone)) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
"""

# A Lua function for scripts that are given the workers sorted set and the processes hash: how many OCR
# processes the live nodes run, by the Redis server's clock (ocrq/store/shares.py sizes its cap with it).
LIVE_PROCESSES = """
local function live_processes(workers, processes, live_seconds)
  local now = redis.call('TIME')
  local nodes = redis.call('ZRANGEBYSCORE', workers, now[1] + now[2] / 1000000 - live_seconds, '+inf')
  if #nodes == 0 then return 0 end
  local total = 0
  for _, n in ipairs(redis.call('HMGET', processes, unpack(nodes))) do total = total + (tonumber(n) or 0) end
  return total
end
"""

# KEYS: workers, processes. ARGV: live seconds.
_PROCESSES = LIVE_PROCESSES + """
return live_processes(KEYS[1], KEYS[2], tonumber(ARGV[1]))
"""

# KEYS: workers. ARGV: live seconds. The names of the live nodes.
_LIVE = """
local now = redis.call('TIME')
return redis.call('ZRANGEBYSCORE', KEYS[1], now[1] + now[2] / 1000000 - tonumber(ARGV[1]), '+inf')
"""

# KEYS: workers. ARGV: live seconds. How many nodes are live.
_COUNT = """
local now = redis.call('TIME')
return redis.call('ZCOUNT', KEYS[1], now[1] + now[2] / 1000000 - tonumber(ARGV[1]), '+inf')
"""


class WorkerRegistry:
    """Heartbeats in, live nodes out."""

    def __init__(self, client: redis.Redis, live_seconds: float = LIVE_SECONDS) -> None:
        self.redis = client
        self.live_seconds = live_seconds
        self._beat = client.register_script(_BEAT)
        self._live = client.register_script(_LIVE)
        self._count = client.register_script(_COUNT)
        self._processes = client.register_script(_PROCESSES)

    def beat(self, node: str, processes: int = 0) -> None:
        """Node ``node`` is alive now, running ``processes`` OCR processes (0: it consumes webhooks only)."""
        self._beat(keys=[WORKERS, WORKER_PROCESSES], args=[node, FORGET_SECONDS, processes])

    def leave(self, node: str) -> None:
        """Node ``node`` stopped cleanly: not live from now on."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(WORKERS, node)
            pipe.hdel(WORKER_PROCESSES, node)
            pipe.execute()

    def processes(self) -> int:
        """How many OCR processes the live nodes run, in all."""
        return int(self._processes(keys=[WORKERS, WORKER_PROCESSES], args=[self.live_seconds]))

    def live(self) -> set[str]:
        """The nodes whose last heartbeat is at most ``live_seconds`` old."""
        return {name.decode() for name in self._live(keys=[WORKERS], args=[self.live_seconds])}

    def count(self, within: float | None = None) -> int:
        """How many nodes sent a heartbeat in the last ``within`` seconds (default ``live_seconds``)."""
        return int(self._count(keys=[WORKERS], args=[within or self.live_seconds]))


# KEYS: the lease. ARGV: holder, seconds. Take the lease if it is free or already ours; renew it either way.
_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
"""


class Lease:
    """A job for one node at a time (the reconciler's passes): held while renewed, free once it lapses."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.key = key
        self._take = client.register_script(_LEASE)

    def hold(self, holder: str, seconds: int) -> bool:
        """Take or renew the lease for ``seconds``; False while another holder has it."""
        return bool(self._take(keys=[self.key], args=[holder, seconds]))
