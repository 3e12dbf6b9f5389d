"""The pages of a multi-page document job in Redis: each page is a task of its own, claimed and recorded
by one Lua script each, like a job (ocrq/store/jobs.py).

A page is recorded at most once (HSETNX); the job hash counts the recorded pages in ``pages_done``. The
recording that brings ``pages_done`` to the page count also assembles the document's result and ends the
job, in the same script: there is no moment at which every page is recorded but the job is still running,
so no second assembler can exist, whatever is redelivered or runs twice. A page delivered after that finds
the job finished and is skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis

from ocrq.store.jobs import Claim, exhausted_error
from ocrq.store.keys import job_key, pages_key
from ocrq.store.lua import JobScript

# How the joined ``text`` of a document separates its pages (ocrq/formats.py writes the same).
PAGE_SEPARATOR = "\n\f\n"

# The page number in ARGV[5] must be one of the document's (the broker is not trusted with it).
_PAGE = """
local page, total = tonumber(ARGV[5]), tonumber(redis.call('HGET', JOB, 'pages'))
local function valid_page() return total and page and page >= 1 and page <= total and page % 1 == 0 end
"""

# ARGV[5..]: page, max_attempts, exhausted error JSON, node, pid.
_CLAIM_PAGE = _PAGE + """
local status = redis.call('HGET', JOB, 'status')
if not status then return {'missing', 0} end
if status ~= 'running' then return {'finished', 0} end
if not valid_page() then return {'invalid', 0} end
if redis.call('HEXISTS', PAGES, 'result:' .. page) == 1 then return {'done', 0} end
local attempts = redis.call('HINCRBY', PAGES, 'attempts:' .. page, 1)
redis.call('EXPIRE', PAGES, TTL)
if attempts > tonumber(ARGV[6]) then
  end_job('failed', 'error', ARGV[7])
  return {'exhausted', attempts}
end
redis.call('HSET', PAGES, 'node:' .. page, ARGV[8], 'pid:' .. page, ARGV[9])
redis.call('ZADD', PENDING, EPOCH, ID)
return {'run', attempts}
"""

# ARGV[5..]: page, page JSON, page text, head JSON (an object: the result's other fields), separator.
# The result is put together from the stored JSON texts, not decoded and re-encoded: Redis's cjson would
# turn an empty list of lines into {}. Only the joined text goes through cjson.encode.
_RECORD_PAGE = _PAGE + """
if redis.call('HGET', JOB, 'status') ~= 'running' then return 'dropped' end
if not valid_page() then return 'invalid' end
if redis.call('HSETNX', PAGES, 'result:' .. page, ARGV[6]) == 0 then return 'duplicate' end
redis.call('HSET', PAGES, 'text:' .. page, ARGV[7])
local done = redis.call('HINCRBY', JOB, 'pages_done', 1)
if done < total then return 'recorded' end
local pages, texts = {}, {}
for i = 1, total do
  pages[i] = redis.call('HGET', PAGES, 'result:' .. i)
  texts[i] = redis.call('HGET', PAGES, 'text:' .. i)
end
local result = string.sub(ARGV[8], 1, -2) .. ',"pages":[' .. table.concat(pages, ',') .. '],"text":'
  .. cjson.encode(table.concat(texts, ARGV[9])) .. '}'
end_job('succeeded', 'result', result)
return 'assembled'
"""

# KEYS: job. The split has sent every page's task: the job no longer runs on the splitting node; its
# pages are watched one by one (ocrq/reconcile.py). Only a running job: never recreate an ended one.
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
        self._claim = JobScript(client, _CLAIM_PAGE, job_ttl)
        self._record = JobScript(client, _RECORD_PAGE, job_ttl)
        self._split_done = client.register_script(_SPLIT_DONE)
        self._release = client.register_script(_RELEASE)

    def claim(self, job_id: str, page: int, max_attempts: int, node: str = "", pid: int = 0) -> Claim:
        """Count a delivery of page ``page`` and note who runs it, unless the page is recorded already
        (``done``), the job ended (``finished``/``missing``), or the page has used up its attempts: then
        the whole job fails (``exhausted``), as a job that keeps killing its worker does."""
        verdict, attempts = self._claim(job_id, page, max_attempts,
                                        exhausted_error(f"page {page}", max_attempts), node, pid)
        return Claim(verdict, int(attempts))

    def record(self, job_id: str, page: int, result: dict, head: dict) -> str:
        """Store page ``page``'s result once: ``recorded``, ``assembled`` (it was the last page: the job
        succeeded with ``head`` + ``pages`` + ``text``), ``duplicate`` or ``dropped`` (job not running)."""
        if not head:
            raise ValueError("head must hold at least one field")
        return str(self._record(job_id, page, json.dumps(result, ensure_ascii=False), result.get("text", ""),
                                json.dumps(head, ensure_ascii=False), PAGE_SEPARATOR))

    def split_done(self, job_id: str) -> bool:
        return bool(self._split_done(keys=[job_key(job_id)]))

    def release(self, job_id: str, page: int) -> None:
        self._release(keys=[pages_key(job_id)], args=[page])

    def unfinished(self, job_id: str, total: int) -> list[PageState]:
        """The pages (1..total) without a recorded result, with the node that claimed each last."""
        fields = []
        for page in range(1, total + 1):
            fields += [f"result:{page}", f"node:{page}"]
        values: list[bytes | None] = (
            self.redis.hmget(pages_key(job_id), fields) if total else []  # type: ignore[assignment]
        )
        states = []
        for index in range(total):
            result, node = values[2 * index], values[2 * index + 1]
            if result is None:
                states.append(PageState(index + 1, node.decode() if node else ""))
        return states
