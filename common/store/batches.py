"""Batches: several uploads sent in one request. Each accepted item is an ordinary job (so the items run
in parallel on every worker, and each can be read, waited on or canceled by its job id); the batch only
remembers which jobs are its items, in order, and which items were refused at submission and why
(``ocrq:batch:<id>``, ocrq/store/keys.py). A batch expires like a job: OCRQ_JOB_TTL_SECONDS after its
creation, and again from when it is first seen finished.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ocrq.store.jobs import FINISHED, Job, JobStore
from ocrq.store.keys import batch_key, events_channel, index_key, job_key
from ocrq.store.listing import OwnerIndex
from ocrq.store.lua import iso_at, now_iso

# The overall status of a finished batch: every item succeeded, some did, none did.
BATCH_FINISHED = ("succeeded", "partial", "failed")
_MISSING = {"code": "not_found", "message": "the item's job was deleted or has expired"}


def display_name(filename: str | None, limit: int = 200) -> str:
    """A client's file name as text to show, never a path: the last component only, without control
    characters, at most ``limit`` characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:limit]


@dataclass(frozen=True)
class BatchItem:
    """Item ``index`` (0-based, in the order sent): its job, or the error that refused it."""

    index: int
    filename: str
    job_id: str | None = None
    error: dict | None = None


@dataclass
class Batch:
    batch_id: str
    created_at: str
    owner: str = ""
    items: list[BatchItem] = field(default_factory=list)
    finished_at: str | None = None

    def public(self, jobs: dict[str, Job | None]) -> dict[str, Any]:
        """What clients see, given the items' jobs as they are now (None: deleted or expired)."""
        items = [_item_document(item, jobs.get(item.job_id) if item.job_id else None) for item in self.items]
        done = sum(item["status"] == "succeeded" for item in items)
        failed = sum(item["status"] in ("failed", "canceled") for item in items)
        return {
            "batch_id": self.batch_id,
            "status": overall_status([item["status"] for item in items]),
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "total": len(items),
            "progress": {"done": done, "failed": failed, "total": len(items)},
            "items": items,
        }


def overall_status(statuses: list[str]) -> str:
    """``queued`` until an item starts, ``running`` until every item has ended, then ``succeeded`` (all
    succeeded), ``failed`` (none did) or ``partial``."""
    if all(s in FINISHED for s in statuses):
        succeeded = statuses.count("succeeded")
        return "succeeded" if succeeded == len(statuses) else "failed" if succeeded == 0 else "partial"
    return "queued" if all(s == "queued" for s in statuses) else "running"


def _item_document(item: BatchItem, job: Job | None) -> dict[str, Any]:
    document: dict[str, Any] = {"index": item.index, "filename": item.filename, "job_id": item.job_id}
    if item.job_id is None:  # refused at submission: never a job
        return {**document, "status": "failed", "result": None, "error": item.error}
    if job is None:
        return {**document, "status": "failed", "result": None, "error": _MISSING}
    public = job.public()
    document.update(status=job.status, result=job.result, error=job.error)
    if "progress" in public:
        document["progress"] = public["progress"]
    return document


