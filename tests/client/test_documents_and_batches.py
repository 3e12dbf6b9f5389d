"""The Python client with multi-page documents (progress while pages finish) and batches, over HTTP
against the real stack."""

from __future__ import annotations

from ocrq.client import Client
from tests.support.documents import text_pdf
from tests.support.render import render_png


def test_submit_a_pdf_as_is_and_watch_its_pages(live_server, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(text_pdf(["报告 Report 1", "报告 Report 2", "报告 Report 3"]))
    seen: list[tuple[int, int]] = []
    job = Client(live_server).submit(path, fault="sleep:0.3")
    assert job.progress == {"done": 0, "total": 3}
    job.wait(timeout=120, on_progress=lambda j: seen.append((j.progress["done"], j.progress["total"])))
    assert job.status == "succeeded", job.error
    assert [p["text"].replace(" ", "") for p in job.result["pages"]] == [f"报告Report{i}" for i in (1, 2, 3)]
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)  # called at the start, as pages end, and at the end
    assert [done for done, _ in seen] == sorted({done for done, _ in seen})


def test_batch_waits_for_every_item_and_reports_progress(live_server, tmp_path):
    client = Client(live_server)
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"b{i}.png")
        paths[-1].write_bytes(render_png([f"批{i} Item {i}"], size=32))
    (tmp_path / "bad.png").write_text("not an image")
    paths.append(tmp_path / "bad.png")
    counts: list[dict] = []
    batch = client.batch([*paths, render_png(["字节 Bytes"], size=32)], enhance="auto")
    assert batch.status == "running" and batch.document["total"] == 5
    batch.wait(timeout=120, on_progress=lambda b: counts.append(dict(b.progress)))
    assert batch.status == "partial" and batch.progress == {"done": 4, "failed": 1, "total": 5}
    assert counts[-1] == batch.progress
    texts = [r["text"].replace(" ", "") if r else None for r in batch.results]
    assert texts == ["批0Item0", "批1Item1", "批2Item2", None, "字节Bytes"]
    assert [item["filename"] for item in batch.items] == ["b0.png", "b1.png", "b2.png", "bad.png", "item-4"]
    assert batch.items[3]["error"]["code"] == "unsupported_image"
    assert client.get_batch(batch.id).progress == batch.progress
