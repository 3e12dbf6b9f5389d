"""``ocrq submit`` / ``ocrq status`` end to end: a folder of rendered images against the running stack."""

from __future__ import annotations

import json

from tests.support.cli import ocrq
from tests.support.render import render_png


def test_submit_a_folder_wait_and_write_every_format(live_server, tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    texts = {f"scan{i}.png": f"扫描件{i} Scan {i}" for i in range(4)}
    for name, text in texts.items():
        (folder / name).write_bytes(render_png([text], size=32))
    (folder / "notes.png").write_text("not an image")
    files = sorted(str(p) for p in folder.iterdir())

    done = ocrq("submit", *files, "--server", live_server, "--wait", "--out", str(tmp_path / "out"),
                "--format", "tsv", "--concurrency", "2")
    assert done.returncode == 1  # one file failed
    assert "4 done, 1 failed, 5 files" in done.stderr
    assert "notes.png: unsupported_image" in done.stderr
    assert "%|" in done.stderr or "file/s" in done.stderr  # the progress bar
    for name, text in texts.items():
        rows = (tmp_path / "out" / f"{name}.tsv").read_text().splitlines()
        assert rows[0] == "page\tline\tconfidence\tbox\ttext"
        page, line, confidence, box, recognised = rows[1].split("\t")
        assert (page, line) == ("1", "1") and 0 < float(confidence) <= 1 and len(box.split()) == 4
        assert recognised.replace(" ", "") == text.replace(" ", "")

    as_txt = ocrq("submit", str(folder / "scan0.png"), "--server", live_server, "--wait", "--format", "txt")
    assert as_txt.returncode == 0 and "扫描件0" in as_txt.stdout
    as_json = ocrq("submit", str(folder / "scan1.png"), "--server", live_server, "--wait")
    assert json.loads(as_json.stdout)["text"].replace(" ", "") == "扫描件1Scan1"


def test_submit_without_wait_prints_job_ids_and_status_reads_them(live_server, tmp_path):
    image = tmp_path / "a.png"
    image.write_bytes(render_png(["状态 status"], size=32))
    submitted = ocrq("submit", str(image), "--server", live_server)
    assert submitted.returncode == 0
    path, job_id = submitted.stdout.strip().split("\t")
    assert path == str(image) and len(job_id) == 36
    status = ocrq("status", job_id, "--server", live_server, "--wait", "30")
    assert status.returncode == 0
    assert json.loads(status.stdout)["status"] == "succeeded"
    unknown = ocrq("status", "00000000-0000-4000-8000-000000000000", "--server", live_server)
    assert unknown.returncode == 2 and "404 not_found" in unknown.stderr


def test_submit_a_generated_pdf_prints_its_pages_and_shows_their_progress(live_server, tmp_path):
    from tests.support.documents import text_pdf

    texts = ["第一页 Page one", "第二页 Page two", "第三页 Page three"]
    document = tmp_path / "report.pdf"
    document.write_bytes(text_pdf(texts))
    done = ocrq("submit", str(document), "--server", live_server, "--wait", "--format", "tsv")
    assert done.returncode == 0, done.stderr
    rows = [row.split("\t") for row in done.stdout.splitlines()[1:]]
    assert [(page, line) for page, line, *_ in rows] == [("1", "1"), ("2", "1"), ("3", "1")]
    assert [text.replace(" ", "") for *_, text in rows] == [t.replace(" ", "") for t in texts]
    assert "report.pdf" in done.stderr and "3/3" in done.stderr and "page" in done.stderr  # the page bar
    assert "1 done, 0 failed, 1 file in" in done.stderr  # one file, not "1 files"

    as_txt = ocrq("submit", str(document), "--server", live_server, "--wait", "--format", "txt")
    assert as_txt.stdout.replace(" ", "").split("\n\f\n") == [f"=={document}\n第一页Pageone", "第二页Pagetwo",
                                                                 "第三页Pagethree\n"]


def test_submit_fetches_the_server_rendered_formats(live_server, tmp_path):
    """hOCR, ALTO and the searchable PDF come from the server (result.<format>), written as bytes."""
    from lxml import etree, html

    from tests.support.pdftext import normalised, pdfium_pages

    image = tmp_path / "both.png"
    image.write_bytes(render_png(["双层 PDF", "Layer two"], size=32))
    out = tmp_path / "out"
    for fmt in ("hocr", "xml", "pdf"):
        done = ocrq("submit", str(image), "--server", live_server, "--wait", "--format", fmt,
                    "--out", str(out))
        assert done.returncode == 0, done.stderr
    assert html.fromstring((out / "both.png.hocr").read_bytes()).find_class("ocrx_word")
    assert etree.fromstring((out / "both.png.xml").read_bytes()).tag.endswith("}alto")
    text = pdfium_pages((out / "both.png.pdf").read_bytes())[0]
    assert normalised(text) == normalised("双层 PDF Layer two")
