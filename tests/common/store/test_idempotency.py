"""The Idempotency-Key store (common/idempotency.py) against a real Redis (its own database)."""

from __future__ import annotations

import json
import threading

import pytest

from ocrq.errors import IdempotencyConflict
from ocrq.store.idempotency import Claim, IdempotencyStore, StoredResponse, fingerprint


@pytest.fixture
def store(scratch_redis):
    return IdempotencyStore(scratch_redis, ttl=60)


ANSWER = StoredResponse(202, json.dumps({"job_id": "j1"}), "/v1/jobs/j1")


def test_the_first_request_claims_the_key_and_a_retry_gets_its_answer(store):
    print_ = fingerprint("jobs", {"enhance": "auto"}, [("", b"image")])
    claim = store.begin("", "key-1", print_)
    assert isinstance(claim, Claim)
    claim.complete(ANSWER)
    assert store.begin("", "key-1", print_) == ANSWER
    assert 0 < store.redis.ttl(store.redis_key("", "key-1")) <= 60


def test_the_same_key_with_another_request_is_a_conflict(store):
    store.begin("", "key-1", fingerprint("jobs", {"enhance": "auto"}, [("", b"a")])).complete(ANSWER)
    for other in (fingerprint("jobs", {"enhance": "off"}, [("", b"a")]),
                  fingerprint("jobs", {"enhance": "auto"}, [("", b"b")]),
                  fingerprint("batches", {"enhance": "auto"}, [("", b"a")])):
        with pytest.raises(IdempotencyConflict) as caught:
            store.begin("", "key-1", other)
        assert caught.value.http_status == 409 and caught.value.code == "idempotency_conflict"


def test_keys_belong_to_their_api_key(store):
    print_ = fingerprint("jobs", {}, [("", b"a")])
    store.begin("tenant-a", "shared", print_).complete(ANSWER)
    assert isinstance(store.begin("tenant-b", "shared", print_), Claim)  # not tenant-a's answer


def test_an_abandoned_claim_frees_the_key(store):
    print_ = fingerprint("jobs", {}, [("", b"a")])
    store.begin("", "key-1", print_).abandon()
    assert isinstance(store.begin("", "key-1", print_), Claim)


def test_a_duplicate_waits_for_the_first_answer_and_gives_up_with_409_in_progress(store):
    print_ = fingerprint("jobs", {}, [("", b"a")])
    first = store.begin("", "key-1", print_)
    with pytest.raises(IdempotencyConflict) as caught:
        store.begin("", "key-1", print_, wait=0.2)
    assert caught.value.code == "idempotency_in_progress"
    timer = threading.Timer(0.3, first.complete, args=[ANSWER])
    timer.start()
    assert store.begin("", "key-1", print_, wait=5) == ANSWER  # it waited, then replayed
    timer.join()


def test_a_late_settle_does_not_overwrite_a_newer_claim(store):
    print_ = fingerprint("jobs", {}, [("", b"a")])
    stale = store.begin("", "key-1", print_)
    store.redis.delete(store.redis_key("", "key-1"))  # its pending claim expired
    fresh = store.begin("", "key-1", print_)
    stale.complete(StoredResponse(202, "{}", None))
    assert isinstance(fresh, Claim)
    with pytest.raises(IdempotencyConflict, match="still being processed"):
        store.begin("", "key-1", print_, wait=0)
