"""The repaired Redis channel (ocrq/store/transport.py) on a real Redis: once its connection has let go,
a channel holding an unacknowledged message raises a connection error (which Celery waits out) when it is
closed or the message is acknowledged, and the message stays in kombu's unacked hash."""

from __future__ import annotations

import pytest
import redis
from kombu import Connection, Exchange, Producer, Queue
from kombu.transport import redis as kombu_redis

from ocrq.store import transport

QUEUE = "ocrq-test-restore"
# the pools a lost connection drops are left to the garbage collector, their sockets unclosed, as kombu does
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def url(redis_server, scratch_redis):
    return redis_server.url.rsplit("/", 1)[0] + "/15"  # scratch_redis's database, emptied around the test


@pytest.fixture
def channel_class():
    """Sets the transport's channel class for a test, and puts kombu's back after."""
    original = kombu_redis.Transport.Channel

    def use(cls: type) -> None:
        kombu_redis.Transport.Channel = cls

    yield use
    kombu_redis.Transport.Channel = original


def after_connection_let_go(url: str, action: str) -> Exception:
    """Receive one message unacknowledged, drop the channel's pools and its transport's client as a lost
    connection leaves them, then close the channel or acknowledge the message: what that raised."""
    with Connection(url) as connection:
        channel = connection.channel()
        queue = Queue(QUEUE, Exchange(QUEUE), routing_key=QUEUE)
        Producer(channel).publish({"n": 1}, exchange=queue.exchange, routing_key=QUEUE, declare=[queue])
        message = channel.basic_get(QUEUE, no_ack=False)
        with redis.Redis.from_url(url) as client:
            assert message is not None and client.hlen("unacked") == 1
        channel._disconnect_pools()
        connection.transport.client = None
        with pytest.raises(Exception) as raised:
            channel.close() if action == "close" else message.ack()
        return raised.value


@pytest.mark.parametrize("action", ["close", "ack"])
def test_kombu_alone_fails_with_an_error_celery_does_not_wait_out(url, channel_class, action):
    channel_class(kombu_redis.Channel)
    error = after_connection_let_go(url, action)
    assert isinstance(error, AttributeError) and "hostname" in str(error)  # the fault the repair is for


@pytest.mark.parametrize("action", ["close", "ack"])
def test_repaired_channel_raises_a_connection_error_and_keeps_the_message(url, scratch_redis, channel_class,
                                                                         action):
    channel_class(transport.RepairedChannel)
    error = after_connection_let_go(url, action)
    assert isinstance(error, redis.ConnectionError)
    with Connection(url) as connection:
        assert isinstance(error, connection.connection_errors)  # what Celery reconnects after
    assert scratch_redis.hlen("unacked") == 1  # still held, for the reconciler or the visibility timeout
    assert scratch_redis.llen(QUEUE) == 0


def test_install_makes_the_redis_transport_open_repaired_channels(url, channel_class):
    channel_class(kombu_redis.Channel)
    transport.install()
    with Connection(url) as connection:
        assert type(connection.channel()) is transport.RepairedChannel
