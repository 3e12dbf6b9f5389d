"""What submissions are allowed, per owner (API key) and for the whole server: the jobs waiting (stored,
not started yet: held ones included) and the jobs submitted per minute.

A job is counted waiting from its submission until a worker claims it (ocrq/worker/tasks.py) or it is
canceled; what those calls miss (a process that died between the claim and the count, a job that ended
some other way) the reconciler's pass drops (``tidy``). One Lua script checks every limit and counts the
submission, so two requests of one key cannot both take its last minute's slot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from ocrq.store.keys import WAITING, job_key, owner_waiting_key, rate_key

RATE_WINDOW = 60  # seconds: OCRQ_KEY_JOBS_PER_MINUTE counts in fixed minutes (epoch s // 60)

# KEYS: waiting, the owner's waiting, the owner's rate counter for this minute.
# ARGV: jobs asked for, OCRQ_MAX_QUEUE_DEPTH, OCRQ_KEY_MAX_QUEUED, OCRQ_KEY_JOBS_PER_MINUTE (0: no limit).
# The global bound refuses only an owner that has jobs waiting already: one key's backlog never refuses
# another key's first job (the server then holds at most the bound + one request per other key).
_CHECK = """
local n, depth = tonumber(ARGV[1]), tonumber(ARGV[2])
local key_max, per_minute = tonumber(ARGV[3]), tonumber(ARGV[4])
local mine = redis.call('ZCARD', KEYS[2])
if key_max > 0 and mine + n > key_max then return 'key_queue_full' end
local used = tonumber(redis.call('GET', KEYS[3]) or '0')
if per_minute > 0 and used + n > per_minute then return 'key_rate_limited' end
if mine > 0 and redis.call('ZCARD', KEYS[1]) + n > depth then return 'queue_full' end
if per_minute > 0 then
  redis.call('INCRBY', KEYS[3], n)
  redis.call('EXPIRE', KEYS[3], 2 * 60)
end
return 'ok'
"""


@dataclass(frozen=True)
class Verdict:
    """``ok``, or the limit that refuses the submission and how many seconds until it may pass."""

    limit: str
    retry_after: int

    @property
    def ok(self) -> bool:
        return self.limit == "ok"


class QuotaStore:
    """The waiting sets and the per-minute counters; the limits come with each ``check``."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._check = client.register_script(_CHECK)

    def check(self, owner: str, jobs: int, max_queue_depth: int, key_max_queued: int,
              key_jobs_per_minute: int) -> Verdict:
        """Whether ``owner`` may submit ``jobs`` more now; if so they are counted in this minute (when
        there is a per-minute limit)."""
        now = time.time()
        minute = int(now // RATE_WINDOW)
        limit = str(self._check(keys=[WAITING, owner_waiting_key(owner), rate_key(owner, minute)],
                                args=[jobs, max_queue_depth, key_max_queued, key_jobs_per_minute]).decode())
        if limit == "key_rate_limited":  # the count starts again with the next minute
            return Verdict(limit, max(1, int((minute + 1) * RATE_WINDOW - now + 0.999)))
        return Verdict(limit, 0 if limit == "ok" else 5)

    def waiting(self, owner: str, job_id: str) -> None:
        """A job was submitted: it waits until claimed."""
        now = time.time()
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(WAITING, {_member(owner, job_id): now})
            pipe.zadd(owner_waiting_key(owner), {job_id: now})
            pipe.execute()

    def started(self, owner: str, job_id: str) -> None:
        """The job was claimed, canceled or undone: no longer waiting."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(WAITING, _member(owner, job_id))
            pipe.zrem(owner_waiting_key(owner), job_id)
            pipe.execute()

    def count(self, owner: str | None = None) -> int:
        """Jobs waiting: the owner's, or (None) everyone's."""
        return int(self.redis.zcard(WAITING if owner is None else owner_waiting_key(owner)))

    def tidy(self, older_than: float, limit: int = 1000) -> list[str]:
        """Drop jobs counted waiting since before ``older_than`` (epoch s) that are no longer queued."""
        found: list[bytes] = self.redis.zrangebyscore(WAITING, "-inf", older_than, 0, limit)  # type: ignore[assignment]
        entries = [i.decode().rpartition(" ") for i in found]
        with self.redis.pipeline(transaction=False) as pipe:
            for _, _, job_id in entries:
                pipe.hget(job_key(job_id), "status")
            statuses = pipe.execute() if entries else []
        gone = []
        for (owner, _, job_id), status in zip(entries, statuses, strict=True):
            if status != b"queued":
                self.started(owner, job_id)
                gone.append(job_id)
        return gone


def _member(owner: str, job_id: str) -> str:
    """A job in the server-wide waiting set, with its owner (an owner has no space): ``<owner> <job>``."""
    return f"{owner} {job_id}"
