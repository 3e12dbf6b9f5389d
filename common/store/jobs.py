"""The job store in Redis: one hash per job, the upload beside it, and a channel that announces the end.

Every state change is one Lua script, so a redelivered task, a cancel and a finishing worker can race
without a job being run twice, finished twice, or resurrected after a cancel. The keys are in
ocrq/store/keys.py, the end of a job in ocrq/store/lua.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from ocrq.store.keys import PENDING, events_channel, job_key, upload_key
from ocrq.store.listing import OwnerIndex
from ocrq.store.lua import JobScript, iso_at

FINISHED = ("succeeded", "failed", "canceled")
# Every field of a job record but its result: what a listing reads (job_id first: present in every record).
SUMMARY_FIELDS = ("job_id", "status", "created_at", "attempts", "started_at", "finished_at", "options",
                  "owner", "error", "format", "pages", "dpi", "pages_done")
STATUSES = ("queued", "running", *FINISHED)


@dataclass
class Job:
    """A job record as stored; ``public()`` is what clients see."""

    job_id: str
    status: str
    created_at: str
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    owner: str = ""
    result: dict | None = None
    error: dict | None = None
    document: dict | None = None  # a PDF or multi-page TIFF: {"format", "pages", "dpi"}
    pages_done: int = 0

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> Job:
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        document = None
        if fields.get("pages"):  # a document: its format, pages and dpi are fields of their own
            document = {"format": fields.get("format", ""), "pages": int(fields["pages"]),
                        "dpi": int(fields["dpi"]) if fields.get("dpi") else None}
        return cls(
            job_id=fields["job_id"],
            status=fields["status"],
            created_at=fields["created_at"],
            attempts=int(fields.get("attempts", 0)),
            started_at=fields.get("started_at") or None,
            finished_at=fields.get("finished_at") or None,
            options=json.loads(fields.get("options", "{}")),
            owner=fields.get("owner", ""),
            result=json.loads(fields["result"]) if fields.get("result") else None,
            error=json.loads(fields["error"]) if fields.get("error") else None,
            document=document,
            pages_done=int(fields.get("pages_done", 0)),
        )

    def public(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "job_id": self.job_id,
            "status": self.status,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "attempts": self.attempts,
            "options": self.options,
            "result": self.result,
            "error": self.error,
        }
        if self.document:  # pages finish one by one: how many are done so far
            document["progress"] = {"done": self.pages_done, "total": int(self.document["pages"])}
        return document


# ARGV[5..]: max_attempts, exhausted error JSON, worker node.
_CLAIM = """
local status = redis.call('HGET', JOB, 'status')
if not status then redis.call('ZREM', PENDING, ID) return {'missing', 0} end
if status ~= 'queued' and status ~= 'running' then
  redis.call('ZREM', PENDING, ID)
  return {'finished', 0}
end
local attempts = redis.call('HINCRBY', JOB, 'attempts', 1)
if attempts > tonumber(ARGV[5]) then
  end_job('failed', 'error', ARGV[6])
  return {'exhausted', attempts}
end
redis.call('HSET', JOB, 'status', 'running', 'started_at', NOW, 'worker', ARGV[7])
redis.call('ZADD', PENDING, EPOCH, ID)
return {'run', attempts}
"""

# ARGV[5..]: status, field name, field JSON.
_FINISH = """
if redis.call('HGET', JOB, 'status') ~= 'running' then return 0 end
end_job(ARGV[5], ARGV[6], ARGV[7])
return 1
"""

# ARGV[5..]: owner, "1" to have a canceled job's webhook sent.
_CANCEL = """
local status = redis.call('HGET', JOB, 'status')
if not status or redis.call('HGET', JOB, 'owner') ~= ARGV[5] then return 'missing' end
if status == 'queued' or status == 'running' then
  end_job('canceled', nil, nil, ARGV[6] == '1')
  return 'canceled'
