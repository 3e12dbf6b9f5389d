"""Fair sharing between API keys against the real stack (README, Fair sharing): a key's backlog does not
delay another key's job by more than W = the cap on tasks in flight per key (by default the live worker
processes: 2 here) further task starts, for 200 jobs as for a 100-page document; a held job can be
canceled; held jobs are released after a worker process is killed mid-task. The per-key limits answer
429 with the limit's code and Retry-After."""

from __future__ import annotations

import io
import json

import pytest
import redis

from ocrq.api import create_app
from ocrq.store.keys import pages_key
from tests.support.documents import text_pdf
from tests.support.render import render_png
from tests.support.stack import WorkerProcess, wait_for

ALPHA, BETA = "alpha-fair-7Hq2kP9x", "beta-fair-Vn3sR8tY"
PROCESSES = 2
W = PROCESSES  # the bound: OCRQ_KEY_IN_FLIGHT's default is the live OCR processes


@pytest.fixture(scope="module")
def stack(redis_server, settings, tmp_path_factory):
    """A database of its own with a worker of 2 processes, and an app with two API keys on it."""
    url = redis_server.url.rsplit("/", 1)[0] + "/12"
    redis.Redis.from_url(url).flushdb()
    worker = WorkerProcess(url, tmp_path_factory.mktemp("fair") / "worker.log", concurrency=PROCESSES).start()
    app = create_app(settings.model_copy(update={"redis_url": url, "api_keys": f"{ALPHA},{BETA}"}))
    client = app.test_client()
    warm = [submit(client, BETA, render_png(["Warm"], size=20), fault="sleep:0.5")["job_id"]
            for _ in range(PROCESSES)]  # each process's first run is slow: not inside a measurement
    assert all(read(client, BETA, job_id, wait=60)["status"] == "succeeded" for job_id in warm)
    yield app, worker
    worker.stop()
    redis.Redis.from_url(url).flushdb()


@pytest.fixture
def settled(stack):
    """The stack, once every task of the tests before has returned (a canceled running job still runs
    to its end and holds its slot until then)."""
    app, worker = stack
    shares = app.extensions["ocrq.queue"].dispatcher.shares
    wait_for(lambda: not shares.owners(), timeout=30)
    return app, worker


def submit(client, key: str, data: bytes, name: str = "a.png", **fields) -> dict:
    response = client.post("/v1/jobs", data={"image": (io.BytesIO(data), name), "enhance": "off", **fields},
                           content_type="multipart/form-data", headers={"X-API-Key": key})
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()


def read(client, key: str, job_id: str, wait: int = 0) -> dict:
    return client.get(f"/v1/jobs/{job_id}?wait={wait}", headers={"X-API-Key": key}).get_json()


def cancel_all(client, key: str, job_ids: list[str]) -> None:
    for job_id in job_ids:
        assert client.delete(f"/v1/jobs/{job_id}", headers={"X-API-Key": key}).status_code == 200


def test_a_keys_200_jobs_let_another_keys_job_start_within_w_of_theirs(settled):
    app, _ = settled
    client, queue = app.test_client(), app.extensions["ocrq.queue"]
    image = render_png(["Alpha 7"], size=20)
    alpha = [submit(client, ALPHA, image, fault="sleep:0.1")["job_id"] for _ in range(200)]
    held = len(queue.dispatcher.shares.held(queue.store.get(alpha[0]).owner))  # owner: the key's digest
    beta = submit(client, BETA, render_png(["Beta 42"], size=20))["job_id"]
    done = read(client, BETA, beta, wait=30)
    assert done["status"] == "succeeded" and done["result"]["text"].replace(" ", "") == "Beta42"
    jobs = [read(client, ALPHA, job_id) for job_id in alpha]
    cancel_all(client, ALPHA, [j["job_id"] for j in jobs if j["status"] in ("queued", "running")])
    started = [j["started_at"] for j in jobs if j["started_at"]]
    further = [s for s in started if done["created_at"] < s < done["started_at"]]
    behind = sum(j["started_at"] is None or j["started_at"] > done["started_at"] for j in jobs)
    print(f"alpha held when beta came: {held}; alpha jobs started between beta's submission and start: "
          f"{len(further)} (W = {W}); alpha jobs after beta: {behind}")
    assert held >= 100  # the backlog was real: without fair sharing beta would start after all of it
    assert len(further) <= W
    assert behind >= 100


