"""Redis with a password, over TLS (``rediss://``): the whole service works, and the password never
appears in clear in what it prints (``ocrq up``'s banner, the API's and the worker's logs)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from ocrq.config import Settings
from ocrq.embedded_redis import EmbeddedRedis, free_port
from ocrq.tasks import broker_ssl, celery_config
from tests.support.render import render_png

PASSWORD = "s3cret-Pa55word-do-not-log"


class PasswordRedis(EmbeddedRedis):
    def command(self) -> list[str]:
        return [*super().command(), "--requirepass", PASSWORD]

    def start(self, timeout: float = 10.0) -> PasswordRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis did not start")


class TlsProxy:
    """A TLS front for a plain Redis port (the redis-server wheel is built without TLS)."""

    def __init__(self, target_port: int, cert: Path, key: Path) -> None:
        self.port = free_port()
        self.target_port = target_port
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.handshakes = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(raw,), daemon=True).start()

    def _handle(self, raw: socket.socket) -> None:
        try:
            client = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        self.handshakes += 1
        upstream = socket.create_connection(("127.0.0.1", self.target_port))

        def pump(src, dst):
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.close()
                    except OSError:
                        pass

        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        pump(upstream, client)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def tls_redis(tmp_path):
    openssl = shutil.which("openssl")
    assert openssl, "the openssl command is needed to make the test certificate"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = PasswordRedis(tmp_path / "redis").start()
    proxy = TlsProxy(server.port, cert, key)
    yield f"rediss://:{PASSWORD}@127.0.0.1:{proxy.port}/0?ssl_ca_certs={cert}", proxy
    proxy.close()
    server.stop()


def test_rediss_url_configures_tls_for_the_broker():
    config = celery_config(Settings(redis_url="rediss://:pw@example.org:6380/0"))
    assert config["broker_use_ssl"] == {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    assert celery_config(Settings(redis_url="redis://127.0.0.1:6379/0"))["broker_use_ssl"] is None
    assert broker_ssl("rediss://h/0?ssl_cert_reqs=none&ssl_ca_certs=/ca.pem") == {
        "ssl_cert_reqs": ssl.CERT_NONE,
        "ssl_ca_certs": "/ca.pem",
    }


def test_service_runs_on_rediss_with_a_password_and_never_prints_it(tls_redis, tmp_path):
    url, proxy = tls_redis
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": url,
        "OCRQ_WORKER_CONCURRENCY": "1",
        "OCRQ_ORT_THREADS": "1",
        "OCRQ_API_WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
        "OCRQ_DATA_DIR": str(tmp_path / "state"),
    }
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as log:
        up = subprocess.Popen(
            [str(Path(sys.executable).with_name("ocrq")), "up", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while "ocrq is up" not in log_path.read_text(errors="replace"):
            assert up.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
        for _ in range(150):
            if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                break
            time.sleep(0.2)
        posted = requests.post(
            f"{base}/v1/jobs", files={"image": ("t.png", render_png(["TLS 加密"], size=32))}, timeout=30
        )
        assert posted.status_code == 202, posted.text
        doc = requests.get(base + posted.headers["Location"] + "?wait=30", timeout=60).json()
        assert doc["status"] == "succeeded" and doc["result"]["text"].replace(" ", "") == "TLS加密"
        # Unreachable Redis errors are logged too: make the API log one.
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    finally:
        os.killpg(up.pid, signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
    output = log_path.read_text(errors="replace")
    assert proxy.handshakes >= 2  # the API and the worker both came through TLS
    assert "ocrq is up" in output and ":***@127.0.0.1" in output  # the banner names Redis, redacted
    assert PASSWORD not in output
    assert "Connected to rediss://" in output  # the worker's broker connection is TLS
    logged = [json.loads(line) for line in output.splitlines() if not line.startswith("ocrq")]  # up's own
    loggers = {e["logger"] for e in logged}
    assert {"gunicorn.error", "gunicorn.access", "celery.worker.consumer.connection"} <= loggers
