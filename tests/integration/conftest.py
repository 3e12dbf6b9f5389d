"""Fixtures for tests against the real stack: Redis server -> worker process -> Flask app."""

from __future__ import annotations

import pytest
import redis

from api import create_app
from common.config import Settings
from common.embedded_redis import EmbeddedRedis
from tests.support.stack import WorkerProcess


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def worker(redis_server, tmp_path_factory):
    process = WorkerProcess(redis_server.url, tmp_path_factory.mktemp("worker") / "worker.log").start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def settings(redis_server) -> Settings:
    return Settings(redis_url=redis_server.url, ort_threads=1, fault_injection=True, max_attempts=3,
                    predict_timeout=30.0, long_poll_max=30.0)


@pytest.fixture(scope="session")
def app(settings):
    return create_app(settings)


@pytest.fixture
def client(app, worker):
    return app.test_client()


@pytest.fixture
def redis_client(redis_server):
    return redis.Redis.from_url(redis_server.url)
