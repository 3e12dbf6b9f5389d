"""Webhooks: when a job with a ``callback_url`` ends, its document is POSTed there, signed.

Exactly once, as far as a network allows:

- the Lua prelude that ends a job (ocrq/store/lua.py: finish, claim exhausted, document assembled,
  cancel) adds it to ``ocrq:webhooks:due`` in the same step, so a job cannot end without its
  webhook becoming due, nor become due twice;
- whoever ended it then sends one ``ocrq.webhook`` task (id ``<job>:webhook``) to the ``webhooks`` queue;
  if that process dies first, the reconciler sends it (a due job with no message, twice in a row);
- the task (worker/webhooks.py, ``acks_late``) delivers while the job is due and holds a short lock, then
  removes it from the due set: a duplicate message finds nothing to do. Retries are the same task,
  re-sent with a countdown, so they survive a worker restart too.

A receiver checks ``X-Ocrq-Signature: sha256=<hex>``, the HMAC-SHA256 with OCRQ_WEBHOOK_SECRET of
``<X-Ocrq-Timestamp>.<body>`` (:func:`verify`), and may drop a delivery it has seen (``X-Ocrq-Job-Id``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import urllib3
from celery import Celery
from pydantic import ValidationError

from ocrq import callback_url
from ocrq.callback_url import CallbackRefused, HostPolicy, Unresolvable, allowed
from ocrq.config import Settings
from ocrq.schemas import job_document
from ocrq.store.jobs import Job, JobStore
from ocrq.store.outbox import WebhookOutbox
from ocrq.tasks import SEND_RETRY_POLICY, WEBHOOK_QUEUE, WEBHOOK_TASK, webhook_task_id

log = logging.getLogger("ocrq.webhooks")
TIMESTAMP_HEADER = "X-Ocrq-Timestamp"
SIGNATURE_HEADER = "X-Ocrq-Signature"
JOB_HEADER = "X-Ocrq-Job-Id"
ATTEMPT_HEADER = "X-Ocrq-Attempt"
TOLERANCE_SECONDS = 300  # how old a signed timestamp a receiver should accept


def body(job: Job) -> bytes:
    """The job's document, as ``GET /v1/jobs/<id>`` answers it."""
    document = job_document(job.public(), f"/v1/jobs/{job.job_id}")
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def sign(secret: str, timestamp: int, payload: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``<timestamp>.<payload>`` (the timestamp binds the signature to a
    time, so an old delivery replayed later can be told apart)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + payload, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, payload: bytes, job_id: str, attempt: int) -> dict[str, str]:
    timestamp = int(time.time())
    return {"Content-Type": "application/json", "User-Agent": "ocrq-webhook",
            TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, payload),
            JOB_HEADER: job_id, ATTEMPT_HEADER: str(attempt)}


