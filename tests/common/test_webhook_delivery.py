"""One webhook attempt's decisions (common/webhooks.py ``WebhookDelivery``) against a real Redis, with a
recording stand-in for the HTTP POST (the real one is tested end to end in tests/integration)."""

from __future__ import annotations

import json
import time

import pytest
import urllib3
from celery.exceptions import SoftTimeLimitExceeded

from ocrq.config import Settings
from ocrq.store.jobs import JobStore
from ocrq.store.keys import WEBHOOKS_DUE
from ocrq.webhooks import JOB_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookDelivery, verify

SETTINGS = Settings(webhook_secret="s", webhook_allowed_hosts="127.0.0.1", webhook_backoff=1,
                    webhook_retry_seconds=60)


class Receiver:
    """Answers the given statuses in turn (an exception is raised instead of answered)."""

    def __init__(self, *answers: int | BaseException) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, bytes, dict]] = []

    def __call__(self, target, address, body, headers, timeout) -> int:
        self.calls.append((str(address), body, headers))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.fixture
def jobs(scratch_redis):
    return JobStore(scratch_redis, job_ttl=60, upload_ttl=60)


JOB = "0b43c1d2-0000-4000-8000-00000000e1d1"


def ended_job(jobs: JobStore, job_id: str = JOB, url: str = "http://127.0.0.1:9/hook") -> str:
    jobs.create(job_id, b"x", {"enhance": "auto", "priority": "normal", "tag": "t-1", "callback_url": url})
    jobs.claim(job_id, 3)
    assert jobs.fail(job_id, "undecodable_image", "not an image")
    assert jobs.redis.zscore(WEBHOOKS_DUE, job_id) is not None  # the script that ended it made it due
    return job_id


