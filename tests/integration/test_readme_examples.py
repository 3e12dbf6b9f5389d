"""The README's integration sections (Use it, Documents and batches, Webhooks..., Listing...) run as
written: every shell example against a real gunicorn API and worker configured as the README says, every
Python example as a script, and the webhook receiver as a Flask app that the worker's signed deliveries
reach. Only the server's address, the receiver's port and the ids the README abbreviates (``2f0c…``) are
replaced; an answer must have every field the README shows (and the status, once waited for)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import requests

from ocrq.embedded_redis import free_port
from tests.reliability.harness import ApiServer
from tests.support.documents import text_pdf
from tests.support.render import encode, render_lines, render_png
from tests.support.stack import ROOT, WorkerProcess, answer_text, wait_for

README = (ROOT / "README.md").read_text()
SECTIONS = README[README.index("\n## Use it"):README.index("\n### Endpoints")]
SECRET = "change-me"
# Blocks that are not requests to the API: how operators start processes. Each is named here, so a new
# example cannot go unrun by accident.
NOT_REQUESTS = ("OCRQ_WORKER_QUEUES=ocr ocrq worker",)
PLACEHOLDER = re.compile(r"\b([0-9a-f]{4})…")
KEYS = re.compile(r'"([A-Za-z_]+)":')


def blocks() -> list[tuple[str, str]]:
    return re.findall(r"```(\w*)\n(.*?)```", SECTIONS, re.S)


@pytest.fixture(scope="module")
def stack(redis_server, tmp_path_factory):
    """The server the webhook examples ask for (README: OCRQ_WEBHOOK_SECRET, OCRQ_WEBHOOK_ALLOWED_HOSTS),
    on a database of its own, with the example's receiver (``hook.py``) on a free port."""
    base = tmp_path_factory.mktemp("readme")
    url = redis_server.url.rsplit("/", 1)[0] + "/14"
    redis.Redis.from_url(url).flushdb()
    started = [line for lang, body in blocks() if not lang for line in body.splitlines()
               if line.endswith("make run") and "SECRET" in line]
    assert started, "the README says how to start a server that sends webhooks"
    env = dict(pair.split("=", 1) for pair in started[0].split()[:-2])
    assert env == {"OCRQ_WEBHOOK_SECRET": SECRET, "OCRQ_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
    worker = WorkerProcess(url, base / "worker.log", **env).start()
    api = ApiServer(url, base / "api.log", OCRQ_API_WORKERS="1", **env).start()
    files = base / "files"
    files.mkdir()
    (files / "invoice.jpg").write_bytes(encode(render_lines(["增值税专用发票", "Invoice No. 0042"], size=36),
                                               "JPEG", quality=90))
    (files / "contract.pdf").write_bytes(text_pdf(["Contract page one 合同", "Page two signed"]))
    (files / "a.jpg").write_bytes(encode(render_lines(["Item A 甲"], size=36), "JPEG", quality=90))
    (files / "b.png").write_bytes(render_png(["Item B 乙"], size=36))
    (files / "scan.pdf").write_bytes(text_pdf(["Scanned page"]))
    (files / "notes.txt").write_text("not an image\n")
    for folder, text in (("scans/2026", "Scan one 扫描"), ("scans/2026/later", "Scan two"), ("scans", "Top")):
        (files / folder).mkdir(parents=True, exist_ok=True)
        (files / folder / "page.png").write_bytes(render_png([text], size=32))
    receiver_code = [body for lang, body in blocks() if lang == "python" and "def ocrq_webhook" in body]
    assert len(receiver_code) == 1
    (files / "hook.py").write_text(receiver_code[0])
    hook_port = free_port()
    hook_log = (base / "hook.log").open("wb")
    hook = subprocess.Popen([str(Path(sys.executable).with_name("flask")), "--app", "hook", "run",
                             "--port", str(hook_port)], cwd=files, stdout=hook_log, stderr=subprocess.STDOUT,
                            env={"PATH": str(Path(sys.executable).parent), "PYTHONUNBUFFERED": "1"})
    wait_for(lambda: answer_text(f"http://127.0.0.1:{hook_port}/") is not None, timeout=30)
    yield {"api": api.url, "files": files, "hook_port": hook_port, "hook_log": base / "hook.log"}
    hook.terminate()
    hook.wait(10)
    hook_log.close()
    api.stop()
    worker.stop()


def commands(body: str) -> list[tuple[str, str]]:
    """A shell example's ``$ command`` lines (continuations joined) and the output shown after each."""
    steps: list[tuple[str, list[str]]] = []
    lines = iter(body.splitlines())
    for line in lines:
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + " " + next(lines).strip()
            steps.append((command, []))
        elif steps:
            steps[-1][1].append(line)
    return [(command, "\n".join(output)) for command, output in steps if not command.startswith("#")]


def localised(text: str, stack: dict, ids: dict[str, str]) -> str:
    text = text.replace("http://127.0.0.1:5000", stack["api"])
    text = text.replace("127.0.0.1:8000", f"127.0.0.1:{stack['hook_port']}")
    return PLACEHOLDER.sub(lambda m: ids.get(m.group(1), m.group(0)), text)


def test_every_integration_example_runs_as_written(stack):
    ids: dict[str, str] = {}  # the README's abbreviated ids -> the ids this run got
    ran = 0
    for lang, body in blocks():
        if lang == "python":
            if "def ocrq_webhook" in body:
                continue  # the receiver: running since the fixture
            script = localised(body, stack, ids)
            done = subprocess.run([sys.executable, "-c", script], cwd=stack["files"], capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == 0, f"{body}\n{done.stderr[-3000:]}"
            ran += 1
            continue
        lines = [line for line in body.splitlines() if line.strip()]
        if lines and all(line.startswith("ocrq ") for line in lines):  # the command line's examples
            for line in lines:
                run_cli(localised(line, stack, ids), stack)
                ran += 1
            continue
        steps = commands(body)
        if not steps:
            assert body.startswith(NOT_REQUESTS) or body.rstrip().endswith("make run") or \
                "ocrq up --flower" in body or "flower" in body, f"an example this test does not run:\n{body}"
            continue
        for command, shown in steps:
            done = subprocess.run(["bash", "-o", "pipefail", "-c", localised(command, stack, ids)],
                                  cwd=stack["files"], capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, f"$ {command}\n{done.stdout}\n{done.stderr}"
            check_output(command, shown, done.stdout, ids)
            ran += 1
    assert ran >= 14, ran
    # the deliveries of the webhook examples reached the receiver, and it verified their signatures
    hook_log = stack["hook_log"]
    wait_for(lambda: "invoice-0042" in hook_log.read_text(), timeout=60)
    assert re.search(r"[0-9a-f-]{36} succeeded invoice-0042", hook_log.read_text())
    assert " 401 " not in hook_log.read_text()


def run_cli(line: str, stack: dict) -> None:
    """An ``ocrq`` example, as a shell runs it, against the test's server (``OCRQ_SERVER``)."""
    env = {**os.environ, "OCRQ_SERVER": stack["api"],
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-c", line], cwd=stack["files"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    if ">" not in line.split("#")[0] and "--out" not in line:
        assert done.stdout.strip(), line  # it printed its results (or job ids)


def check_output(command: str, shown: str, actual: str, ids: dict[str, str]) -> None:
    """``actual`` has every field ``shown`` has (and its status, when the command waited); the ids it
    names are remembered for the commands that follow."""
    for kind in ("job_id", "batch_id"):
        placeholder = re.search(rf'"{kind}": "([0-9a-f]{{4}})…"', shown)
        real = re.search(rf'"{kind}": ?"([0-9a-f-]{{36}})"', actual)
        if placeholder and real and placeholder.group(1) not in ids:
            ids[placeholder.group(1)] = real.group(1)
    missing = set(KEYS.findall(shown)) - set(KEYS.findall(actual))
    assert not missing, f"$ {command}\nshown: {shown}\nactual: {actual[:2000]}\nmissing: {missing}"
    for line in shown.splitlines():  # header lines a `grep` picks out
        if re.match(r"^[A-Z][A-Za-z-]+: ", line):
            assert line.lower() in actual.lower().splitlines(), f"$ {command}\n{line!r} not in {actual!r}"
    status = re.search(r'"status": "(\w+)"', shown)
    if status and "wait=" in command:
        first = json.loads(actual)
        assert first["status"] == status.group(1), f"$ {command}\n{actual[:2000]}"


def test_the_listing_example_pages_with_its_next_link(stack):
    """`next` as the README shows it is a path on the same server, with the filters kept."""
    for _ in range(3):
        posted = requests.post(f"{stack['api']}/v1/jobs", timeout=30,
                               files={"image": ("a.png", (stack["files"] / "b.png").read_bytes())})
        requests.get(f"{stack['api']}{posted.headers['Location']}?wait=30", timeout=60)
    page = requests.get(f"{stack['api']}/v1/jobs?status=succeeded&limit=2", timeout=30).json()
    assert len(page["jobs"]) == 2 and page["next"].startswith("/v1/jobs?status=succeeded&limit=2&cursor=")
    following = requests.get(stack["api"] + page["next"], timeout=30).json()
    assert following["jobs"] and {j["job_id"] for j in following["jobs"]}.isdisjoint(
        {j["job_id"] for j in page["jobs"]})
