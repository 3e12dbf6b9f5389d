"""What the broker holds, read from kombu's Redis keys: which tasks wait in a queue, which a worker has
received and not acknowledged (and which node received each), and a dead node's messages handed back.

kombu keeps a queue as a list and a received message in the ``unacked`` hash until it is acknowledged
(``acks_late``: when the task returns); only after the visibility timeout does kombu put an unacknowledged
message back in its queue. A worker node notes each message it receives (``reserve``, on Celery's
``task_received``), so the reconciler can hand back at once the messages of a node that died
(``restore``), instead of waiting out the visibility timeout.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis

from ocrq.store.keys import UNACKED, UNACKED_INDEX, reservation_key

# KEYS: unacked, unacked_index, the queue. ARGV: delivery tag, the entry as read, the message to push.
# Only if the entry is still the one read: a worker that acknowledged it meanwhile wins.
_RESTORE = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[3])
return 1
"""


def message_task_id(message: dict) -> str | None:
    """The task id of a kombu message as the Redis transport stores it (Celery protocol 2 or 1)."""
    headers = message.get("headers") or {}
    if headers.get("id"):
        return str(headers["id"])
    return (message.get("properties") or {}).get("correlation_id")


@dataclass(frozen=True)
class HeldMessage:
    """A message a worker received and has not acknowledged: its delivery tag, the raw ``unacked`` entry,
    the queue it came from (its routing key) and the node that received it ("" if unknown)."""

    tag: str
    entry: bytes
    queue: str
    node: str


@dataclass
class BrokerSnapshot:
    """Task ids waiting in the queues, and the held (unacknowledged) messages by task id."""

    queued: set[str] = field(default_factory=set)
    held: dict[str, list[HeldMessage]] = field(default_factory=dict)

    def present(self, task_id: str) -> bool:
        return task_id in self.queued or task_id in self.held


class BrokerView:
    """Reads the broker's keys; notes and hands back reservations."""

    def __init__(self, client: redis.Redis, queues: Iterable[str], reservation_ttl: int) -> None:
        self.redis = client
        self.queues = tuple(queues)
        self.reservation_ttl = reservation_ttl
        self._restore = client.register_script(_RESTORE)

    def depths(self) -> dict[str, int]:
        """Tasks waiting in each queue, read at once."""
        with self.redis.pipeline(transaction=False) as pipe:
            for queue in self.queues:
                pipe.llen(queue)
            return {queue: int(n) for queue, n in zip(self.queues, pipe.execute(), strict=True)}

    def reserve(self, task_id: str, node: str) -> None:
        """Node ``node`` received task ``task_id`` (kept as long as kombu could hold the message)."""
        self.redis.set(reservation_key(task_id), node, ex=self.reservation_ttl)

    def release(self, task_id: str) -> None:
        """Task ``task_id`` has returned: its message is acknowledged, nothing left to hand back."""
        self.redis.delete(reservation_key(task_id))

    def snapshot(self) -> BrokerSnapshot:
        """Every waiting task id, and every held message with the node that received it."""
        snapshot = BrokerSnapshot()
        with self.redis.pipeline(transaction=False) as pipe:
            for queue in self.queues:
                pipe.lrange(queue, 0, -1)
            waiting = [raw for listed in pipe.execute() for raw in listed]
        for raw in waiting:
            try:
                snapshot.queued.add(message_task_id(json.loads(raw)) or "")
            except (ValueError, AttributeError):
                continue
        held: list[tuple[str, str, bytes, str]] = []  # (task id, tag, entry, queue)
        entries: dict[bytes, bytes] = self.redis.hgetall(UNACKED)  # type: ignore[assignment]
        for raw_tag, entry in entries.items():
            try:
                message, _exchange, routing_key = json.loads(entry)
                task_id = message_task_id(message)
            except (ValueError, TypeError, AttributeError):
                continue
            if task_id:
                held.append((task_id, raw_tag.decode(), entry, str(routing_key)))
        nodes: list[bytes | None] = (
            self.redis.mget([reservation_key(task_id) for task_id, *_ in held]) if held else []  # type: ignore[assignment]
        )
        for (task_id, tag, entry, queue), node in zip(held, nodes, strict=True):
            snapshot.held.setdefault(task_id, []).append(
                HeldMessage(tag, entry, queue, node.decode() if node else ""))
        return snapshot

    def restore(self, held: HeldMessage) -> bool:
        """Put a held message back in its queue, next to be taken (as kombu does after the visibility
        timeout); False if it was acknowledged or restored meanwhile, or its queue is not ours."""
        if held.queue not in self.queues:
            return False
        message = json.loads(held.entry)[0]
        return bool(self._restore(keys=[UNACKED, UNACKED_INDEX, held.queue],
                                  args=[held.tag, held.entry, json.dumps(message)]))