def test_a_2xx_delivers_the_signed_job_document_once(jobs):
    receiver = Receiver(204)
    delivery = WebhookDelivery(SETTINGS, jobs, post=receiver)
    outcome = delivery.attempt(ended_job(jobs), 1)
    assert (outcome.verdict, outcome.status) == ("delivered", 204)
    address, body, headers = receiver.calls[0]
    document = json.loads(body)
    assert address == "127.0.0.1" and document["job_id"] == JOB and document["status"] == "failed"
    assert document["error"]["code"] == "undecodable_image" and document["options"]["tag"] == "t-1"
    assert document["links"] == {"self": f"/v1/jobs/{JOB}"}
    assert verify("s", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert headers[JOB_HEADER] == JOB
    assert not jobs.redis.zcard(WEBHOOKS_DUE)
    assert delivery.attempt(JOB, 1).verdict == "not_due" and len(receiver.calls) == 1  # a duplicate task


def test_failures_are_retried_with_backoff_then_given_up(jobs):
    settings = SETTINGS.model_copy(update={"webhook_retry_seconds": 5})
    receiver = Receiver(500, urllib3.exceptions.ReadTimeoutError(None, "/", "slow"), 503)
    delivery = WebhookDelivery(settings, jobs, post=receiver)
    job_id = ended_job(jobs)
    first, second = delivery.attempt(job_id, 1), delivery.attempt(job_id, 2)
    assert (first.verdict, first.status, first.retry_in) == ("retry", 500, 1)
    assert (second.verdict, second.status, second.retry_in) == ("retry", None, 2)
    assert second.reason == "ReadTimeoutError"
    jobs.redis.zadd(WEBHOOKS_DUE, {job_id: time.time() - 4.5})  # 4.5 s after the end: 0.5 s left
    last = delivery.attempt(job_id, 3)
    assert last.verdict == "retry" and 0 < last.retry_in <= 0.5  # the last try is at the deadline
    jobs.redis.zadd(WEBHOOKS_DUE, {job_id: time.time() - 6})
    receiver.answers.append(502)
    assert delivery.attempt(job_id, 4).verdict == "given_up"
    assert not jobs.redis.zcard(WEBHOOKS_DUE) and len(receiver.calls) == 4


def test_a_url_the_policy_no_longer_allows_is_given_up_without_a_request(jobs):
    receiver = Receiver()
    strict = SETTINGS.model_copy(update={"webhook_allowed_hosts": "hooks.internal"})
    assert WebhookDelivery(strict, jobs, post=receiver).attempt(ended_job(jobs), 1).verdict == "given_up"
    assert receiver.calls == [] and not jobs.redis.zcard(WEBHOOKS_DUE)


def test_a_host_that_does_not_resolve_is_retried(jobs):
    job_id = ended_job(jobs, url="http://no-such-host.invalid/hook")
    outcome = WebhookDelivery(SETTINGS.model_copy(update={"webhook_allowed_hosts": ""}), jobs,
                              post=Receiver()).attempt(job_id, 1)
    assert outcome.verdict == "retry" and "does not resolve" in outcome.reason


def test_a_deleted_job_is_dropped_and_a_locked_one_left_to_its_holder(jobs):
    receiver = Receiver()
    delivery = WebhookDelivery(SETTINGS, jobs, post=receiver)
    job_id = ended_job(jobs)
    assert delivery.outbox.lock(job_id, 5)
    assert delivery.attempt(job_id, 1).verdict == "busy"
    delivery.outbox.unlock(job_id)
    assert jobs.cancel(job_id) == "deleted"
    assert delivery.attempt(job_id, 1).verdict == "dropped"
    assert receiver.calls == [] and not jobs.redis.zcard(WEBHOOKS_DUE)


def test_only_a_job_with_a_callback_becomes_due_and_an_undone_submission_never(jobs):
    jobs.create("plain", b"x", {"enhance": "auto"})
    jobs.claim("plain", 3)
    jobs.fail("plain", "undecodable_image", "no")
    jobs.create("undone", b"x", {"callback_url": "http://127.0.0.1/"})
    assert jobs.cancel("undone", notify=False) == "canceled"
    jobs.create("canceled", b"x", {"callback_url": "http://127.0.0.1/"})
    assert jobs.cancel("canceled") == "canceled"
    assert [m.decode() for m in jobs.redis.zrange(WEBHOOKS_DUE, 0, -1)] == ["canceled"]


def test_an_attempt_that_raises_anything_is_retried_then_given_up_at_the_deadline(jobs):
    settings = SETTINGS.model_copy(update={"webhook_retry_seconds": 5})
    receiver = Receiver(UnicodeError("label too long"), SoftTimeLimitExceeded(), ZeroDivisionError())
    delivery = WebhookDelivery(settings, jobs, post=receiver)
    job_id = ended_job(jobs)
    first = delivery.attempt(job_id, 1)  # not a network error, but a failed try all the same
    assert (first.verdict, first.reason, first.retry_in) == ("retry", "UnicodeError", 1)
    jobs.redis.zadd(WEBHOOKS_DUE, {job_id: time.time() - 4.5})
    assert delivery.attempt(job_id, 2).verdict == "retry"  # the soft time limit, before the deadline
    jobs.redis.zadd(WEBHOOKS_DUE, {job_id: time.time() - 6})
    last = delivery.attempt(job_id, 3)
    assert (last.verdict, last.reason) == ("given_up", "ZeroDivisionError")
    assert not jobs.redis.zcard(WEBHOOKS_DUE) and len(receiver.calls) == 3
    assert not jobs.redis.keys("ocrq:webhook:*")  # neither the lock nor the last-try claim stays behind


def test_past_the_deadline_one_try_is_made_even_if_its_worker_dies(jobs):
    receiver = Receiver(KeyboardInterrupt())  # stands for a worker killed in the middle of the POST
    delivery = WebhookDelivery(SETTINGS.model_copy(update={"webhook_retry_seconds": 5}), jobs, post=receiver)
    job_id = ended_job(jobs)
    jobs.redis.zadd(WEBHOOKS_DUE, {job_id: time.time() - 6})
    with pytest.raises(KeyboardInterrupt):
        delivery.attempt(job_id, 1)
    assert jobs.redis.zscore(WEBHOOKS_DUE, job_id) is not None  # still due: the reconciler re-sends it
    again = delivery.attempt(job_id, 1)
    assert again.verdict == "given_up" and "last try was made" in again.reason
    assert len(receiver.calls) == 1 and not jobs.redis.zcard(WEBHOOKS_DUE)
