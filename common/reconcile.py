"""The reconciler: no job, page or webhook waits forever for a task that is gone.

Celery hands a job back when a worker *process* dies (``acks_late`` + ``reject_on_worker_lost``). What it
does not cover, or covers only after the visibility timeout (minutes):

- a whole worker node dies (SIGKILL after a short stop grace period, an OOM kill, a lost machine): the
  messages it had received, running or not yet started, sit in kombu's ``unacked`` hash;
- a task ends without ending its job: Celery kills a pool process at the hard time limit and acknowledges
  the message, or something after the claim raised, or Redis was away longer than the task waits;
- a broker message is lost (a Redis crash between the job's record and its message, a flushed list).

Every worker node runs a :class:`Reconciler`; a lease in Redis lets one of them work at a time. A pass
looks at the jobs pending for longer than one interval and the webhooks due for as long. Each has a task
(a job's id, ``<job>:p<n>`` for a document's page, ``<job>:webhook``):

- claimed by a node that is no longer live (ocrq/store/workers.py): its messages held by a node that is
  not live are handed back to their queue; with none held or waiting, the task is sent again;
- received by a node that is not live, not claimed yet: handed back (``restore``) at once;
- with no message in a queue nor held by a worker, in two passes in a row (a message is in neither for an
  instant while a worker fetches it): sent again;
- finished or expired: dropped from the pending set;
- held over its API key's cap (ocrq/store/shares.py): not lost, left alone (a held job is scored +inf in
  the pending set, a held page is skipped).

And for fair sharing, each pass: an owner's in-flight entries whose task has ended are dropped (its
process died before it freed its slot), an owner with held tasks and room gets them released (its last
release was missed), and jobs no longer waiting leave the waiting counts (ocrq/store/quotas.py).

Sending again is safe: a claim skips a finished job or page and counts every delivery (a job that keeps
ending its task without ending itself fails after OCRQ_MAX_ATTEMPTS, ``worker_lost``), a result is written
once, and a webhook task finds its job no longer due.

Bound: a lost task is sent again at most 2 intervals after the job was last claimed or enqueued, plus one
interval in which it is a suspect; a dead node's tasks once its heartbeat is LIVE_SECONDS (15 s) old, at the
next pass (OCRQ_RECONCILE_INTERVAL, 10 s): under 45 s with the defaults.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from ocrq.store import (
    FINISHED,
    BrokerSnapshot,
    BrokerView,
    JobStore,
    PageStore,
    WebhookOutbox,
    WorkerRegistry,
)
from ocrq.store.keys import RECONCILER_LOCK
from ocrq.store.quotas import QuotaStore
from ocrq.store.shares import ShareStore
from ocrq.store.workers import Lease
from ocrq.tasks import page_task_id, webhook_task_id

log = logging.getLogger("ocrq.reconcile")


class TaskSender(Protocol):
    """Sends a task again (ocrq.queue.JobQueue)."""

    def enqueue(self, job_id: str) -> None: ...

    def enqueue_page(self, job_id: str, page: int) -> None: ...

    def enqueue_webhook(self, job_id: str) -> None: ...

    def release(self, owner: str) -> list[str]: ...


@dataclass
class Pass:
    """What one pass did, by task id: sent again, handed back from a dead node, dropped as finished;
    released from an owner's held queue, and in-flight entries dropped because their task had ended."""

    sent: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    landed: list[str] = field(default_factory=list)


@dataclass
class _Look:
    """What a pass reads once: the broker, the live nodes; and what it finds: this pass's suspects."""

    broker: BrokerSnapshot
    live: set[str]
    suspects: set[str] = field(default_factory=set)


