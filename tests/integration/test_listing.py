"""``GET /v1/jobs`` and ``GET /v1/batches``: the caller's own records, newest first, page by page through a
per-owner index in Redis; filters; ``DELETE /v1/batches/<id>``. On a Redis database no worker reads, so
the jobs stay queued (a listing does not need them to run) unless a test cancels them."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import pytest

from ocrq.api import create_app
from tests.support.render import render_png

ALPHA, BETA = "list-alpha-N3k8Qz", "list-beta-Wp5Lm2"
PNG = render_png(["列表 List"], size=24)


@pytest.fixture
def api(settings, scratch_redis):
    url = settings.redis_url.rsplit("/", 1)[0] + "/15"  # scratch_redis's database: no worker there
    app = create_app(settings.model_copy(update={"redis_url": url, "api_keys": f"{ALPHA},{BETA}",
                                                 "max_queue_depth": 10_000}))
    return app.test_client()


def key(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {name}"}


def submit(api, who: str, **fields: str) -> str:
    answer = api.post("/v1/jobs", data={"image": (io.BytesIO(PNG), "a.png"), **fields}, headers=key(who),
                      content_type="multipart/form-data")
    assert answer.status_code == 202, answer.get_data(as_text=True)
    return answer.get_json()["job_id"]


def every_page(api, who: str, url: str, kind: str = "jobs") -> list[list[str]]:
    """The ids of every page, following ``next`` links as given."""
    pages = []
    while url:
        answer = api.get(url, headers=key(who))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        body = answer.get_json()
        pages.append([item["job_id" if kind == "jobs" else "batch_id"] for item in body[kind]])
        url = body["next"]
    return pages


def test_each_key_pages_through_its_own_jobs_once_each_newest_first(api):
    alpha = [submit(api, ALPHA) for _ in range(250)]
    beta = [submit(api, BETA) for _ in range(3)]
    pages = every_page(api, ALPHA, "/v1/jobs?limit=40")
    listed = [job_id for page in pages for job_id in page]
    assert listed == alpha[::-1]  # each exactly once, newest first
    assert [len(p) for p in pages] == [40] * 6 + [10]
    assert [j for p in every_page(api, BETA, "/v1/jobs") for j in p] == beta[::-1]
    first = api.get("/v1/jobs?limit=2", headers=key(BETA)).get_json()
    assert set(first["jobs"][0]) >= {"job_id", "status", "created_at", "options", "links"}
    assert "result" not in first["jobs"][0]  # a listing is summaries; read the job for its result
    assert first["jobs"][0]["links"]["self"] == f"/v1/jobs/{beta[-1]}"
    # a new job while paging does not shift the pages that follow: the cursor is a position
    late = submit(api, BETA)
    rest = api.get(first["next"], headers=key(BETA)).get_json()
    assert [j["job_id"] for j in rest["jobs"]] == [beta[0]] and rest["next"] is None
    assert api.get("/v1/jobs?limit=1", headers=key(BETA)).get_json()["jobs"][0]["job_id"] == late


def test_filters_by_status_tag_and_creation_time(api):
    early = [submit(api, ALPHA, tag="early") for _ in range(3)]
    time.sleep(0.05)
    middle = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.05)
    late = [submit(api, ALPHA, tag="late") for _ in range(4)]
    assert api.delete(f"/v1/jobs/{late[1]}", headers=key(ALPHA)).get_json()["status"] == "canceled"

    def ids(query: str) -> list[str]:
        return [j for page in every_page(api, ALPHA, f"/v1/jobs?{query}") for j in page]

    assert ids("tag=early") == early[::-1]
    assert ids("status=canceled") == [late[1]]
    assert ids("status=queued&tag=late&limit=1") == [late[3], late[2], late[0]]  # filters kept by `next`
    assert ids(f"created_after={middle}") == late[::-1]
    assert ids(f"created_before={middle}") == early[::-1]
    assert ids("status=succeeded") == []
    assert ids(f"created_after={middle}&created_before={middle}") == []


def test_a_deleted_job_leaves_the_listing(api):
    kept, gone = submit(api, ALPHA), submit(api, ALPHA)
    api.delete(f"/v1/jobs/{gone}", headers=key(ALPHA))  # canceled: still listed, as canceled
    assert api.delete(f"/v1/jobs/{gone}", headers=key(ALPHA)).get_json()["status"] == "deleted"
    assert [j for p in every_page(api, ALPHA, "/v1/jobs") for j in p] == [kept]


@pytest.mark.parametrize("query, named", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("status=done", "status"),
    ("cursor=bm90LWEtY3Vyc29y", "cursor"),
    ("created_after=yesterday", "created_after"), ("created_before=1764547200", "created_before"),
    ("sort=asc", "sort"),
])
def test_a_bad_query_is_refused_by_name(api, query, named):
    answer = api.get(f"/v1/jobs?{query}", headers=key(ALPHA))
    assert answer.status_code == 400
    body = answer.get_json()["error"]
    assert body["code"] == "invalid_option" and named in body["message"], body


def test_batches_are_listed_per_key_and_deleted_with_their_jobs(api):
    def batch(who: str, files: int) -> dict:
        answer = api.post("/v1/batches", headers=key(who), content_type="multipart/form-data",
                          data={"images": [(io.BytesIO(PNG), f"{i}.png") for i in range(files)]})
        assert answer.status_code == 202, answer.get_data(as_text=True)
        return answer.get_json()

    first, second = batch(ALPHA, 2), batch(ALPHA, 3)
    theirs = batch(BETA, 1)
    listed = api.get("/v1/batches?limit=1", headers=key(ALPHA)).get_json()
    assert [b["batch_id"] for b in listed["batches"]] == [second["batch_id"]]
    summary = listed["batches"][0]
    assert summary["status"] == "queued" and summary["total"] == 3 and "items" not in summary
    assert summary["progress"] == {"done": 0, "failed": 0, "total": 3}
    assert every_page(api, ALPHA, listed["next"], "batches") == [[first["batch_id"]]]
    assert every_page(api, BETA, "/v1/batches", "batches") == [[theirs["batch_id"]]]
    assert api.get("/v1/batches?status=succeeded", headers=key(ALPHA)).get_json()["batches"] == []

    items = api.get(f"/v1/batches/{second['batch_id']}", headers=key(ALPHA)).get_json()["items"]
    api.delete(f"/v1/jobs/{items[0]['job_id']}", headers=key(ALPHA))  # canceled: ended, so "deleted" below
    assert api.delete(f"/v1/batches/{second['batch_id']}", headers=key(BETA)).status_code == 404
    removed = api.delete(f"/v1/batches/{second['batch_id']}", headers=key(ALPHA))
    assert removed.status_code == 200, removed.get_data(as_text=True)
    assert removed.get_json() == {"batch_id": second["batch_id"], "status": "deleted", "canceled": 2,
                                  "deleted": 1}
    for item in items:
        assert api.get(f"/v1/jobs/{item['job_id']}", headers=key(ALPHA)).status_code in (200, 404)
    assert api.get(f"/v1/jobs/{items[0]['job_id']}", headers=key(ALPHA)).status_code == 404
    states = {api.get(f"/v1/jobs/{i['job_id']}", headers=key(ALPHA)).get_json()["status"] for i in items[1:]}
    assert states == {"canceled"}
    assert api.get(f"/v1/batches/{second['batch_id']}", headers=key(ALPHA)).status_code == 404
    assert every_page(api, ALPHA, "/v1/batches", "batches") == [[first["batch_id"]]]
