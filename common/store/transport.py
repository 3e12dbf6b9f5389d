"""kombu's Redis transport, with one repair: a lost broker connection never stops a worker node.

When the connection to Redis drops, Celery closes the old connection and opens a new one; the old
channel's transport lets go of its connection (``client`` None). Whatever then still uses that channel
(putting its unacknowledged messages back as it closes, or a running task acknowledging its message after
the reconnect) makes kombu (5.7) build a Redis client from ``None`` and raise ``AttributeError`` ('NoneType'
object has no attribute 'hostname'). That is not among the connection errors Celery waits out: the node
logs "Unrecoverable error" and exits, and every job sent to it waits (kombu issues #582 and #970 are the
same shape). Seen in a worker under load at the 6th and the 2nd of 40 Redis restarts, and once in CI
(tests/reliability/test_redis_restart.py).

:class:`RepairedChannel` raises the connection error it is instead: Celery reconnects as after any lost
connection, a late acknowledgement is logged as not made, and the messages stay in kombu's ``unacked``
hash, where the reconciler and the visibility timeout hand them back (ocrq/reconcile.py; a job that ended
meanwhile is skipped by its claim).
"""

from __future__ import annotations

import redis
from kombu.transport import redis as kombu_redis


class RepairedChannel(kombu_redis.Channel):
    """kombu's Redis channel that, once its connection is gone, raises ``redis.ConnectionError`` where
    kombu's raises ``AttributeError``."""

    def _connparams(self, asynchronous: bool = False) -> dict:
        if self.connection is None or self.connection.client is None:
            raise redis.ConnectionError("this channel's broker connection is closed")
        return super()._connparams(asynchronous=asynchronous)


def install() -> None:
    """Make kombu's Redis transport open :class:`RepairedChannel` s (in the worker, before it connects)."""
    kombu_redis.Transport.Channel = RepairedChannel
