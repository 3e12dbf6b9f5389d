"""The client's one session: calls reuse a kept-alive connection (long-polls included), ``map``'s threads
share a pool of at most ``concurrency`` connections, and a server that is down is said within seconds."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from ocrq.client import Client, ServerUnreachable
from ocrq.embedded_redis import free_port
from tests.support.http import send_json, serving
from tests.support.render import render_png

DONE = {"job_id": "j1", "status": "succeeded", "result": {"text": "ok", "lines": []}}


class Counting(BaseHTTPRequestHandler):
    """An HTTP/1.1 server (keep-alive) that records, per request, the client port it came from: one TCP
    connection, one port."""

    protocol_version = "HTTP/1.1"
    ports: list[int] = []

    def do_POST(self):  # noqa: N802 - the http.server naming
        self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(202, {"job_id": "j1", "status": "queued"})

    def do_GET(self):  # noqa: N802
        time.sleep(0.05)  # a (short) long-poll: the map's threads overlap
        self._answer(200, DONE)

    def _answer(self, status: int, body: dict) -> None:
        type(self).ports.append(self.client_address[1])
        send_json(self, status, body)

    def log_message(self, *args):
        pass


@pytest.fixture
def counting():
    Counting.ports = []
    with serving(Counting) as server:
        yield f"http://127.0.0.1:{server.server_port}"


def test_every_call_of_a_client_goes_over_one_connection(counting):
    with Client(counting) as client:
        job = client.submit(b"x")
        job.wait(timeout=10)
        client.job(job.id, wait=5)
        client.ocr(b"y")
    assert len(Counting.ports) == 5  # 2 submits, 3 GETs (two of them long-polls)
    assert len(set(Counting.ports)) == 1  # a bare requests.request per call would open 5


def test_map_threads_share_a_pool_of_concurrency_connections(counting):
    with Client(counting, pool_size=3) as client:
        outcomes = list(client.map([b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h", b"i"], concurrency=3))
    assert [job.status for _, job in outcomes] == ["succeeded"] * 9
    assert len(Counting.ports) == 18 and len(set(Counting.ports)) <= 3


def test_the_real_stack_keeps_one_connection_for_submit_and_its_long_polls(live_server):
    with Client(live_server) as client:
        job = client.submit(render_png(["连接 Connection"], size=32), enhance="off").wait(timeout=60)
        assert job.status == "succeeded"
        client.job(job.id)
        pools = client.session.get_adapter(live_server).poolmanager.pools
        (pool,) = [pools[key] for key in pools.keys()]  # one host, one pool
        assert pool.num_requests >= 3 and pool.num_connections == 1  # POST, long-poll(s), GET


def test_a_server_that_is_down_is_said_within_seconds():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(ServerUnreachable) as caught:
        Client(url).submit(b"x")  # the default retry budget of 6 backoffs would be 31.5 s
    assert time.monotonic() - started < 4
    assert str(caught.value) == f"cannot connect to {url}: connection refused"
    assert isinstance(caught.value, requests.ConnectionError)  # as before: callers catching it still do
