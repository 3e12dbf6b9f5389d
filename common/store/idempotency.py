"""Idempotency keys: a client that retries a submission (a timeout, a dropped connection) with the same
``Idempotency-Key`` gets the first answer again instead of a second job (api/idempotency.py).

    ocrq:idem:<sha256(owner, key)>  JSON: {"token", "fingerprint", "state": "pending"|"done", "response"}
                                    (ocrq/store/keys.py)

A key belongs to the API key that sent it (its owner), so two tenants cannot see or block each other's.
The first request claims the key with one Lua script (set if absent, else return what is there): of two
concurrent requests exactly one claims it; the other waits for the first answer and replays it. The
claim is ``pending`` for at most PENDING_SECONDS (a request that dies half-way frees its key), then the
answer is stored for OCRQ_IDEMPOTENCY_TTL_SECONDS. A different request (its ``fingerprint``: the files'
bytes and the options) under a used key is a conflict.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass

import redis

from ocrq.errors import IdempotencyConflict
from ocrq.store.keys import idempotency_key

PENDING_SECONDS = 60
WAIT_SECONDS = 10.0  # how long a concurrent duplicate waits for the first request's answer

# KEYS: the key's record. ARGV: the pending record, its TTL. The record already there, or nil: claimed.
_CLAIM = """
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return false
"""

# KEYS: the key's record. ARGV: our token, the new record ('' deletes), its TTL. Only while still ours.
_SETTLE = """
local current = redis.call('GET', KEYS[1])
if not current or cjson.decode(current)['token'] ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) return 1 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""


@dataclass(frozen=True)
class StoredResponse:
    """The first answer to a key, replayed as it was."""

    status: int
    body: str
    location: str | None = None


def fingerprint(kind: str, options: dict, files: list[tuple[str, bytes]]) -> str:
    """What makes two requests the same: the endpoint, the options, and every file's name and bytes."""
    digest = hashlib.sha256(kind.encode() + b"\0" + json.dumps(options, sort_keys=True).encode())
    for name, data in files:
        digest.update(b"\0" + name.encode("utf-8", "replace") + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


@dataclass
class Claim:
    """A key this request claimed: ``complete`` it with the answer, or ``abandon`` it if the request fails."""

    store: IdempotencyStore
    redis_key: str
    token: str
    fingerprint: str

    def complete(self, response: StoredResponse) -> None:
        record = {"token": self.token, "fingerprint": self.fingerprint, "state": "done",
                  "response": {"status": response.status, "body": response.body,
                               "location": response.location}}
        self.store.settle(self.redis_key, self.token, json.dumps(record), self.store.ttl)

    def abandon(self) -> None:
        self.store.settle(self.redis_key, self.token, "", 0)


class IdempotencyStore:
    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self.redis = client
        self.ttl = ttl
        self._claim = client.register_script(_CLAIM)
        self._settle = client.register_script(_SETTLE)

    @staticmethod
    def redis_key(owner: str, key: str) -> str:
        return idempotency_key(hashlib.sha256(f"{owner}\0{key}".encode()).hexdigest())

    def settle(self, redis_key: str, token: str, record: str, ttl: int) -> bool:
        return bool(self._settle(keys=[redis_key], args=[token, record, ttl]))

    def begin(self, owner: str, key: str, fingerprint: str,
              wait: float = WAIT_SECONDS) -> Claim | StoredResponse:
        """Claim ``key`` for this request, or the stored answer to replay. IdempotencyConflict when the
        key was used with another request, or its first request is still running after ``wait`` s."""
        redis_key = self.redis_key(owner, key)
        token = uuid.uuid4().hex
        pending = json.dumps({"token": token, "fingerprint": fingerprint, "state": "pending"})
        deadline = time.monotonic() + wait
        while True:
            current = self._claim(keys=[redis_key], args=[pending, PENDING_SECONDS])
            if current is None:
                return Claim(self, redis_key, token, fingerprint)
            record = json.loads(current)
            if record.get("fingerprint") != fingerprint:
                raise IdempotencyConflict("this Idempotency-Key was used with a different request (other "
                                          "files or options); use a new key for a new request")
            if record.get("state") == "done":
                answer = record["response"]
                return StoredResponse(int(answer["status"]), answer["body"], answer.get("location"))
            if time.monotonic() > deadline:
                raise IdempotencyConflict("a request with this Idempotency-Key is still being processed; "
                                          "retry in a moment", code="idempotency_in_progress")
            time.sleep(0.05)  # the first request is storing its upload: its answer comes soon
