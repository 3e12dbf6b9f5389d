"""Per-owner indexes of jobs and batches, newest first: what ``GET /v1/jobs`` and ``/v1/batches`` page
through, without a scan of the keyspace.

An index is a sorted set per owner (``ocrq:index:<kind>:<owner>``, ocrq/store/keys.py) scored by creation
time (epoch ms); equal scores are ordered by id. Entries are written in the same transaction as the record,
trimmed past the horizon a record can live, and the whole set expires with its last record. An entry whose
record has gone (deleted, expired) is skipped when met, and removed then.

A cursor is the last entry a page returned: the next page starts after it, in (score, id) order, so a page
never repeats nor skips an entry however many are added meanwhile.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import redis

from ocrq.errors import InvalidOption
from ocrq.store.keys import index_key

T = TypeVar("T")
CHUNK = 200  # entries read per round trip while filling a page


@dataclass(frozen=True, order=True)
class Position:
    """An entry of an index: its score (created, epoch ms) and id."""

    score: float
    item_id: str

    def cursor(self) -> str:
        """The opaque text a client sends back as ``cursor``."""
        return base64.urlsafe_b64encode(f"{self.score!r}|{self.item_id}".encode()).decode().rstrip("=")

    @classmethod
    def parse(cls, cursor: str) -> Position:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            score, item_id = raw.split("|", 1)
            return cls(float(score), item_id)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidOption("cursor: not a cursor this server gave (send the `next` link as it is)") \
                from None


@dataclass(frozen=True)
class Page(Generic[T]):
    """The records of one page, newest first, and where the next page starts (None: this is the last)."""

    items: list[T]
    next: Position | None


class OwnerIndex:
    """One kind of record (``jobs``, ``batches``) indexed per owner by creation time."""

    def __init__(self, client: redis.Redis, kind: str, horizon_seconds: int) -> None:
        self.redis = client
        self.kind = kind
        self.horizon = horizon_seconds

    def add(self, pipe: redis.client.Pipeline, owner: str, item_id: str, created_ms: float) -> None:
        """Index a new record, in the pipeline (transaction) that writes it; drop entries past the horizon."""
        key = index_key(self.kind, owner)
        pipe.zadd(key, {item_id: created_ms})
        pipe.zremrangebyscore(key, "-inf", created_ms - self.horizon * 1000)
        pipe.expire(key, self.horizon)

    def page(self, owner: str, limit: int, load: Callable[[Sequence[str]], Sequence[T | None]],
             keep: Callable[[T], bool] = lambda _: True, after: Position | None = None,
             newest: float | None = None, oldest: float | None = None, scan_limit: int = 5000) -> Page[T]:
        """Up to ``limit`` records kept by ``keep``, newest first, after the ``after`` position, created
        within [``oldest``, ``newest``] (epoch ms). ``load`` reads records by id (None: gone). At most
        ``scan_limit`` entries are read for one page: a page may then be short, with a ``next``."""
        key = index_key(self.kind, owner)
        low = "-inf" if oldest is None else repr(oldest)
        position, scanned = after, 0
        found: list[T] = []
        gone: list[str] = []
        if position is None and newest is not None:
            position = Position(newest, "\U0010ffff")  # every id at that score sorts before this one
        while len(found) < limit and scanned < scan_limit:
            entries = self._after(key, position, low, min(CHUNK, scan_limit - scanned))
            if not entries:
                position = None
                break
            records = load([entry.item_id for entry in entries])
            for entry, record in zip(entries, records, strict=True):
                scanned += 1
                position = entry
                if record is None:
                    gone.append(entry.item_id)
                elif keep(record):
                    found.append(record)
                    if len(found) == limit:
                        break
        if gone:
            self.redis.zrem(key, *gone)
        if position is not None and not self._after(key, position, low, 1):
            position = None
        return Page(found, position)

    def _after(self, key: str, position: Position | None, low: str, count: int) -> list[Position]:
        """The next ``count`` entries after ``position`` in (score, id) descending order, down to ``low``."""
        if position is None:
            rows = self.redis.zrevrangebyscore(key, "+inf", low, start=0, num=count, withscores=True)
            return _positions(rows)
        ties = [entry for entry in _positions(self.redis.zrevrangebyscore(
            key, repr(position.score), repr(position.score), withscores=True)) if entry < position]
        if len(ties) >= count:
            return ties[:count]
        rows = self.redis.zrevrangebyscore(key, f"({position.score!r}", low, start=0,
                                           num=count - len(ties), withscores=True)
        return ties + _positions(rows)

    def remove(self, owner: str, item_id: str) -> None:
        self.redis.zrem(index_key(self.kind, owner), item_id)


def _positions(rows) -> list[Position]:
    return [Position(float(score), member.decode() if isinstance(member, bytes) else member)
            for member, score in rows]
