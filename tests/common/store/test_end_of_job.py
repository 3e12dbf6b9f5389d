"""Every way a job ends does the same things in the same step (ocrq/store/lua.py): status and end time,
the upload and the pages deleted, the record expiring, out of the pending set, the end published, and the
webhook due when the job has a callback_url."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ocrq.store import JobStore, PageStore
from ocrq.store.keys import PENDING, WEBHOOKS_DUE, events_channel, job_key, pages_key, upload_key

HOOK = {"callback_url": "https://hooks.example/x"}


def finish(jobs: JobStore, pages: PageStore) -> None:
    jobs.claim("j", 3, "n")
    assert jobs.succeed("j", {"text": "t"})


def fail(jobs: JobStore, pages: PageStore) -> None:
    jobs.claim("j", 3, "n")
    assert jobs.fail("j", "timeout", "slow")


def exhausted(jobs: JobStore, pages: PageStore) -> None:
    for _ in range(2):
        jobs.claim("j", 1, "n")


def page_exhausted(jobs: JobStore, pages: PageStore) -> None:
    jobs.claim("j", 3, "n")
    for _ in range(2):
        pages.claim("j", 1, 1, "n")


def assembled(jobs: JobStore, pages: PageStore) -> None:
    jobs.claim("j", 3, "n")
    for n in (1, 2):
        pages.claim("j", n, 3, "n")
    pages.record("j", 1, {"page": 1, "text": "a", "lines": []}, {"format": "pdf"})
    assert pages.record("j", 2, {"page": 2, "text": "b", "lines": []}, {"format": "pdf"}) == "assembled"


def cancel(jobs: JobStore, pages: PageStore) -> None:
    assert jobs.cancel("j") == "canceled"


ENDS: dict[str, tuple[Callable[[JobStore, PageStore], None], str]] = {
    "finish": (finish, "succeeded"), "fail": (fail, "failed"), "exhausted": (exhausted, "failed"),
    "page exhausted": (page_exhausted, "failed"), "assembled": (assembled, "succeeded"),
    "cancel": (cancel, "canceled"),
}


@pytest.mark.parametrize("callback", [True, False], ids=["callback", "no-callback"])
@pytest.mark.parametrize("end", list(ENDS))
def test_every_end_does_the_same(scratch_redis, end, callback):
    jobs, pages = JobStore(scratch_redis, job_ttl=50, upload_ttl=300), PageStore(scratch_redis, job_ttl=50)
    document = {"format": "pdf", "pages": 2, "dpi": 150} if end.startswith(("page", "assembled")) else None
    jobs.create("j", b"bytes", HOOK if callback else {}, document=document)
    scratch_redis.hset(pages_key("j"), "text:9", "left over")
    listener = scratch_redis.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(events_channel("j"))
    run, status = ENDS[end]
    run(jobs, pages)
    record = {k.decode(): v.decode() for k, v in scratch_redis.hgetall(job_key("j")).items()}
    assert record["status"] == status and record["finished_at"].endswith("Z")
    assert not scratch_redis.exists(upload_key("j")) and not scratch_redis.exists(pages_key("j"))
    assert 0 < scratch_redis.ttl(job_key("j")) <= 50
    assert scratch_redis.zscore(PENDING, "j") is None
    deadline, published = time.monotonic() + 2, None
    while published is None and time.monotonic() < deadline:
        published = listener.get_message(timeout=0.2)
    listener.close()
    assert published is not None and published["data"] == status.encode()
    assert (scratch_redis.zscore(WEBHOOKS_DUE, "j") is not None) == callback


def test_a_fact_is_stored_once(scratch_redis):
    """The callback URL lives in the options alone; a document's page count in ``pages`` alone."""
    jobs = JobStore(scratch_redis, job_ttl=50, upload_ttl=50)
    jobs.create("j", b"x", HOOK, document={"format": "pdf", "pages": 3, "dpi": 150})
    fields = {k.decode() for k in scratch_redis.hkeys(job_key("j"))}
    assert "callback_url" not in fields and "document" not in fields
    assert fields >= {"options", "format", "pages", "dpi"}
    job = jobs.get("j")
    assert job is not None and job.document == {"format": "pdf", "pages": 3, "dpi": 150}
    assert job.options == HOOK and job.public()["progress"] == {"done": 0, "total": 3}


@pytest.mark.parametrize("end", list(ENDS))
def test_a_job_that_keeps_its_upload_keeps_it_only_when_it_succeeds(scratch_redis, end):
    """OCRQ_KEEP_UPLOADS: the searchable PDF and the page images need the upload after the job's end, so
    a succeeded job's upload lives as long as its record; any other end deletes it as before."""
    jobs, pages = JobStore(scratch_redis, job_ttl=50, upload_ttl=300), PageStore(scratch_redis, job_ttl=50)
    document = {"format": "pdf", "pages": 2, "dpi": 150} if end.startswith(("page", "assembled")) else None
    jobs.create("j", b"bytes", {}, document=document, keep_upload=True)
    run, status = ENDS[end]
    run(jobs, pages)
    assert not scratch_redis.exists(pages_key("j"))
    if status == "succeeded":
        assert jobs.upload("j") == b"bytes"
        assert 0 < scratch_redis.ttl(upload_key("j")) <= 50  # the record's TTL, not the upload's 300 s
    else:
        assert jobs.upload("j") is None
    if status != "canceled":  # deleting the finished job takes the kept upload with it
        assert jobs.cancel("j") == "deleted" and jobs.upload("j") is None
