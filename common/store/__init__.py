"""Everything ocrq keeps in Redis: the key map (``keys``), the shared end of a job (``lua``), and one store
per kind of record. Nothing else in ocrq names a Redis key or writes a Lua script."""

from ocrq.store.batches import Batch, BatchItem, BatchStore
from ocrq.store.broker import BrokerSnapshot, BrokerView, HeldMessage
from ocrq.store.connection import connect, redact, redis_url
from ocrq.store.idempotency import IdempotencyStore
from ocrq.store.jobs import FINISHED, Claim, Job, JobStore, PendingJob
from ocrq.store.outbox import WebhookOutbox
from ocrq.store.pages import PageStore
from ocrq.store.workers import WorkerRegistry

__all__ = [
    "FINISHED", "Batch", "BatchItem", "BatchStore", "BrokerSnapshot", "BrokerView", "Claim", "HeldMessage",
    "IdempotencyStore", "Job", "JobStore", "PageStore", "PendingJob", "WebhookOutbox", "WorkerRegistry",
    "connect", "redact", "redis_url",
]