end
redis.call('DEL', JOB, UPLOAD, PAGES)
redis.call('ZREM', PENDING, ID)
return 'deleted'
"""


@dataclass(frozen=True)
class Claim:
    """A worker's verdict on a delivered job or page: ``run`` it, or skip it (missing, finished, done,
    invalid, exhausted: the claim itself failed the job)."""

    verdict: str
    attempts: int

    @property
    def should_run(self) -> bool:
        return self.verdict == "run"


def exhausted_error(what: str, max_attempts: int) -> str:
    return json.dumps({"code": "worker_lost",
                       "message": f"{what} stopped its worker {max_attempts} times and was given up"})


@dataclass(frozen=True)
class PendingJob:
    """An unfinished job as the reconciler sees it: status (None: the record expired), the node that
    claimed it ("" if none, or a document whose pages carry it), its page count (0: an image), owner."""

    job_id: str
    status: str | None
    worker: str
    pages: int
    owner: str = ""


class JobStore:
    """Job records, uploads and completion events in Redis."""

    def __init__(self, client: redis.Redis, job_ttl: int, upload_ttl: int) -> None:
        self.redis = client
        self.job_ttl = job_ttl
        self.upload_ttl = upload_ttl
        self._claim = JobScript(client, _CLAIM, job_ttl)
        self._finish = JobScript(client, _FINISH, job_ttl)
        self._cancel = JobScript(client, _CANCEL, job_ttl)
        # A record lives at most: waiting (its upload's TTL), then the job TTL from its end.
        self.index = OwnerIndex(client, "jobs", job_ttl + upload_ttl)

    def create(self, job_id: str, data: bytes, options: dict[str, Any], owner: str = "",
               document: dict | None = None, request_id: str = "", keep_upload: bool = False) -> Job:
        """Store a queued job and its upload (the upload first: a job never exists without its bytes),
        indexed under its owner. ``document`` (format, pages, dpi) makes it a multi-page document whose
        pages run as tasks; ``request_id`` (the X-Request-Id that made it) goes in its workers' logs;
        ``keep_upload``: once it succeeds, its upload stays as long as its record (OCRQ_KEEP_UPLOADS)."""
        created = time.time()
        job = Job(job_id=job_id, status="queued", created_at=iso_at(created), options=options, owner=owner,
                  document=document)
        record: dict[str, str | int] = {
            "job_id": job_id, "status": job.status, "created_at": job.created_at, "attempts": 0,
            "options": json.dumps(options), "owner": owner, "request_id": request_id,
        }
        if keep_upload:
            record["keep_upload"] = 1
        if document:
            record.update(format=str(document["format"]), pages=int(document["pages"]), pages_done=0)
            if document.get("dpi"):
                record["dpi"] = int(document["dpi"])
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(upload_key(job_id), data, ex=self.upload_ttl)
            pipe.hset(job_key(job_id), mapping=record)  # type: ignore[arg-type]
            pipe.expire(job_key(job_id), self.job_ttl)
            pipe.zadd(PENDING, {job_id: created})
            self.index.add(pipe, owner, job_id, created * 1000)
            pipe.execute()
        return job

    def discard(self, job_id: str) -> None:
        """Remove a job that could not be enqueued."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(job_key(job_id), upload_key(job_id))
            pipe.zrem(PENDING, job_id)
            pipe.execute()

    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        """The job, or None if unknown, expired, or (when ``owner`` is given) someone else's."""
        raw: dict[bytes, bytes] = self.redis.hgetall(job_key(job_id))  # type: ignore[assignment]
        if not raw:
            return None
        job = Job.from_hash(raw)
        if owner is not None and job.owner != owner:
            return None
        return job

    def summaries(self, job_ids: Sequence[str]) -> list[Job | None]:
        """The jobs without their results (what a listing shows), in one round trip; None: gone."""
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hmget(job_key(job_id), SUMMARY_FIELDS)
            rows = pipe.execute() if job_ids else []
        return [Job.from_hash({k.encode(): v for k, v in zip(SUMMARY_FIELDS, row, strict=True) if v})
                if row[0] else None for row in rows]

    def request_id(self, job_id: str) -> str:
        """The X-Request-Id of the request that made the job ("" if none was kept)."""
        raw = self.redis.hget(job_key(job_id), "request_id")
        return raw.decode() if isinstance(raw, bytes) else ""

    def upload(self, job_id: str) -> bytes | None:
        """The uploaded bytes; None once they are gone (the job ended without keeping them, or expired)."""
        return self.redis.get(upload_key(job_id))  # type: ignore[return-value]

    def has_upload(self, job_id: str) -> bool:
        return bool(self.redis.exists(upload_key(job_id)))

    def priority(self, job_id: str) -> str | None:
        """The job's ``priority`` option (None: no such job, or one stored before priorities existed)."""
        raw = self.redis.hget(job_key(job_id), "options")
        return json.loads(raw).get("priority") if raw else None

    def claim(self, job_id: str, max_attempts: int, worker: str = "") -> Claim:
        """Count a delivery and mark the job running on worker node ``worker``, unless it is finished or
        out of attempts."""
        verdict, attempts = self._claim(job_id, max_attempts, exhausted_error("the job", max_attempts),
                                        worker)
        return Claim(verdict, int(attempts))

    def succeed(self, job_id: str, result: dict) -> bool:
        return self._end(job_id, "succeeded", "result", result)

    def fail(self, job_id: str, code: str, message: str) -> bool:
        return self._end(job_id, "failed", "error", {"code": code, "message": message})

    def _end(self, job_id: str, status: str, name: str, value: dict) -> bool:
        """Record the outcome once; False if the job was no longer running (canceled or already ended)."""
        return bool(self._finish(job_id, status, name, json.dumps(value)))

    def cancel(self, job_id: str, owner: str = "", notify: bool = True) -> str:
        """Cancel a queued or running job (``canceled``), delete a finished one (``deleted``), or ``missing``.
        ``notify``: a canceled job's webhook is due (not for a job whose submission is being undone)."""
        return str(self._cancel(job_id, owner, int(notify)))

    def stale(self, older_than: float, limit: int = 1000) -> list[PendingJob]:
        """Unfinished jobs last enqueued or claimed before ``older_than`` (epoch s), oldest first."""
        found: list[bytes] = self.redis.zrangebyscore(PENDING, "-inf", older_than, 0, limit)  # type: ignore[assignment]
        ids = [i.decode() for i in found]
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hmget(job_key(job_id), "status", "worker", "pages", "owner")
            rows = pipe.execute() if ids else []
        return [PendingJob(job_id, status.decode() if status else None, worker.decode() if worker else "",
                           int(pages or 0), owner.decode() if owner else "")
                for job_id, (status, worker, pages, owner) in zip(ids, rows, strict=True)]

    def touch(self, job_id: str) -> None:
        """Restart a pending job's clock (it was just enqueued again)."""
        self.redis.zadd(PENDING, {job_id: time.time()}, xx=True)

    def forget(self, job_id: str) -> None:
        """Drop a finished or expired job from the pending set."""
        self.redis.zrem(PENDING, job_id)

    def pending_count(self) -> int:
        return int(self.redis.zcard(PENDING))

    def wait(self, job_id: str, timeout: float, owner: str | None = None) -> Job | None:
        """The job once it has finished, or as it is when ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(events_channel(job_id))  # subscribe before reading: no missed event
            job = self.get(job_id, owner)
            while job is not None and not job.finished:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # wake on the end event, or re-read once a second in case a notification was lost
                pubsub.get_message(timeout=min(remaining, 1.0))
                job = self.get(job_id, owner)
            return job
        finally:
            pubsub.close()
