"""Scenario 9: `ocrq up` supervises what it starts, and nothing it started outlives it.

Processes are found on the process table by the data folder in their environment (OCRQ_DATA_DIR is
this test's own), so a child that escaped `ocrq up`'s process tree is still found.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from ocrq.embedded_redis import free_port
from tests.reliability.harness import tiny_png

pytestmark = pytest.mark.reliability


def processes_with(marker: str, redis_port: int | None = None) -> dict[int, str]:
    """pid -> command line of every live process whose environment holds ``marker``, and of the Redis
    server on ``redis_port`` (redis-server writes its title over its environment)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            redis = redis_port is not None and "redis-server" in command and f":{redis_port}" in command
            if not redis and marker.encode() not in (entry / "environ").read_bytes():
                continue
            if (entry / "stat").read_text().split(") ")[-1].startswith("Z"):
                continue
            found[int(entry.name)] = command
        except OSError:
            continue
    return found


def redis_port_of(banner: str) -> int:
    """The embedded Redis's port, from `ocrq up`'s banner (`embedded at redis://127.0.0.1:PORT/0`)."""
    return int(banner.split("redis://127.0.0.1:", 1)[1].split("/", 1)[0])


def start_up(tmp_path: Path, port: int) -> tuple[subprocess.Popen, str]:
    data_dir = str(tmp_path / "state")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({"OCRQ_DATA_DIR": data_dir, "OCRQ_WORKER_CONCURRENCY": "1", "OCRQ_ORT_THREADS": "1",
                "OCRQ_API_WORKERS": "1", "PYTHONUNBUFFERED": "1"})
    up = subprocess.Popen([str(Path(sys.executable).with_name("ocrq")), "up", "--port", str(port)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return up, f"OCRQ_DATA_DIR={data_dir}"


class Output:
    """Every line `ocrq up` and its children print (one pipe), read by a thread so no writer blocks."""

    def __init__(self, up: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._up = up
        self._thread = threading.Thread(target=self._read, args=(up,), daemon=True)
        self._thread.start()

    def _read(self, up: subprocess.Popen) -> None:
        for line in up.stdout:
            self.lines.append(line)

    def close(self) -> None:
        self._thread.join(10)  # the pipe ends when the last process holding it has gone
        self._up.stdout.close()

    def wait_for(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if text in line:
                    return line
            time.sleep(0.1)
        raise AssertionError(f"no line with {text!r} in:\n" + "".join(self.lines[-40:]))


def wait_gone(marker: str, timeout: float, redis_port: int | None = None) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while (left := processes_with(marker, redis_port)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def ready(base: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.3)
    return False


def test_a_killed_embedded_redis_is_restarted_and_jobs_run_again(tmp_path):
    port = free_port()
    up, marker = start_up(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        output = Output(up)
        redis_port = redis_port_of(output.wait_for("ocrq is up"))
        assert ready(base)
        redis_pids = [pid for pid, cmd in processes_with(marker, redis_port).items() if "redis-server" in cmd]
        assert len(redis_pids) == 1
        os.kill(redis_pids[0], signal.SIGKILL)
        assert "restarting" in output.wait_for("embedded Redis exited", timeout=30)
        assert ready(base), "the API did not become ready again after the restart"
        posted = requests.post(f"{base}/v1/jobs", files={"image": ("a.png", tiny_png("Again"))}, timeout=10)
        assert posted.status_code == 202, posted.text
        doc = requests.get(f"{base}/v1/jobs/{posted.json()['job_id']}?wait=60", timeout=70).json()
        assert doc["status"] == "succeeded", doc
        assert up.poll() is None
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(120)
        output.close()
    assert not wait_gone(marker, 30, redis_port)


def test_a_taken_port_is_one_line_naming_the_setting_and_leaves_nothing(tmp_path):
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        up, marker = start_up(tmp_path, port)
        output, _ = up.communicate(timeout=60)
    assert up.returncode == 1
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and "OCRQ_PORT" in lines[0] and str(port) in lines[0], output
    assert not wait_gone(marker, 10)


def test_sigkill_of_ocrq_up_leaves_no_process_of_it(tmp_path):
    port = free_port()
    up, marker = start_up(tmp_path, port)
    try:
        output = Output(up)
        redis_port = redis_port_of(output.wait_for("ocrq is up"))
        started = processes_with(marker, redis_port)
        # its own, the API (gunicorn and its worker), Celery (main and pool), the embedded Redis
        for part in ("ocrq up", "gunicorn", "celery", "redis-server"):
            assert any(part in cmd for cmd in started.values()), (part, started)
        assert len(started) >= 5, started
    finally:
        up.kill()
        up.wait()
        output.close()
    left = wait_gone(marker, 60, redis_port)
    assert not left, left
