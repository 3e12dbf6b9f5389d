"""The job store in Redis: one hash per job, the upload beside it, and a channel that announces the end.

Every state change is one Lua script, so a redelivered task, a cancel and a finishing worker can race
without a job being run twice, finished twice, or resurrected after a cancel.

    ocrq:job:<id>     hash: status, timestamps, attempts, options, result/error (JSON); for a multi-page
                      document also ``document`` (JSON: format, pages, dpi) and ``pages_done``
    ocrq:upload:<id>  the uploaded bytes, deleted when the job ends
    ocrq:pages:<id>   a document's pages while they run (common/pages.py), deleted when the job ends
    ocrq:events:<id>  pub/sub channel: the final status is published when the job ends
    ocrq:pending      sorted set of unfinished job ids, scored by their last enqueue or claim (epoch s);
                      the reconciler (common/reconcile.py) finds jobs whose task vanished with it
    ocrq:webhooks:due sorted set of ended jobs with a ``callback_url`` whose webhook is neither delivered
                      nor given up yet, scored by the end (epoch s). The script that ends a job adds it, in
                      the same step: a job's end and its webhook cannot part (common/webhooks.py)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis

PREFIX = "ocrq:"
PENDING_KEY = f"{PREFIX}pending"
WEBHOOKS_DUE_KEY = f"{PREFIX}webhooks:due"
FINISHED = ("succeeded", "failed", "canceled")
STATUSES = ("queued", "running", *FINISHED)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_key(job_id: str) -> str:
    return f"{PREFIX}job:{job_id}"


def upload_key(job_id: str) -> str:
    return f"{PREFIX}upload:{job_id}"


def pages_key(job_id: str) -> str:
    """A document's per-page results, attempts and claims (common/pages.py)."""
    return f"{PREFIX}pages:{job_id}"


def events_channel(job_id: str) -> str:
    return f"{PREFIX}events:{job_id}"


def webhook_due(epoch_arg: int, id_arg: int) -> str:
    """Lua, for a script that has just ended a job: if the job has a callback_url, its webhook is due
    (ZADD NX: once). KEYS[1] is the job, KEYS[6] the due set; ARGV[epoch_arg] now (epoch s), ARGV[id_arg]
    the job id."""
    return (f"if redis.call('HEXISTS', KEYS[1], 'callback_url') == 1 then "
            f"redis.call('ZADD', KEYS[6], 'NX', ARGV[{epoch_arg}], ARGV[{id_arg}]) end")


def worker_key(node: str) -> str:
    """A worker node's liveness key, refreshed by its heartbeat (worker/lifecycle.py)."""
    return f"{PREFIX}worker:{node}"


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
            document=json.loads(fields["document"]) if fields.get("document") else None,
            pages_done=int(fields.get("pages_done", 0)),
        )

    def public(self) -> dict[str, Any]:
        document = {
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


# KEYS: job, upload, events channel, pending set, pages hash, webhooks due.
# ARGV: max_attempts, now, job_ttl, exhausted error JSON, worker node, now (epoch s), id.
_CLAIM = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then redis.call('ZREM', KEYS[4], ARGV[7]) return {'missing', 0} end
if status ~= 'queued' and status ~= 'running' then
  redis.call('ZREM', KEYS[4], ARGV[7])
  return {'finished', 0}
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts > tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'status', 'failed', 'finished_at', ARGV[2], 'error', ARGV[4])
  redis.call('DEL', KEYS[2], KEYS[5])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
  redis.call('ZREM', KEYS[4], ARGV[7])
  redis.call('PUBLISH', KEYS[3], 'failed')
  """ + webhook_due(6, 7) + """
  return {'exhausted', attempts}
end
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[2], 'worker', ARGV[5])
redis.call('ZADD', KEYS[4], tonumber(ARGV[6]), ARGV[7])
return {'run', attempts}
"""

# KEYS: job, upload, events channel, pending set, pages hash, webhooks due.
# ARGV: status, now, job_ttl, field name, field JSON, id, now (epoch s).
_FINISH = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finished_at', ARGV[2], ARGV[4], ARGV[5])
redis.call('DEL', KEYS[2], KEYS[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
redis.call('ZREM', KEYS[4], ARGV[6])
redis.call('PUBLISH', KEYS[3], ARGV[1])
""" + webhook_due(7, 6) + """
return 1
"""

# KEYS: job, upload, events channel, pending set, pages hash, webhooks due.
# ARGV: owner, now, job_ttl, id, now (epoch s), "1" to have a canceled job's webhook sent.
_CANCEL = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 'missing' end
redis.call('ZREM', KEYS[4], ARGV[4])
if status == 'queued' or status == 'running' then
  redis.call('HSET', KEYS[1], 'status', 'canceled', 'finished_at', ARGV[2])
  redis.call('DEL', KEYS[2], KEYS[5])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
  redis.call('PUBLISH', KEYS[3], 'canceled')
  if ARGV[6] == '1' then """ + webhook_due(5, 4) + """ end
  return 'canceled'
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[5])
return 'deleted'
"""


def job_keys(job_id: str) -> list[str]:
    """The KEYS of every script that may end a job (here and in common/pages.py)."""
    return [job_key(job_id), upload_key(job_id), events_channel(job_id), PENDING_KEY, pages_key(job_id),
            WEBHOOKS_DUE_KEY]


@dataclass(frozen=True)
class Claim:
    """A worker's verdict on a delivered job: ``run`` it, or skip it (missing, finished, exhausted)."""

    verdict: str
    attempts: int

    @property
    def should_run(self) -> bool:
        return self.verdict == "run"