def test_a_keys_100_page_document_lets_another_keys_job_start_within_w_of_its_pages(settled):
    app, _ = settled
    client, queue = app.test_client(), app.extensions["ocrq.queue"]
    pdf = text_pdf([f"Page {n}" for n in range(1, 101)], size=20)
    document = submit(client, ALPHA, pdf, "hundred.pdf", fault="sleep:0.1")["job_id"]
    owner = queue.store.get(document).owner
    shares = queue.dispatcher.shares
    wait_for(lambda: len(shares.held(owner)) >= 90, timeout=30)  # split: its pages are held but 2
    recorded = lambda: sum(name.startswith(b"result:") for name in queue.redis.hkeys(pages_key(document)))  # noqa: E731
    wait_for(lambda: recorded() >= 4, timeout=30)
    flight = shares.in_flight(owner)
    assert len(flight) == PROCESSES and all(":p" in task for task in flight)  # one key alone: all busy
    beta = submit(client, BETA, render_png(["Beta 43"], size=20))["job_id"]
    done = read(client, BETA, beta, wait=30)
    assert done["status"] == "succeeded"
    pages = [json.loads(raw) for name, raw in queue.redis.hgetall(pages_key(document)).items()
             if name.startswith(b"result:")]
    cancel_all(client, ALPHA, [document])
    further = [p for p in pages if done["created_at"] < p["started_at"] < done["started_at"]]
    print(f"pages recorded by beta's end: {len(pages)}; started between beta's submission and start: "
          f"{len(further)} (W = {W})")
    assert 4 <= len(pages) < 60  # most of the document was still to come when beta ran
    assert len(further) <= W
    assert len({p["worker"]["pid"] for p in pages}) == PROCESSES  # its pages ran on every process


def test_a_held_job_can_be_canceled_and_frees_nothing(settled):
    app, _ = settled
    client, queue = app.test_client(), app.extensions["ocrq.queue"]
    slow = [submit(client, ALPHA, render_png(["Slow"], size=20), fault="sleep:1.5")["job_id"]
            for _ in range(PROCESSES)]
    held = [submit(client, ALPHA, render_png([f"Held {n}"], size=20))["job_id"] for n in range(2)]
    owner = queue.store.get(held[0]).owner
    shares = queue.dispatcher.shares
    assert shares.held(owner) == held and shares.in_flight(owner) == set(slow)
    removed = client.delete(f"/v1/jobs/{held[0]}", headers={"X-API-Key": ALPHA}).get_json()
    assert removed["status"] == "canceled"
    assert shares.held(owner) == held[1:] and shares.in_flight(owner) == set(slow)  # nothing released
    assert read(client, ALPHA, held[0])["status"] == "canceled"
    last = read(client, ALPHA, held[1], wait=30)
    assert last["status"] == "succeeded" and last["result"]["text"] == "Held 1"
    assert all(read(client, ALPHA, job_id, wait=30)["status"] == "succeeded" for job_id in slow)
    canceled = read(client, ALPHA, held[0])
    assert canceled["status"] == "canceled" and canceled["started_at"] is None and canceled["attempts"] == 0


def test_held_jobs_are_released_after_a_worker_process_is_killed_mid_task(settled):
    app, worker = settled
    client, queue = app.test_client(), app.extensions["ocrq.queue"]
    jobs = [submit(client, BETA, render_png([f"Kill {n + 2}"], size=20), fault="sleep:1")["job_id"]
            for n in range(6)]
    owner = queue.store.get(jobs[0]).owner
    wait_for(lambda: all(read(client, BETA, j)["status"] == "running" for j in jobs[:PROCESSES]), timeout=20)
    assert len(queue.dispatcher.shares.held(owner)) >= 3
    worker.kill_child()  # mid-task: Celery hands its job back, the slot stays taken until it returns
    documents = [read(client, BETA, job_id, wait=60) for job_id in jobs]
    assert [d["status"] for d in documents] == ["succeeded"] * 6, documents
    assert [d["result"]["text"] for d in documents] == [f"Kill {n + 2}" for n in range(6)]
    assert max(d["attempts"] for d in documents) == 2  # the killed one ran again
    wait_for(lambda: not queue.dispatcher.shares.in_flight(owner), timeout=10)
    assert queue.dispatcher.shares.held(owner) == []
    wait_for(lambda: len(worker.children()) == PROCESSES, timeout=30)


@pytest.fixture
def limited(redis_server, settings):
    """Apps on a database where no worker runs, with per-key limits: 2 waiting, 3 a minute, 4 in all."""
    url = redis_server.url.rsplit("/", 1)[0] + "/13"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield lambda **limits: create_app(settings.model_copy(update={
        "redis_url": url, "api_keys": f"{ALPHA},{BETA}", **limits})).test_client()
    client.flushdb()


def refused(response, code: str) -> int:
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code
    return int(response.headers["Retry-After"])


