"""The reconciler: re-enqueue unfinished jobs whose task message is gone, so that no job waits forever.

Celery hands a job back when a worker *process* dies (``acks_late`` + ``reject_on_worker_lost``). Two
cases it does not cover quickly:

- a whole worker node dies mid-job (SIGKILL after a short stop grace period, an OOM kill, a lost
  machine): its messages sit in the broker's ``unacked`` set until the visibility timeout (minutes);
- a broker message is lost (a Redis crash between the job's record and its message, a flushed list).

Every worker node runs a :class:`Reconciler`; a lock in Redis lets one of them work at a time. A pass
looks at jobs pending for longer than one interval:

- ``running`` on a node whose heartbeat has expired: enqueued again (the claim counts the delivery, so a
  job that keeps killing whole nodes still ends ``failed`` after OCRQ_MAX_ATTEMPTS);
- ``queued`` with no message in the queue nor in ``unacked``, in two passes in a row (a message is out
  of both for an instant while a worker fetches it): enqueued again;
- finished or expired: dropped from the pending set.

A multi-page document runs on its splitting node only until every page's task is sent; then each page is
watched on its own (``enqueue_page``): a page claimed by a node whose heartbeat has expired, or a page
with no message in the queue nor in ``unacked`` in two passes in a row, is enqueued again (the page's
claim counts the delivery, as a job's does).

A webhook due for longer than one interval (``ocrq:webhooks:due``, common/webhooks.py) whose task has no
message in the webhook queue nor in ``unacked`` in two passes in a row (its sender died between the end of
the job and the send, or the broker lost it) is sent again (``enqueue_webhook``). A waiting retry is an
unacknowledged message, so it counts as present.

Messages are looked for in every queue a worker consumes: the three OCR priorities and the webhooks.

A duplicate delivery is harmless: the claim skips a finished job or page and a result is written once;
a webhook task finds its job no longer due.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable

import redis

from ocrq.jobs import FINISHED, JobStore, worker_key
from ocrq.pages import PageStore
from ocrq.tasks import BROKER_UNACKED_KEY, WORKER_QUEUES, page_task_id, webhook_task_id
from ocrq.webhooks import WebhookOutbox

log = logging.getLogger("ocrq.reconcile")
LOCK_KEY = "ocrq:reconciler"

# Take the lock if it is free or already ours; refresh its expiry either way.
_LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
"""


def message_task_id(message: dict) -> str | None:
    """The task id of a kombu message as the Redis transport stores it (Celery protocol 2 or 1)."""
    headers = message.get("headers") or {}
    if headers.get("id"):
        return str(headers["id"])
    return (message.get("properties") or {}).get("correlation_id")


def broker_task_ids(client: redis.Redis, queues: Iterable[str] = WORKER_QUEUES) -> set[str]:
    """Ids of the tasks waiting in ``queues`` or delivered but not acknowledged yet."""
    ids: set[str] = set()
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.lrange(queue, 0, -1)
        waiting = [raw for listed in pipe.execute() for raw in listed]
    for raw in waiting:
        try:
            ids.add(message_task_id(json.loads(raw)) or "")
        except (ValueError, AttributeError):
            continue
    for raw in client.hvals(BROKER_UNACKED_KEY):
        try:
            ids.add(message_task_id(json.loads(raw)[0]) or "")
        except (ValueError, AttributeError, IndexError, KeyError):
            continue
    return ids


class Reconciler:
    """One pass at a time with :meth:`run_once`; ``enqueue(job_id)`` sends a job's task again,
    ``enqueue_page(job_id, page)`` a document page's (without it, pages are not watched),
    ``enqueue_webhook(job_id)`` a webhook's (without it, webhooks are not watched)."""

    def __init__(self, store: JobStore, enqueue: Callable[[str], None], node: str, interval: float,
                 enqueue_page: Callable[[str, int], None] | None = None,
                 enqueue_webhook: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.enqueue = enqueue
        self.enqueue_page = enqueue_page
        self.enqueue_webhook = enqueue_webhook
        self.outbox = WebhookOutbox(store.redis)
        self.node = node
        self.interval = interval
        self.pages = PageStore(store.redis, store.job_ttl)
        self._lock = store.redis.register_script(_LOCK)
        self._suspects: set[str] = set()  # queued jobs (and "<job>:p<n>" pages) without a message

    def run_once(self) -> list[str]:
        """Check stale pending jobs; the ids enqueued again (empty if another node holds the lock)."""
        if not self._lock(keys=[LOCK_KEY], args=[self.node, int(self.interval * 3) + 1]):
            self._suspects.clear()
            return []
        stale = self.store.stale(time.time() - self.interval)
        webhooks = self.outbox.overdue(time.time() - self.interval) if self.enqueue_webhook else []
        look = webhooks or any(status == "queued" or (status == "running" and pages)
                               for _, status, _, pages in stale)
        in_broker = broker_task_ids(self.store.redis) if look else set()
        requeued, suspects = [], set()
        for job_id, status, worker, pages in stale:
            if status is None or status in FINISHED:
                self.store.forget(job_id)
            elif status == "running" and worker and not self.store.redis.exists(worker_key(worker)):
                requeued.append(job_id)
                log.warning("job %s was running on %s, which is gone: enqueued again", job_id, worker)
            elif status == "running" and pages and not worker and self.enqueue_page is not None:
                # a document whose pages were all sent: each page is watched on its own
                lost = self._lost_pages(job_id, pages, in_broker, suspects)
                for page in lost:
                    self.enqueue_page(job_id, page)
                    self.pages.release(job_id, page)
                if lost:
                    self.store.touch(job_id)
            elif status == "queued" and job_id not in in_broker:
                if job_id in self._suspects:
                    requeued.append(job_id)
                    log.warning("job %s is queued but its task message is gone: enqueued again", job_id)
                else:
                    suspects.add(job_id)
        for job_id in requeued:
            self.enqueue(job_id)
            self.store.touch(job_id)
        if self.enqueue_webhook is not None:
            for job_id in self._lost_webhooks(webhooks, in_broker, suspects):
                self.enqueue_webhook(job_id)
        self._suspects = suspects
        return requeued

    def _lost_webhooks(self, due: list[str], in_broker: set[str], suspects: set[str]) -> list[str]:
        """Jobs whose webhook is due with no task message now nor in the previous pass."""
        lost = []
        for job_id in due:
            task_id = webhook_task_id(job_id)
            if task_id in in_broker:
                continue
            if task_id in self._suspects:
                lost.append(job_id)
                log.warning("job %s: its webhook is due but has no task message: sent again", job_id)
            else:
                suspects.add(task_id)
        return lost

    def _lost_pages(self, job_id: str, total: int, in_broker: set[str], suspects: set[str]) -> list[int]:
        """Pages of a running document whose task is gone: claimed by a node that is gone, or without a
        message in the broker now and in the previous pass (``suspects`` collects this pass's)."""
        lost = []
        for state in self.pages.unfinished(job_id, total):
            task_id = page_task_id(job_id, state.page)
            if state.node and not self.store.redis.exists(worker_key(state.node)):
                lost.append(state.page)
                log.warning("page %d of job %s was running on %s, which is gone: enqueued again",
                            state.page, job_id, state.node)
            elif task_id not in in_broker:
                if task_id in self._suspects:
                    lost.append(state.page)
                    log.warning("page %d of job %s has no task message: enqueued again", state.page, job_id)
                else:
                    suspects.add(task_id)
        return lost
