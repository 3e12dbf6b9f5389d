"""The Lua shared by every script that may end a job: one argument order and one ``end_job``.

A job ends in exactly one script run (finished, failed, exhausted, its last page recorded, canceled), and
every end does the same things in the same step: the record gets its status and expires from now, the
upload and the pages go (a succeeded job created with ``keep_upload`` keeps its upload as long as its
record: the searchable PDF and the page images are drawn from it), the job leaves the pending set, the
end is published, and a job with a ``callback_url`` becomes due for its webhook. Written once here,
prepended to each such script.

Every job script is called with ``keys.job_keys(id)`` and ARGV starting with the same four values:

    KEYS[1] job   KEYS[2] upload   KEYS[3] events channel   KEYS[4] pending   KEYS[5] pages   KEYS[6] due
    ARGV[1] job id   ARGV[2] now (ISO 8601)   ARGV[3] now (epoch s)   ARGV[4] job TTL (s)   ARGV[5..] own
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import redis

from ocrq.store.keys import job_keys

PRELUDE = """
local JOB, UPLOAD, EVENTS, PENDING, PAGES, DUE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local ID, NOW, EPOCH, TTL = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

-- The job's webhook is due if its options name a callback_url (ZADD NX: due once, from its first end).
local function webhook_due()
  local options = redis.call('HGET', JOB, 'options')
  if not options then return end
  local url = cjson.decode(options)['callback_url']
  if url and url ~= cjson.null and url ~= '' then redis.call('ZADD', DUE, 'NX', EPOCH, ID) end
end

-- End the job with ``status`` (and one more field, e.g. 'result' or 'error', when ``field`` is given).
local function end_job(status, field, value, notify)
  if field then
    redis.call('HSET', JOB, 'status', status, 'finished_at', NOW, field, value)
  else
    redis.call('HSET', JOB, 'status', status, 'finished_at', NOW)
  end
  if status == 'succeeded' and redis.call('HGET', JOB, 'keep_upload') == '1' then
    redis.call('DEL', PAGES)
    redis.call('EXPIRE', UPLOAD, TTL)
  else
    redis.call('DEL', UPLOAD, PAGES)
  end
  redis.call('EXPIRE', JOB, TTL)
  redis.call('ZREM', PENDING, ID)
  redis.call('PUBLISH', EVENTS, status)
  if notify ~= false then webhook_due() end
end
"""


def now_iso() -> str:
    return iso_at(time.time())


def iso_at(epoch: float) -> str:
    """``epoch`` (s) as ISO 8601 in UTC with milliseconds and a ``Z``."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def decoded(value: Any) -> Any:
    """A script's reply with bytes turned into str (lists element by element)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [decoded(v) for v in value]
    return value


class JobScript:
    """A Lua script on one job, called with the shared KEYS and leading ARGV (the prelude's)."""

    def __init__(self, client: redis.Redis, body: str, job_ttl: int) -> None:
        self._script = client.register_script(PRELUDE + body)
        self.job_ttl = job_ttl

    def __call__(self, job_id: str, *args: str | int | float) -> Any:
        leading: Sequence[str | int | float] = (job_id, now_iso(), time.time(), self.job_ttl)
        return decoded(self._script(keys=job_keys(job_id), args=[*leading, *args]))