def post(client, key: str, **fields):
    return client.post("/v1/jobs", data={"image": (io.BytesIO(render_png(["Limit"], size=20)), "a.png"),
                                         **fields}, content_type="multipart/form-data",
                       headers={"X-API-Key": key})


def test_per_key_limits_answer_429_naming_the_limit(limited):
    client = limited(key_max_queued=2, key_jobs_per_minute=3)
    assert [post(client, ALPHA).status_code for _ in range(2)] == [202, 202]
    assert refused(post(client, ALPHA), "key_queue_full") == 5
    assert post(client, BETA).status_code == 202  # another key is not refused by alpha's backlog
    for _ in range(2):  # a canceled job no longer waits, but still counts in this minute
        job_id = post(client, BETA).get_json()["job_id"]
        assert client.delete(f"/v1/jobs/{job_id}", headers={"X-API-Key": BETA}).status_code == 200
    retry = refused(post(client, BETA), "key_rate_limited")  # 1 waiting of 2, but 3 this minute
    assert 1 <= retry <= 60
    body = post(client, BETA).get_json()["error"]["message"]
    assert "OCRQ_KEY_JOBS_PER_MINUTE" in body


def test_the_server_bound_does_not_refuse_another_keys_first_job(limited):
    client = limited(max_queue_depth=1)
    assert post(client, ALPHA).status_code == 202
    assert refused(post(client, ALPHA), "queue_full") == 5
    assert post(client, BETA).status_code == 202  # its first job, though the server is full
    assert refused(post(client, BETA), "queue_full") == 5


def test_a_batch_is_checked_once_for_all_its_files(limited):
    client = limited(key_max_queued=2)
    files = [(io.BytesIO(render_png([f"B{n}"], size=20)), f"{n}.png") for n in range(3)]
    response = client.post("/v1/batches", data={"images": files}, content_type="multipart/form-data",
                           headers={"X-API-Key": ALPHA})
    assert refused(response, "key_queue_full") == 5
    assert client.application.extensions["ocrq.queue"].depth() == 0  # refused whole: nothing stored
    files = [(io.BytesIO(render_png([f"B{n}"], size=20)), f"{n}.png") for n in range(2)]
    accepted = client.post("/v1/batches", data={"images": files}, content_type="multipart/form-data",
                           headers={"X-API-Key": ALPHA})
    assert accepted.status_code == 202 and accepted.get_json()["total"] == 2
    assert refused(post(client, ALPHA), "key_queue_full") == 5


def test_with_a_cap_above_the_processes_the_bound_is_the_cap(redis_server, settings, tmp_path):
    """OCRQ_KEY_IN_FLIGHT=4 with 2 processes: 2 of A's tasks run and 2 wait in the broker, ahead of B's
    job, which therefore starts after some, and at most W = 4, further A starts."""
    url = redis_server.url.rsplit("/", 1)[0] + "/14"
    redis.Redis.from_url(url).flushdb()
    worker = WorkerProcess(url, tmp_path / "worker.log", concurrency=PROCESSES,
                           OCRQ_KEY_IN_FLIGHT="4").start()
    try:
        app = create_app(settings.model_copy(update={"redis_url": url, "api_keys": f"{ALPHA},{BETA}",
                                                      "key_in_flight": 4}))
        client, queue = app.test_client(), app.extensions["ocrq.queue"]
        warm = [submit(client, BETA, render_png(["Warm"], size=20))["job_id"] for _ in range(PROCESSES)]
        assert all(read(client, BETA, job_id, wait=60)["status"] == "succeeded" for job_id in warm)
        alpha = [submit(client, ALPHA, render_png(["Alpha 8"], size=20), fault="sleep:0.3")["job_id"]
                 for _ in range(40)]
        owner = queue.store.get(alpha[0]).owner
        wait_for(lambda: sum(read(client, ALPHA, j)["status"] == "running" for j in alpha) == PROCESSES)
        assert len(queue.dispatcher.shares.in_flight(owner)) == 4 and queue.depths()["ocr"] >= 1
        done = read(client, BETA, submit(client, BETA, render_png(["Beta 44"], size=20))["job_id"], wait=30)
        assert done["status"] == "succeeded"
        jobs = [read(client, ALPHA, job_id) for job_id in alpha]
        cancel_all(client, ALPHA, [j["job_id"] for j in jobs if j["status"] in ("queued", "running")])
        started = [j["started_at"] for j in jobs if j["started_at"]]
        further = [s for s in started if done["created_at"] < s < done["started_at"]]
        print(f"cap 4, 2 processes: alpha jobs started between beta's submission and start: {len(further)}")
        assert 1 <= len(further) <= 4
    finally:
        worker.stop()
        redis.Redis.from_url(url).flushdb()
