"""Fair sharing between owners (API keys): each owner has at most a cap of tasks in flight (sent to the
broker, or running), a document's pages counted one by one; what is over its cap is held in the owner's
own sorted set, by priority then submission, and released (marked in flight, then sent) as the owner's
tasks end.

Admission and release are one Lua script each over the owner's in-flight set and held queue: "hold these,
then take the next held while in flight < cap, and mark them in flight". A held job's entry in the
pending set is scored +inf (the reconciler does not look at it while it is held) and set to now when it
is released, in the same script, so a release whose task was never sent (its process died) is found by
the reconciler like any lost message. The cap is OCRQ_KEY_IN_FLIGHT, or by default the OCR processes the
live worker nodes report (ocrq/store/workers.py), at least 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis

from ocrq.store.jobs import FINISHED
from ocrq.store.keys import (
    PENDING,
    SHARE_OWNERS,
    WORKER_PROCESSES,
    WORKERS,
    flight_key,
    held_key,
    job_key,
    pages_key,
)
from ocrq.store.workers import LIVE_PROCESSES, LIVE_SECONDS

# Held tasks are scored rank x ORDER_SPAN + order: every high one before any normal, then by submission.
# A job's order is the Redis server's clock in microseconds since 2024 (under 10^15 until 2055: the scores
# stay exact in a double), and page n of a document is ordered n microseconds after it.
PRIORITY_RANKS = ("high", "normal", "low")
ORDER_SPAN = 10**15
ORDER_EPOCH = 1_704_067_200

_PRELUDE = LIVE_PROCESSES + """
local FLIGHT, HELD, OWNERS, PENDING = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local OWNER, FIXED_CAP, LIVE = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

local function cap()
  if FIXED_CAP > 0 then return FIXED_CAP end
  return math.max(1, live_processes(KEYS[5], KEYS[6], LIVE))
end

-- A job's own task (not a page): its pending entry follows it (+inf while held, now once released).
local function is_job(task) return not string.find(task, ':p', 1, true) end

