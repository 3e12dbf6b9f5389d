"""The webhook task: POST a finished job's document to its callback_url, signed; retried with backoff.

The work is in ocrq/webhooks.py (``WebhookDelivery``); this task runs one attempt and, if it failed,
sends itself again with a countdown (the same task id, so the reconciler sees it in the broker).
"""

from __future__ import annotations

import logging

from ocrq.tasks import WEBHOOK_TASK
from ocrq.webhooks import send_webhook
from ocrq.worker import metrics
from ocrq.worker.base import OcrqTask
from ocrq.worker.celery_app import app

log = logging.getLogger("ocrq.worker")


@app.task(name=WEBHOOK_TASK, base=OcrqTask, bind=True)
def deliver_webhook(self: OcrqTask, job_id: str, attempt: int = 1) -> str:
    """Attempt ``attempt`` (1-based) at job ``job_id``'s webhook, while it is due."""
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:  # the broker is not trusted
        attempt = 1
    outcome = self.patiently(lambda: self.delivery.attempt(job_id, attempt))
    if outcome.verdict in ("not_due", "busy"):
        log.debug("job %s webhook: %s", job_id, outcome.verdict)
        return outcome.verdict
    metrics.webhook_outcome(outcome.verdict)
    answer = f"HTTP {outcome.status}" if outcome.status is not None else outcome.reason or "-"
    if outcome.verdict == "retry":
        send_webhook(self.app, job_id, attempt + 1, countdown=outcome.retry_in)
        log.info("job %s webhook attempt %d failed (%s); next in %.2f s", job_id, attempt,
                 outcome.reason or answer, outcome.retry_in)
    elif outcome.verdict == "delivered":
        log.info("job %s webhook delivered (%s, attempt %d)", job_id, answer, attempt)
    else:
        log.warning("job %s webhook %s after %d attempt(s): %s", job_id, outcome.verdict.replace("_", " "),
                    attempt, outcome.reason or answer)
    return outcome.verdict
