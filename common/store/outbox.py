"""The webhooks' outbox: which ended jobs still owe a webhook, and a lock per delivery so that two copies
of one task never POST at the same time (ocrq/webhooks.py delivers).

A job becomes due in the same script that ends it (ocrq/store/lua.py, ``webhook_due``); it leaves the due
set when its webhook is delivered, given up or dropped.
"""

from __future__ import annotations

import redis

from ocrq.store.keys import WEBHOOKS_DUE, webhook_last_try_key, webhook_lock_key

LAST_TRY_MEMORY = 86400  # how long the claim on a webhook's last try is kept (the reconciler's horizon)


class WebhookOutbox:
    """The due set (job id -> when it ended, epoch s) and the delivery locks."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def due_since(self, job_id: str) -> float | None:
        """When the job ended (epoch s), if its webhook is still due; None if delivered or given up."""
        return self.redis.zscore(WEBHOOKS_DUE, job_id)

    def overdue(self, older_than: float, limit: int = 1000) -> list[str]:
        """Jobs whose webhook has been due since before ``older_than`` (epoch s), oldest first."""
        due: list[bytes] = self.redis.zrangebyscore(WEBHOOKS_DUE, "-inf", older_than, 0, limit)  # type: ignore[assignment]
        return [i.decode() for i in due]

    def lock(self, job_id: str, seconds: float) -> bool:
        return bool(self.redis.set(webhook_lock_key(job_id), "1", nx=True, px=max(1, int(seconds * 1000))))

    def unlock(self, job_id: str) -> None:
        self.redis.delete(webhook_lock_key(job_id))

    def last_try(self, job_id: str) -> bool:
        """Claim the one attempt made past the retry deadline; False if it has been claimed already (its
        worker died, say): recorded before the POST, so nothing can make it a second time."""
        return bool(self.redis.set(webhook_last_try_key(job_id), "1", nx=True, ex=LAST_TRY_MEMORY))

    def done(self, job_id: str) -> None:
        """Delivered, given up or dropped: never sent again."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(WEBHOOKS_DUE, job_id)
            pipe.delete(webhook_lock_key(job_id), webhook_last_try_key(job_id))
            pipe.execute()