-- Take the owner's next held tasks while it has room, and mark each in flight: {task, score, ...}.
local function release()
  local out = {}
  local room = cap() - redis.call('SCARD', FLIGHT)
  if room > 0 then
    local now = redis.call('TIME')[1]
    local next = redis.call('ZRANGE', HELD, 0, room - 1, 'WITHSCORES')
    for i = 1, #next, 2 do
      redis.call('ZREM', HELD, next[i])
      redis.call('SADD', FLIGHT, next[i])
      if is_job(next[i]) then redis.call('ZADD', PENDING, 'XX', now, next[i]) end
      out[#out + 1] = next[i]
      out[#out + 1] = next[i + 1]
    end
  end
  if redis.call('ZCARD', HELD) == 0 and redis.call('SCARD', FLIGHT) == 0 then
    redis.call('SREM', OWNERS, OWNER)
  end
  return out
end
"""

# ARGV[4..]: task, score, task, score, ... Hold each (unless it is in flight already), then release.
_ADMIT = _PRELUDE + """
redis.call('SADD', OWNERS, OWNER)
for i = 4, #ARGV, 2 do
  local task = ARGV[i]
  if redis.call('SISMEMBER', FLIGHT, task) == 0 then
    redis.call('ZADD', HELD, 'NX', ARGV[i + 1], task)
    if is_job(task) then redis.call('ZADD', PENDING, 'XX', '+inf', task) end
  end
end
return release()
"""

# ARGV[4]: the task that ended (no longer in flight), then release.
_FINISH = _PRELUDE + """
redis.call('SREM', FLIGHT, ARGV[4])
return release()
"""

_RELEASE = _PRELUDE + """
return release()
"""


# KEYS: job. ARGV: the order epoch. A job's place in line, kept on its record for its pages.
_ORDER = """
local now = redis.call('TIME')
local order = (tonumber(now[1]) - tonumber(ARGV[1])) * 1000000 + tonumber(now[2])
redis.call('HSET', KEYS[1], 'order', order)
return order
"""


@dataclass(frozen=True)
class Released:
    """A task taken from its owner's held queue and marked in flight: to be sent to ``priority``'s queue."""

    task_id: str
    priority: str


def score(priority: str | None, order: int) -> int:
    """The held queue's score of a task: its priority's rank, then its submission order."""
    rank = PRIORITY_RANKS.index(priority) if priority in PRIORITY_RANKS else 1
    return rank * ORDER_SPAN + order


def split_task_id(task_id: str) -> tuple[str, int]:
    """(job id, page) of a task id (ocrq/tasks.py ``page_task_id``); page 0 for a job's own task."""
    job_id, _, page = task_id.partition(":p")
    return job_id, int(page) if page.isdigit() else 0


class ShareStore:
    """Every owner's in-flight set and held queue; ``cap`` 0 follows the live worker processes."""

    def __init__(self, client: redis.Redis, cap: int = 0, live_seconds: float = LIVE_SECONDS) -> None:
        self.redis = client
        self.cap = cap
        self.live_seconds = live_seconds
        self._admit = client.register_script(_ADMIT)
        self._finish = client.register_script(_FINISH)
        self._release = client.register_script(_RELEASE)
        self._order = client.register_script(_ORDER)

    def _run(self, script, owner: str, *args: str | int) -> list[Released]:
        keys = [flight_key(owner), held_key(owner), SHARE_OWNERS, PENDING, WORKERS, WORKER_PROCESSES]
        reply = script(keys=keys, args=[owner, self.cap, self.live_seconds, *args])
        pairs = [(reply[i].decode(), float(reply[i + 1])) for i in range(0, len(reply), 2)]
        return [Released(task, PRIORITY_RANKS[min(2, int(value // ORDER_SPAN))]) for task, value in pairs]

    def order(self, job_id: str) -> int:
        """Job ``job_id``'s place in line: taken when it is first admitted, then read from its record."""
        known = self.redis.hget(job_key(job_id), "order")
        if known:
            return int(known)
        return int(self._order(keys=[job_key(job_id)], args=[ORDER_EPOCH]))

    def owner_of(self, job_id: str) -> str | None:
        """The owner on the job's record (None: no such job)."""
        owner = self.redis.hget(job_key(job_id), "owner")
        return owner.decode() if isinstance(owner, bytes) else None

    def admit(self, owner: str, tasks: Sequence[tuple[str, int]]) -> list[Released]:
        """Hold ``tasks`` (task id, score) for ``owner``, then release what its cap lets through (these,
        or older held ones first): the tasks to send now."""
        return self._run(self._admit, owner, *[part for task in tasks for part in task])

    def finish(self, owner: str, task_id: str) -> list[Released]:
        """``task_id`` of ``owner`` ended: out of flight; the owner's next held tasks to send now."""
        return self._run(self._finish, owner, task_id)

    def release(self, owner: str) -> list[Released]:
        """The owner's next held tasks, if it has room (the reconciler's repair of a missed release)."""
        return self._run(self._release, owner)

    def in_flight(self, owner: str) -> set[str]:
        return {task.decode() for task in self.redis.smembers(flight_key(owner))}  # type: ignore[union-attr]

    def held(self, owner: str) -> list[str]:
        """The owner's held task ids, next to be released first."""
        return [task.decode() for task in self.redis.zrange(held_key(owner), 0, -1)]  # type: ignore[union-attr]

    def held_among(self, owner: str, task_ids: Sequence[str]) -> set[str]:
        """Which of ``task_ids`` are held (not sent) for ``owner``."""
        scores = self.redis.zmscore(held_key(owner), list(task_ids)) if task_ids else []
        return {task for task, value in zip(task_ids, scores, strict=True) if value is not None}

    def unhold(self, owner: str, task_ids: Iterable[str]) -> None:
        """Take ``task_ids`` out of ``owner``'s held queue (a canceled job's): they will not be sent."""
        ids = list(task_ids)
        if ids:
            self.redis.zrem(held_key(owner), *ids)

    def land(self, owner: str, task_ids: Iterable[str]) -> None:
        """Take ``task_ids`` out of ``owner``'s in-flight set (they ended without saying so)."""
        ids = list(task_ids)
        if ids:
            self.redis.srem(flight_key(owner), *ids)

    def owners(self) -> list[str]:
        """The owners with tasks in flight or held."""
        return sorted(owner.decode() for owner in self.redis.smembers(SHARE_OWNERS))  # type: ignore[union-attr]

    def ended(self, task_ids: Sequence[str]) -> list[bool]:
        """Whether each task has ended for good: its job is gone or finished, its page recorded, or (a
        document's own task) its pages were all sent."""
        with self.redis.pipeline(transaction=False) as pipe:
            for task_id in task_ids:
                job_id, page = split_task_id(task_id)
                pipe.hmget(job_key(job_id), "status", "pages", "worker")
                if page:
                    pipe.hexists(pages_key(job_id), f"result:{page}")
            replies = iter(pipe.execute() if task_ids else [])
        verdicts = []
        for task_id in task_ids:
            status, pages, worker = (v.decode() if v else None for v in next(replies))
            recorded = bool(next(replies)) if split_task_id(task_id)[1] else False
            over = status is None or status in FINISHED
            split = not split_task_id(task_id)[1] and bool(pages) and status == "running" and not worker
            verdicts.append(over or recorded or split)
        return verdicts
