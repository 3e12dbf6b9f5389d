"""Every Redis key ocrq reads or writes, kombu's included: its name, type, owner and lifetime.

One table, so a key is named in one place and an operator can see what a Redis holds. A module that needs
a key takes its name from here; the owner column is the module that writes it.

TTLs: ``job`` = OCRQ_JOB_TTL_SECONDS (24 h), ``upload`` = OCRQ_UPLOAD_TTL_SECONDS (6 h), ``visibility``
= the broker's visibility timeout (2 x OCRQ_TASK_TIME_LIMIT + 60 s), ``idempotency`` =
OCRQ_IDEMPOTENCY_TTL_SECONDS.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "ocrq:"

# Sets of one key each, shared by every job.
PENDING = f"{PREFIX}pending"
WEBHOOKS_DUE = f"{PREFIX}webhooks:due"
WORKERS = f"{PREFIX}workers"
RECONCILER_LOCK = f"{PREFIX}reconciler"
# Fair sharing between API keys (ocrq/store/shares.py, ocrq/store/quotas.py).
SHARE_OWNERS = f"{PREFIX}shares:owners"
WAITING = f"{PREFIX}waiting"
WORKER_PROCESSES = f"{PREFIX}workers:processes"

# kombu's Redis transport (its default names): a list per queue, and the delivered-but-unacknowledged
# messages with their delivery time. ocrq reads them to find lost tasks and hands back a dead node's.
UNACKED = "unacked"
UNACKED_INDEX = "unacked_index"


def job_key(job_id: str) -> str:
    return f"{PREFIX}job:{job_id}"


def upload_key(job_id: str) -> str:
    return f"{PREFIX}upload:{job_id}"


def pages_key(job_id: str) -> str:
    return f"{PREFIX}pages:{job_id}"


def events_channel(job_id: str) -> str:
    return f"{PREFIX}events:{job_id}"


def batch_key(batch_id: str) -> str:
    return f"{PREFIX}batch:{batch_id}"


def idempotency_key(digest: str) -> str:
    return f"{PREFIX}idem:{digest}"


def webhook_lock_key(job_id: str) -> str:
    return f"{PREFIX}webhook:lock:{job_id}"


def webhook_last_try_key(job_id: str) -> str:
    return f"{PREFIX}webhook:last-try:{job_id}"


def index_key(kind: str, owner: str) -> str:
    """A per-owner index of ``jobs`` or ``batches`` (ocrq/store/listing.py); "" (no API keys) is ``open``."""
    return f"{PREFIX}index:{kind}:{owner or 'open'}"


def reservation_key(task_id: str) -> str:
    return f"{PREFIX}reserved:{task_id}"


def flight_key(owner: str) -> str:
    return f"{PREFIX}flight:{owner}"


def held_key(owner: str) -> str:
    return f"{PREFIX}held:{owner}"


def owner_waiting_key(owner: str) -> str:
    return f"{PREFIX}waiting:{owner}"


def rate_key(owner: str, minute: int) -> str:
    return f"{PREFIX}rate:{owner}:{minute}"


def job_keys(job_id: str) -> list[str]:
    """The KEYS of every script that may end a job, in the order the end-of-job prelude reads them
    (ocrq/store/lua.py): job, upload, events channel, pending set, pages hash, webhooks due."""
    return [job_key(job_id), upload_key(job_id), events_channel(job_id), PENDING, pages_key(job_id),
            WEBHOOKS_DUE]


@dataclass(frozen=True)
class KeySpec:
    """One row of the key map: the name (``<id>`` where an id goes), Redis type, TTL, owner, contents."""

    name: str
    type: str
    ttl: str
    owner: str
    holds: str


KEYS: tuple[KeySpec, ...] = (
    KeySpec("ocrq:job:<id>", "hash", "job (from the end; uploads' TTL before)", "ocrq/store/jobs.py",
            "status, created_at, started_at, finished_at, attempts, options (JSON), owner, worker (the node "
            "that claimed it), result or error (JSON), keep_upload; a document also format, pages, dpi, "
            "pages_done; order (its place in its key's line, ocrq/store/shares.py)"),
    KeySpec("ocrq:upload:<id>", "string", "upload", "ocrq/store/jobs.py",
            "the uploaded bytes; deleted when the job ends, but kept (TTL job) by a succeeded job created "
            "with keep_upload (OCRQ_KEEP_UPLOADS): the searchable PDF and page images are drawn from it"),
    KeySpec("ocrq:pages:<id>", "hash", "job", "ocrq/store/pages.py",
            "a document's pages while they run: result:<n>, text:<n>, attempts:<n>, node:<n>, pid:<n>; "
            "deleted when the job ends"),
    KeySpec("ocrq:events:<id>", "pub/sub channel", "-", "ocrq/store/lua.py",
            "the final status, published when the job ends (long-polls wake on it)"),
    KeySpec(PENDING, "sorted set", "-", "ocrq/store/jobs.py",
            "unfinished job ids, scored by their last enqueue or claim (epoch s), for the reconciler"),
    KeySpec(WEBHOOKS_DUE, "sorted set", "-", "ocrq/store/lua.py",
            "ended jobs with a callback_url whose webhook is not delivered nor given up, by end time"),
    KeySpec("ocrq:webhook:lock:<id>", "string", "2 x OCRQ_WEBHOOK_TIMEOUT + 30 s", "ocrq/store/outbox.py",
            "held while one copy of a webhook task delivers"),
    KeySpec("ocrq:webhook:last-try:<id>", "string", "24 h", "ocrq/store/outbox.py",
            "the one attempt made past OCRQ_WEBHOOK_RETRY_SECONDS, claimed before it is made"),
    KeySpec("ocrq:batch:<id>", "hash", "job (again from when first seen finished)", "ocrq/store/batches.py",
            "batch_id, owner, created_at, items (JSON: index, filename, job_id, error), finished_at"),
    KeySpec("ocrq:index:jobs:<owner>, ocrq:index:batches:<owner>", "sorted set",
            "job + upload (from the newest entry)", "ocrq/store/listing.py",
            "an owner's job or batch ids scored by creation (epoch ms), for GET /v1/jobs and /v1/batches; "
            "owner `open` without API keys"),
    KeySpec("ocrq:idem:<sha256(owner, key)>", "string", "idempotency (60 s while pending)",
            "ocrq/store/idempotency.py", "JSON: token, fingerprint, state (pending, done), the first answer"),
    KeySpec(WORKERS, "sorted set", "-", "ocrq/store/workers.py",
            "worker node names scored by their last heartbeat (Redis server time, s); live = the last 15 s; "
            "nodes silent for a day are dropped"),
    KeySpec("ocrq:reserved:<task id>", "string", "visibility", "ocrq/store/broker.py",
            "the node that received a task message (a dead node's unacknowledged ones are handed back)"),
    KeySpec(WORKER_PROCESSES, "hash", "-", "ocrq/store/workers.py",
            "node -> how many OCR processes it runs (0: webhooks only), reported with its heartbeat; the "
            "default per-key cap (OCRQ_KEY_IN_FLIGHT) is their sum over the live nodes"),
    KeySpec("ocrq:flight:<owner>", "set", "-", "ocrq/store/shares.py",
            "the owner's task ids in flight (sent to the broker, or running): a job's id, ``<job>:p<n>``"),
    KeySpec("ocrq:held:<owner>", "sorted set", "-", "ocrq/store/shares.py",
            "the owner's task ids held back over its cap, scored priority rank x 10^15 + submission order"),
    KeySpec(SHARE_OWNERS, "set", "-", "ocrq/store/shares.py",
            "owners with tasks in flight or held (the reconciler's fair-sharing pass reads it)"),
    KeySpec(WAITING, "sorted set", "-", "ocrq/store/quotas.py",
            "``<owner> <job id>`` of every job not started yet (held included), by submission time: what "
            "OCRQ_MAX_QUEUE_DEPTH counts"),
    KeySpec("ocrq:waiting:<owner>", "sorted set", "-", "ocrq/store/quotas.py",
            "the owner's jobs not started yet: what OCRQ_KEY_MAX_QUEUED counts"),
    KeySpec("ocrq:rate:<owner>:<minute>", "string", "120 s", "ocrq/store/quotas.py",
            "jobs the owner submitted in that minute (epoch s // 60): what OCRQ_KEY_JOBS_PER_MINUTE counts"),
    KeySpec(RECONCILER_LOCK, "string", "3 x OCRQ_RECONCILE_INTERVAL", "ocrq/reconcile.py",
            "the node whose reconciler runs the passes"),
    KeySpec("ocr.high, ocr, ocr.low, webhooks", "list", "-", "kombu (Celery's broker)",
            "task messages waiting in each queue (JSON; OCR by priority, then webhooks)"),
    KeySpec(UNACKED, "hash", "-", "kombu", "delivery tag -> [message, exchange, routing key] of messages a "
            "worker received and has not acknowledged (acks_late: until the task returns)"),
    KeySpec(UNACKED_INDEX, "sorted set", "-", "kombu", "delivery tag -> when it was delivered; kombu puts "
            "a message older than the visibility timeout back in its queue"),
    KeySpec("unacked_mutex, _kombu.binding.<queue>", "string, set", "-", "kombu",
            "kombu's lock for restoring messages, and the queue bindings"),
)
