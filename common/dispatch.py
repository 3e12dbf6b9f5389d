"""Sending OCR tasks under each API key's cap on tasks in flight (fair sharing, ocrq/store/shares.py).

A new job, and the pages of a document being split, are admitted: held in their owner's queue, and sent
only as far as the owner's cap allows. When a task returns (ocrq/worker/base.py) its slot is freed and the
owner's next held tasks are sent; the reconciler repairs a release that a dead process missed. Both sides
use this module: the API admits jobs, the workers admit pages and release, by task name (never importing
each other).
"""

from __future__ import annotations

from collections.abc import Sequence

import redis
from celery import Celery

from ocrq.store.shares import Released, ShareStore, score, split_task_id
from ocrq.tasks import OCR_TASK, PAGE_TASK, SEND_RETRY_POLICY, page_task_id, queue_for


class TaskDispatcher:
    """Admits, releases and sends one owner's tasks at a time; ``cap`` 0 follows the live processes."""

    def __init__(self, client: redis.Redis, celery: Celery, cap: int = 0) -> None:
        self.shares = ShareStore(client, cap)
        self.celery = celery

    def admit_job(self, owner: str, job_id: str, priority: str | None) -> list[str]:
        """A stored job joins its owner's line; the task ids sent now (it, or older held ones, as far as
        the owner's cap allows)."""
        order = self.shares.order(job_id)
        return self.send(owner, self.shares.admit(owner, [(job_id, score(priority, order))]))

    def admit_pages(self, owner: str, job_id: str, priority: str | None, pages: Sequence[int]) -> list[str]:
        """A document's pages join its owner's line at the document's place, in page order."""
        base = self.shares.order(job_id)
        tasks = [(page_task_id(job_id, page), score(priority, base + page)) for page in pages]
        return self.send(owner, self.shares.admit(owner, tasks))

    def task_returned(self, job_id: str, task_id: str) -> list[str]:
        """Task ``task_id`` of job ``job_id`` returned: its owner has room for the next held task."""
        owner = self.shares.owner_of(job_id)
        if owner is None:  # the job is gone: the reconciler drops its slot (ShareStore.ended)
            return []
        return self.send(owner, self.shares.finish(owner, task_id))

    def release(self, owner: str) -> list[str]:
        """Send the owner's next held tasks if it has room (the reconciler's repair)."""
        return self.send(owner, self.shares.release(owner))

    def resend(self, owner: str, task_id: str, priority: str | None) -> None:
        """The reconciler found no message for this task: send it again if it is in flight; otherwise
        (its admission was cut short) admit it now, as a new task of its owner."""
        if task_id in self.shares.in_flight(owner):
            self.send_task(task_id, priority)
            return
        job_id, page = split_task_id(task_id)
        if page:
            self.admit_pages(owner, job_id, priority, [page])
        else:
            self.admit_job(owner, job_id, priority)

    def send(self, owner: str, released: list[Released]) -> list[str]:
        """Send released tasks to their priority's queue; one whose job has ended meanwhile (canceled,
        failed by another page) is not sent: its slot goes to the next. A broker that fails raises: what
        was released and not sent is in flight without a message, which the reconciler sends again."""
        sent: list[str] = []
        while released:
            more: list[Released] = []
            for task, ended in zip(released, self.shares.ended([r.task_id for r in released]), strict=True):
                if ended:
                    more += self.shares.finish(owner, task.task_id)
                else:
                    self.send_task(task.task_id, task.priority)
                    sent.append(task.task_id)
            released = more
        return sent

    def send_task(self, task_id: str, priority: str | None) -> None:
        """Put one task (a job's, or ``<job>:p<n>`` a page's) in its priority's broker queue."""
        job_id, page = split_task_id(task_id)
        name, args = (PAGE_TASK, [job_id, page]) if page else (OCR_TASK, [job_id])
        self.celery.send_task(name, args=args, task_id=task_id, queue=queue_for(priority), retry=True,
                              retry_policy=SEND_RETRY_POLICY)
