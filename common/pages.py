"""The pages of a multi-page document job in Redis: each page is a task of its own, claimed and recorded
by one Lua script each, like a job (common/jobs.py).

    ocrq:pages:<id>  hash: result:<n> (page JSON), text:<n>, attempts:<n>, node:<n> and pid:<n> (who
                     claimed page n last); deleted when the job ends

A page is recorded at most once (HSETNX); the job hash counts the recorded pages in ``pages_done``. The
recording that brings ``pages_done`` to the page count also assembles the document's result and finishes
the job, in the same script: there is no moment at which every page is recorded but the job is still
running, so no second assembler can exist, whatever is redelivered or runs twice. A page delivered after
that finds the job finished and is skipped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import redis

from ocrq.jobs import Claim, job_key, job_keys, now_iso, pages_key, webhook_due

# How the joined ``text`` of a document separates its pages (common/formats.py writes the same).
PAGE_SEPARATOR = "\n\f\n"

# KEYS: job, upload, events channel, pending set, pages hash, webhooks due.
# ARGV: page, max_attempts, now, job_ttl, exhausted error JSON, node, now (epoch s), id, pid.
_CLAIM_PAGE = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', 0} end
if status ~= 'running' then return {'finished', 0} end
local page, total = tonumber(ARGV[1]), tonumber(redis.call('HGET', KEYS[1], 'pages'))
if not total or not page or page < 1 or page > total or page % 1 ~= 0 then return {'invalid', 0} end
if redis.call('HEXISTS', KEYS[5], 'result:' .. page) == 1 then return {'done', 0} end
local attempts = redis.call('HINCRBY', KEYS[5], 'attempts:' .. page, 1)
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[4]))
if attempts > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'status', 'failed', 'finished_at', ARGV[3], 'error', ARGV[5])
  redis.call('DEL', KEYS[2], KEYS[5])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
  redis.call('ZREM', KEYS[4], ARGV[8])
  redis.call('PUBLISH', KEYS[3], 'failed')
  """ + webhook_due(7, 8) + """
  return {'exhausted', attempts}
end
redis.call('HSET', KEYS[5], 'node:' .. page, ARGV[6], 'pid:' .. page, ARGV[9])
redis.call('ZADD', KEYS[4], tonumber(ARGV[7]), ARGV[8])
return {'run', attempts}
"""

# KEYS: job, upload, events channel, pending set, pages hash, webhooks due.
# ARGV: page, page JSON, page text, now, job_ttl, id, head JSON (an object: the result's other fields),
#       page separator, now (epoch s).
# The result is put together from the stored JSON texts, not decoded and re-encoded: Redis's cjson
# would turn an empty list of lines into {}. Only the joined text goes through cjson.encode.
_RECORD_PAGE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 'dropped' end
local page, total = tonumber(ARGV[1]), tonumber(redis.call('HGET', KEYS[1], 'pages'))
if not total or not page or page < 1 or page > total or page % 1 ~= 0 then return 'invalid' end
if redis.call('HSETNX', KEYS[5], 'result:' .. page, ARGV[2]) == 0 then return 'duplicate' end
redis.call('HSET', KEYS[5], 'text:' .. page, ARGV[3])
local done = redis.call('HINCRBY', KEYS[1], 'pages_done', 1)
if done < total then return 'recorded' end
local pages, texts = {}, {}
for i = 1, total do
  pages[i] = redis.call('HGET', KEYS[5], 'result:' .. i)
  texts[i] = redis.call('HGET', KEYS[5], 'text:' .. i)
end
local result = string.sub(ARGV[7], 1, -2) .. ',"pages":[' .. table.concat(pages, ',') .. '],"text":'
  .. cjson.encode(table.concat(texts, ARGV[8])) .. '}'
redis.call('HSET', KEYS[1], 'status', 'succeeded', 'finished_at', ARGV[4], 'result', result)
redis.call('DEL', KEYS[2], KEYS[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
redis.call('ZREM', KEYS[4], ARGV[6])
redis.call('PUBLISH', KEYS[3], 'succeeded')
""" + webhook_due(9, 6) + """
return 'assembled'
"""

# KEYS: job. The split has sent every page's task: the job no longer runs on the splitting node; its
# pages are watched one by one (common/reconcile.py). Only a running job: never recreate an ended one.
_SPLIT_DONE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'worker', '')
return 1
"""

# KEYS: pages hash. ARGV: page. A page sent again forgets the node that had claimed it (that node is
# gone), so the next pass does not send it again before a worker claims it.
_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'node:' .. ARGV[1], '')
return 1
"""


@dataclass(frozen=True)
class PageState:
    """An unfinished page as the reconciler sees it: who claimed it last ("" if nobody yet)."""

    page: int
    node: str


class PageStore:
    """Claims and results of document pages, next to the job records of a JobStore."""

    def __init__(self, client: redis.Redis, job_ttl: int) -> None:
        self.redis = client
        self.job_ttl = job_ttl
        self._claim = client.register_script(_CLAIM_PAGE)
        self._record = client.register_script(_RECORD_PAGE)
        self._split_done = client.register_script(_SPLIT_DONE)
        self._release = client.register_script(_RELEASE)

    @staticmethod
    def _keys(job_id: str) -> list[str]:
        return job_keys(job_id)

    def claim(self, job_id: str, page: int, max_attempts: int, node: str = "", pid: int = 0) -> Claim:
        """Count a delivery of page ``page`` and note who runs it, unless the page is recorded already
        (``done``), the job ended (``finished``/``missing``), or the page has used up its attempts: then
        the whole job fails (``exhausted``), as a job that keeps killing its worker does."""
        error = json.dumps({
            "code": "worker_lost",
            "message": f"page {page} stopped its worker {max_attempts} times and the document was given up",
        })
        verdict, attempts = self._claim(
            keys=self._keys(job_id),
            args=[page, max_attempts, now_iso(), self.job_ttl, error, node, time.time(), job_id, pid])
        return Claim(verdict.decode() if isinstance(verdict, bytes) else verdict, int(attempts))

    def record(self, job_id: str, page: int, result: dict, head: dict) -> str:
        """Store page ``page``'s result once: ``recorded``, ``assembled`` (it was the last page: the job
        succeeded with ``head`` + ``pages`` + ``text``), ``duplicate`` or ``dropped`` (job not running)."""
        if not head:
            raise ValueError("head must hold at least one field")
        outcome = self._record(
            keys=self._keys(job_id),
            args=[page, json.dumps(result, ensure_ascii=False), result.get("text", ""), now_iso(),
                  self.job_ttl, job_id, json.dumps(head, ensure_ascii=False), PAGE_SEPARATOR, time.time()])
        return outcome.decode() if isinstance(outcome, bytes) else outcome

    def split_done(self, job_id: str) -> bool:
        return bool(self._split_done(keys=[job_key(job_id)]))

    def release(self, job_id: str, page: int) -> None:
        self._release(keys=[pages_key(job_id)], args=[page])

    def unfinished(self, job_id: str, total: int) -> list[PageState]:
        """The pages (1..total) without a recorded result, with the node that claimed each last."""
        fields = []
        for page in range(1, total + 1):
            fields += [f"result:{page}", f"node:{page}"]
        values = self.redis.hmget(pages_key(job_id), fields) if total else []
        states = []
        for index in range(total):
            result, node = values[2 * index], values[2 * index + 1]
            if result is None:
                states.append(PageState(index + 1, node.decode() if node else ""))
        return states