def verify(secret: str, timestamp: str, payload: bytes, signature: str,
           tolerance: float = TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """What a receiver does: the signature matches (compared in constant time) and the timestamp is
    recent."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, int(timestamp), payload), signature)


def send_webhook(celery: Celery, job_id: str, attempt: int = 1, countdown: float | None = None) -> None:
    """Send the job's ``ocrq.webhook`` task by name (its id is the job's webhook id: the reconciler looks
    for it in the broker)."""
    celery.send_task(WEBHOOK_TASK, args=[job_id, attempt], task_id=webhook_task_id(job_id),
                     queue=WEBHOOK_QUEUE, countdown=countdown, retry=True,
                     retry_policy=SEND_RETRY_POLICY)


def retry_delay(settings: Settings, attempt: int) -> float:
    """Seconds between attempt ``attempt`` and the next: OCRQ_WEBHOOK_BACKOFF, doubled each time, at most
    half the broker's visibility timeout (a retry waits in the broker as an unacknowledged message; held
    longer, Redis would hand a copy to another worker)."""
    return min(settings.webhook_backoff * 2 ** min(attempt - 1, 32), settings.visibility_timeout / 2)


@dataclass(frozen=True)
class Outcome:
    """What one run of the webhook task did: ``delivered`` (a 2xx), ``retry`` (after ``retry_in`` s),
    ``given_up`` (failed past OCRQ_WEBHOOK_RETRY_SECONDS, or may no longer be called), ``dropped`` (the
    job has expired or was deleted), or nothing to do: ``not_due`` (done already), ``busy`` (another copy
    of the task is delivering)."""

    verdict: str
    status: int | None = None  # the receiver's answer, when there was one
    retry_in: float | None = None
    reason: str = ""  # why it failed; never the URL (its query may hold a token) nor the body


class WebhookDelivery:
    """One attempt at a due webhook, under its lock; the task (worker/webhooks.py) sends the retry."""

    def __init__(self, settings: Settings, jobs: JobStore,
                 post: Callable[..., int] = callback_url.post) -> None:
        self.settings = settings
        self.jobs = jobs
        self.outbox = WebhookOutbox(jobs.redis)
        self.policy = HostPolicy.parse(settings.webhook_allowed_hosts)
        self.post = post

    def attempt(self, job_id: str, attempt: int) -> Outcome:
        if not self.outbox.lock(job_id, self.settings.webhook_timeout * 2 + 30):
            return Outcome("busy")
        try:
            ended = self.outbox.due_since(job_id)  # read under the lock: a copy that just finished counts
            outcome = Outcome("not_due") if ended is None else self._attempt(job_id, attempt, ended)
        except BaseException:
            self.outbox.unlock(job_id)
            raise
        if outcome.verdict in ("retry", "not_due"):
            self.outbox.unlock(job_id)
        else:
            self.outbox.done(job_id)
        return outcome

    def _attempt(self, job_id: str, attempt: int, ended: float) -> Outcome:
        job = self.jobs.get(job_id)
        url = job.options.get("callback_url") if job is not None else None
        if job is None or not url:
            return Outcome("dropped", reason="the job has expired or was deleted")
        secret = self.settings.webhook_secret
        if not secret:
            return Outcome("given_up", reason="OCRQ_WEBHOOK_SECRET is not set on this worker")
        try:
            payload = body(job)
        except ValidationError as exc:  # a record the contract cannot describe: retrying would not help
            return Outcome("given_up", reason=f"the job document is not valid ({exc.error_count()} errors)")
        if time.time() >= ended + self.settings.webhook_retry_seconds and not self.outbox.last_try(job_id):
            return Outcome("given_up", reason="past OCRQ_WEBHOOK_RETRY_SECONDS and the last try was made")
        try:
            target, address = allowed(url, self.policy)  # again: DNS or the policy may have changed
            status = self.post(target, address, payload, signed_headers(secret, payload, job_id, attempt),
                               self.settings.webhook_timeout)
        except Unresolvable as exc:
            return self._failed(attempt, ended, None, str(exc))
        except CallbackRefused as exc:  # e.g. the name now points inside: never retried
            return Outcome("given_up", reason=str(exc))
        except Exception as exc:  # refused, timed out, TLS, the soft time limit, a bug: each a failed try,
            # retried, then given up (re-raised, it would stay due and the reconciler would resend it)
            network = isinstance(exc, OSError | urllib3.exceptions.HTTPError)
            log.log(logging.INFO if network else logging.WARNING, "job %s webhook attempt %d: %s", job_id,
                    attempt, type(exc).__name__, exc_info=not network)
            return self._failed(attempt, ended, None, type(exc).__name__)
        if 200 <= status < 300:
            return Outcome("delivered", status)
        return self._failed(attempt, ended, status, f"HTTP {status}")

    def _failed(self, attempt: int, ended: float, status: int | None, reason: str) -> Outcome:
        """Retry after the backoff, the last time at OCRQ_WEBHOOK_RETRY_SECONDS after the job's end."""
        remaining = ended + self.settings.webhook_retry_seconds - time.time()
        if remaining <= 0:
            return Outcome("given_up", status, reason=reason)
        return Outcome("retry", status, retry_in=min(retry_delay(self.settings, attempt), remaining),
                       reason=reason)