class Reconciler:
    """One pass at a time with :meth:`run_once`."""

    def __init__(self, jobs: JobStore, broker: BrokerView, workers: WorkerRegistry, sender: TaskSender,
                 node: str, interval: float) -> None:
        self.jobs = jobs
        self.pages = PageStore(jobs.redis, jobs.job_ttl)
        self.outbox = WebhookOutbox(jobs.redis)
        self.shares = ShareStore(jobs.redis)
        self.quotas = QuotaStore(jobs.redis)
        self.broker = broker
        self.workers = workers
        self.sender = sender
        self.node = node
        self.interval = interval
        self._lease = Lease(jobs.redis, RECONCILER_LOCK)
        self._suspects: set[str] = set()  # tasks without a message in the previous pass

    def run_once(self) -> Pass:
        """One pass (nothing if another node holds the lease)."""
        done = Pass()
        if not self._lease.hold(self.node, int(self.interval * 3) + 1):
            self._suspects.clear()
            return done
        since = time.time() - self.interval
        self._share(done, since)
        stale, due = self.jobs.stale(since), self.outbox.overdue(since)
        if not stale and not due:
            self._suspects.clear()
            return done
        look = _Look(self.broker.snapshot(), self.workers.live())
        for job in stale:
            job_id = job.job_id
            if job.status is None or job.status in FINISHED:
                self.jobs.forget(job_id)
                done.forgotten.append(job_id)
            elif job.status == "running" and job.pages and not job.worker:
                # a document whose pages were all sent (or held): each page is watched on its own
                unfinished = self.pages.unfinished(job_id, job.pages)
                held = self.shares.held_among(job.owner, [page_task_id(job_id, s.page) for s in unfinished])
                for state in unfinished:
                    page = state.page
                    if page_task_id(job_id, page) in held:
                        continue
                    if self._watch(page_task_id(job_id, page), state.node, look, done,
                                   partial(self.sender.enqueue_page, job_id, page)):
                        self.pages.release(job_id, page)
                        self.jobs.touch(job_id)
            else:
                claimed_by = job.worker if job.status == "running" else ""
                if self._watch(job_id, claimed_by, look, done, partial(self.sender.enqueue, job_id)):
                    self.jobs.touch(job_id)
        for job_id in due:
            self._watch(webhook_task_id(job_id), "", look, done,
                        partial(self.sender.enqueue_webhook, job_id))
        self._suspects = look.suspects
        return done

    def _share(self, done: Pass, since: float) -> None:
        """Fair sharing's repairs: free the slots of tasks that ended without freeing them, release what
        an owner has room for, and drop from the waiting counts the jobs that started or ended."""
        for owner in self.shares.owners():
            flight = sorted(self.shares.in_flight(owner))
            landed = [t for t, ended in zip(flight, self.shares.ended(flight), strict=True) if ended]
            self.shares.land(owner, landed)
            done.landed += landed
            released = self.sender.release(owner)
            if released:
                log.info("%d held task(s) of %s released (room was left)", len(released),
                         owner or "the open API")
            done.released += released
        self.quotas.tidy(since)

    def _watch(self, task_id: str, claimed_by: str, look: _Look, done: Pass,
               send: Callable[[], None]) -> bool:
        """Hand back or send again the task ``task_id`` if it is lost (``claimed_by``: the node that runs
        it, "" if none); True if it did."""
        held = look.broker.held.get(task_id, [])
        if claimed_by and claimed_by not in look.live:  # its node is gone
            if any(h.node in look.live for h in held):
                return False  # a live node has received it again
            if held:
                restored = sum(self.broker.restore(h) for h in held)
                log.warning("%s was running on %s, which is gone: %d message(s) handed back", task_id,
                            claimed_by, restored)
                done.restored.append(task_id)
            elif task_id not in look.broker.queued:
                send()
                log.warning("%s was running on %s, which is gone: sent again", task_id, claimed_by)
                done.sent.append(task_id)
            return True
        orphans = [h for h in held if h.node and h.node not in look.live]
        if orphans:  # received by a node that died before it started
            for h in orphans:
                self.broker.restore(h)
            log.warning("%s was received by %s, which is gone: handed back", task_id, orphans[0].node)
            done.restored.append(task_id)
            return True
        if look.broker.present(task_id):
            return False
        if task_id not in self._suspects:
            look.suspects.add(task_id)  # a worker may be fetching it: look again next pass
            return False
        send()
        why = f"ran on {claimed_by} but ended without ending it" if claimed_by else "has no task message"
        log.warning("%s %s: sent again", task_id, why)
        done.sent.append(task_id)
        return True
