"""How ``ocrq`` commands end when something stops them: one line on stderr and a documented exit code,
never a traceback (a server that is down, an API key missing or wrong, a bad setting, a closed pipe)."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from importlib.metadata import version

import pytest
from werkzeug.serving import make_server

from ocrq.embedded_redis import free_port
from tests.support.cli import OCRQ, ocrq
from tests.support.render import render_png

KEY = "k-cli-9fT2"


@pytest.fixture(scope="module")
def keyed_server(settings, worker):
    """The real app with OCRQ_API_KEYS on, served over HTTP."""
    from ocrq.api import create_app

    server = make_server("127.0.0.1", 0, create_app(settings.model_copy(update={"api_keys": KEY})),
                         threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "key.png"
    path.write_bytes(render_png(["钥匙 Key"], size=32))
    return path


def one_line(result: subprocess.CompletedProcess) -> str:
    """stderr, which must be a single ``ocrq: ...`` line."""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ocrq: "), result.stderr
    return lines[0]


def test_a_server_that_is_down_is_one_line_and_exit_3_within_seconds(tmp_path, image):
    url = f"http://127.0.0.1:{free_port()}"  # closed: nothing listens
    for images in ([str(image)], [str(image), str(image.parent)]):
        started = time.monotonic()
        down = ocrq("submit", *images, "--server", url, "--wait", timeout=30)
        assert time.monotonic() - started < 8  # not 31 s of retries
        assert down.returncode == 3 and down.stdout == ""
        line = one_line(down)
        assert url in line and "connection refused" in line and "make run" in line and "ocrq up" in line
    status = ocrq("status", "00000000-0000-4000-8000-000000000000", "--server", url, timeout=30)
    assert status.returncode == 3 and url in one_line(status)


def test_no_key_and_a_wrong_key_are_told_apart_and_exit_4(keyed_server, image):
    missing = ocrq("submit", str(image), "--server", keyed_server, "--wait", OCRQ_API_KEY="")
    assert missing.returncode == 4
    assert "needs an API key: pass --api-key or set OCRQ_API_KEY" in one_line(missing)
    wrong = ocrq("submit", str(image), "--server", keyed_server, "--wait", "--api-key", "k-wrong")
    assert wrong.returncode == 4
    assert "refused the API key given" in one_line(wrong)
    status = ocrq("status", "00000000-0000-4000-8000-000000000000", "--server", keyed_server,
                  OCRQ_API_KEY="k-wrong")
    assert status.returncode == 4 and "refused the API key given" in one_line(status)
    right = ocrq("submit", str(image), "--server", keyed_server, "--wait", OCRQ_API_KEY=KEY)
    assert right.returncode == 0, right.stderr


def test_a_bad_setting_is_one_line_naming_the_variable_and_exit_5(tmp_path, image):
    bad = ocrq("ocr", str(image), OCRQ_LOG_FORMAT="yaml", timeout=60)
    assert bad.returncode == 5
    assert one_line(bad) == "ocrq: OCRQ_LOG_FORMAT='yaml': expected one of json, text"
    server = ocrq("submit", str(image), OCRQ_SERVER="localhost:5000")
    assert server.returncode == 5 and one_line(server).startswith("ocrq: OCRQ_SERVER='localhost:5000': ")


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    missing = ocrq("submit", str(tmp_path / "nowhere.png"))
    assert missing.returncode == 2 and "nowhere.png: no such file or folder" in one_line(missing)
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "notes.txt").write_text("no images here")
    nothing = ocrq("submit", str(empty))
    assert nothing.returncode == 2 and f"{empty}: no images or documents" in one_line(nothing)
    (empty / "sub" / "a.png").write_bytes(b"x")
    unfetched = ocrq("submit", str(empty), "--out", str(tmp_path / "out"))
    assert unfetched.returncode == 2
    assert "--out writes results, which only --wait fetches" in one_line(unfetched)
    usage = ocrq("submit", str(empty), "--concurrency", "0")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr and "--concurrency" in usage.stderr


def test_a_reader_that_closes_early_stops_it_quietly(live_server, tmp_path):
    for i in range(3):
        (tmp_path / f"p{i}.png").write_bytes(render_png([f"管道{i} Pipe {i}"], size=32))
    with subprocess.Popen([OCRQ, "submit", str(tmp_path), "--server", live_server, "--wait",
                           "--concurrency", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()  # `| head -1`: one line, then the pipe is closed
        process.stdout.close()
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=60) == 141
    assert first.startswith(b'{"file":') and "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_ctrl_c_while_jobs_run_is_one_line_and_exit_130(live_server, tmp_path):
    for i in range(5):
        (tmp_path / f"c{i}.png").write_bytes(render_png([f"中断{i} Stop {i}"], size=32))
    with subprocess.Popen([OCRQ, "submit", str(tmp_path), "--server", live_server, "--wait", "--no-progress",
                           "--concurrency", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline().startswith(b'{"file":')  # one job done, the next one running
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        stderr = process.stderr.read().decode()
    assert stderr == "ocrq: interrupted (jobs already submitted go on on the server)\n"


def test_version_and_the_exit_codes_in_the_help():
    shown = ocrq("--version")
    assert shown.returncode == 0 and shown.stdout.strip() == f"ocrq {version('ocrq')}"
    for command in ([], ["submit"], ["status"]):
        helped = ocrq(*command, "--help")
        assert helped.returncode == 0 and "exit codes:" in helped.stdout and "141" in helped.stdout
