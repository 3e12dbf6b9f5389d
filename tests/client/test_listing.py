"""The client's listings: ``jobs()`` and ``batches()`` follow the server's ``next`` links page by page;
``delete_batch`` cancels and deletes a batch's jobs."""

from __future__ import annotations

import uuid

from ocrq.client import Client
from tests.support.render import render_png


def test_jobs_and_batches_are_listed_newest_first_across_pages(live_server):
    tag = f"listing-{uuid.uuid4().hex[:8]}"
    with Client(live_server) as client:
        submitted = [client.submit(render_png([f"List {i}"], size=24), filename=f"{i}.png", tag=tag).id
                     for i in range(5)]
        listed = list(client.jobs(tag=tag, page_size=2))  # three pages
        assert [job["job_id"] for job in listed] == submitted[::-1]
        assert all(job["options"]["tag"] == tag and "result" not in job for job in listed)
        batch = client.batch([render_png(["Batch one"], size=24)])
        assert next(client.batches())["batch_id"] == batch.id
        removed = client.delete_batch(batch.id)
        assert removed["batch_id"] == batch.id and removed["canceled"] + removed["deleted"] == 1
        assert batch.id not in {b["batch_id"] for b in client.batches(page_size=100)}