class BatchStore:
    """Batch records next to the jobs of a JobStore (same Redis, same TTL)."""

    def __init__(self, jobs: JobStore) -> None:
        self.jobs = jobs
        self.redis = jobs.redis
        self.ttl = jobs.job_ttl
        self.index = OwnerIndex(self.redis, "batches", jobs.job_ttl + jobs.upload_ttl)

    def create(self, batch_id: str, items: list[BatchItem], owner: str = "") -> Batch:
        created = time.time()
        batch = Batch(batch_id=batch_id, created_at=iso_at(created), owner=owner, items=items)
        with self.redis.pipeline(transaction=True) as pipe:
            self.index.add(pipe, owner, batch_id, created * 1000)
            pipe.hset(batch_key(batch_id), mapping={
                "batch_id": batch_id, "created_at": batch.created_at, "owner": owner,
                "items": json.dumps([asdict(item) for item in items], ensure_ascii=False),
            })
            pipe.expire(batch_key(batch_id), self.ttl)
            pipe.execute()
        return batch

    def get(self, batch_id: str, owner: str | None = None) -> Batch | None:
        """The batch, or None if unknown, expired, or (when ``owner`` is given) someone else's."""
        record: dict[bytes, bytes] = self.redis.hgetall(batch_key(batch_id))  # type: ignore[assignment]
        batch = _from_record(record)
        return None if batch is None or (owner is not None and batch.owner != owner) else batch

    def summaries(self, batch_ids: Sequence[str]) -> list[dict[str, Any] | None]:
        """The batches as a listing shows them (status and progress, no items), in two round trips."""
        with self.redis.pipeline(transaction=False) as pipe:
            for batch_id in batch_ids:
                pipe.hgetall(batch_key(batch_id))
            found = [_from_record(row) for row in (pipe.execute() if batch_ids else [])]
        with self.redis.pipeline(transaction=False) as pipe:
            for batch in found:
                for item in batch.items if batch else ():
                    if item.job_id:
                        pipe.hget(job_key(item.job_id), "status")
            statuses = iter(pipe.execute())
        summaries: list[dict[str, Any] | None] = []
        for batch in found:
            if batch is None:
                summaries.append(None)
                continue
            jobs = {item.job_id: _status_only(item.job_id, next(statuses)) for item in batch.items
                    if item.job_id}
            summary = batch.public(jobs)
            del summary["items"]
            summaries.append(summary)
        return summaries

    def remove(self, batch: Batch) -> None:
        """Forget the batch record (its items' jobs are canceled or deleted by the caller, one by one)."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(batch_key(batch.batch_id))
            pipe.zrem(index_key("batches", batch.owner), batch.batch_id)
            pipe.execute()

    def jobs_of(self, batch: Batch) -> dict[str, Job | None]:
        """The items' jobs as they are now, read in one round trip."""
        ids = [item.job_id for item in batch.items if item.job_id]
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hgetall(job_key(job_id))
            rows = pipe.execute() if ids else []
        return {job_id: Job.from_hash(row) if row else None for job_id, row in zip(ids, rows, strict=True)}

    def view(self, batch_id: str, owner: str | None = None, wait: float = 0) -> dict[str, Any] | None:
        """The batch's public document, long-polled up to ``wait`` seconds for every item to end."""
        batch = self.get(batch_id, owner)
        if batch is None:
            return None
        jobs = self._wait(batch, wait) if wait > 0 else self.jobs_of(batch)
        document = batch.public(jobs)
        if document["status"] in BATCH_FINISHED and batch.finished_at is None:
            self._finished(batch)
            document["finished_at"] = batch.finished_at
        return document

    def _wait(self, batch: Batch, timeout: float) -> dict[str, Job | None]:
        deadline = time.monotonic() + timeout
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            channels = [events_channel(item.job_id) for item in batch.items if item.job_id]
            if channels:
                pubsub.subscribe(*channels)  # before reading: no end is missed
            jobs = self.jobs_of(batch)
            while any(job is not None and not job.finished for job in jobs.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                pubsub.get_message(timeout=min(remaining, 1.0))  # an item ended, or look again in 1 s
                jobs = self.jobs_of(batch)
            return jobs
        finally:
            pubsub.close()

    def _finished(self, batch: Batch) -> None:
        """The first time a batch is seen finished: note when, and keep it OCRQ_JOB_TTL_SECONDS from now."""
        batch.finished_at = now_iso()
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(batch_key(batch.batch_id), "finished_at", batch.finished_at)
            pipe.expire(batch_key(batch.batch_id), self.ttl)
            pipe.execute()


def _from_record(record: dict[bytes, bytes]) -> Batch | None:
    raw = {k.decode(): v.decode() for k, v in record.items()}
    if "batch_id" not in raw:
        return None
    return Batch(batch_id=raw["batch_id"], created_at=raw["created_at"], owner=raw.get("owner", ""),
                 items=[BatchItem(**item) for item in json.loads(raw["items"])],
                 finished_at=raw.get("finished_at") or None)


def _status_only(job_id: str, status: bytes | None) -> Job | None:
    """A stand-in job that has only a status (what a batch summary needs); None: the job is gone."""
    return Job(job_id=job_id, status=status.decode(), created_at="") if status else None