class JobStore:
    """Job records, uploads and completion events in Redis."""

    def __init__(self, client: redis.Redis, job_ttl: int, upload_ttl: int) -> None:
        self.redis = client
        self.job_ttl = job_ttl
        self.upload_ttl = upload_ttl
        self._claim = client.register_script(_CLAIM)
        self._finish = client.register_script(_FINISH)
        self._cancel = client.register_script(_CANCEL)

    def _keys(self, job_id: str) -> list[str]:
        return job_keys(job_id)

    def create(self, job_id: str, data: bytes, options: dict[str, Any], owner: str = "",
               document: dict | None = None) -> Job:
        """Store a queued job and its upload (the upload first: a job never exists without its bytes).
        ``document`` (format, pages, dpi) makes it a multi-page document whose pages run as tasks."""
        job = Job(job_id=job_id, status="queued", created_at=now_iso(), options=options, owner=owner,
                  document=document)
        record = {
            "job_id": job_id, "status": job.status, "created_at": job.created_at, "attempts": 0,
            "options": json.dumps(options), "owner": owner,
        }
        if document:
            record.update(document=json.dumps(document), pages=int(document["pages"]), pages_done=0)
        if options.get("callback_url"):  # what the scripts that end the job look for (webhook_due)
            record["callback_url"] = options["callback_url"]
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(upload_key(job_id), data, ex=self.upload_ttl)
            pipe.hset(job_key(job_id), mapping=record)
            pipe.expire(job_key(job_id), self.job_ttl)
            pipe.zadd(PENDING_KEY, {job_id: time.time()})
            pipe.execute()
        return job

    def discard(self, job_id: str) -> None:
        """Remove a job that could not be enqueued."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(job_key(job_id), upload_key(job_id))
            pipe.zrem(PENDING_KEY, job_id)
            pipe.execute()

    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        """The job, or None if unknown, expired, or (when ``owner`` is given) someone else's."""
        raw = self.redis.hgetall(job_key(job_id))
        if not raw:
            return None
        job = Job.from_hash(raw)
        if owner is not None and job.owner != owner:
            return None
        return job

    def upload(self, job_id: str) -> bytes | None:
        return self.redis.get(upload_key(job_id))

    def priority(self, job_id: str) -> str | None:
        """The job's ``priority`` option (None: no such job, or one stored before priorities existed)."""
        raw = self.redis.hget(job_key(job_id), "options")
        return json.loads(raw).get("priority") if raw else None

    def claim(self, job_id: str, max_attempts: int, worker: str = "") -> Claim:
        """Count a delivery and mark the job running on worker node ``worker``, unless it is finished or
        out of attempts."""
        error = json.dumps({
            "code": "worker_lost",
            "message": f"the job stopped its worker {max_attempts} times and was given up",
        })
        verdict, attempts = self._claim(
            keys=self._keys(job_id),
            args=[max_attempts, now_iso(), self.job_ttl, error, worker, time.time(), job_id])
        return Claim(verdict.decode() if isinstance(verdict, bytes) else verdict, int(attempts))

    def succeed(self, job_id: str, result: dict) -> bool:
        return self._end(job_id, "succeeded", "result", result)

    def fail(self, job_id: str, code: str, message: str) -> bool:
        return self._end(job_id, "failed", "error", {"code": code, "message": message})

    def _end(self, job_id: str, status: str, name: str, value: dict) -> bool:
        """Record the outcome once; False if the job was no longer running (canceled or already ended)."""
        written = self._finish(keys=self._keys(job_id),
                               args=[status, now_iso(), self.job_ttl, name, json.dumps(value), job_id,
                                     time.time()])
        return bool(written)

    def cancel(self, job_id: str, owner: str = "", notify: bool = True) -> str:
        """Cancel a queued or running job (``canceled``), delete a finished one (``deleted``), or ``missing``.
        ``notify``: a canceled job's webhook is due (not for a job whose submission is being undone)."""
        outcome = self._cancel(keys=self._keys(job_id),
                               args=[owner, now_iso(), self.job_ttl, job_id, time.time(), int(notify)])
        return outcome.decode() if isinstance(outcome, bytes) else outcome

    def stale(self, older_than: float, limit: int = 1000) -> list[tuple[str, str | None, str, int]]:
        """Unfinished jobs last enqueued or claimed before ``older_than`` (epoch s), oldest first:
        (job id, status or None if the record expired, worker node that claimed it or "", pages of a
        document or 0)."""
        ids = [i.decode() for i in self.redis.zrangebyscore(PENDING_KEY, "-inf", older_than, 0, limit)]
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hmget(job_key(job_id), "status", "worker", "pages")
            rows = pipe.execute() if ids else []
        return [(job_id, status.decode() if status else None, worker.decode() if worker else "",
                 int(pages or 0))
                for job_id, (status, worker, pages) in zip(ids, rows, strict=True)]

    def touch(self, job_id: str) -> None:
        """Restart a pending job's clock (it was just enqueued again)."""
        self.redis.zadd(PENDING_KEY, {job_id: time.time()}, xx=True)

    def forget(self, job_id: str) -> None:
        """Drop a finished or expired job from the pending set."""
        self.redis.zrem(PENDING_KEY, job_id)

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
