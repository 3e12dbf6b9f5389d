"""``ocrq ocr`` end to end, as a user runs it: a subprocess on files the test writes."""

import json
import subprocess
import sys
from pathlib import Path

from tests.support.documents import text_pdf
from tests.support.render import render_png


def ocrq(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("ocrq")  # the console script the package installs
    return subprocess.run([str(script), *args], capture_output=True, text=True,
                          timeout=120, env={"OCRQ_ORT_THREADS": "2", "PATH": "/usr/bin:/bin"})


def test_plain_and_json_output(tmp_path):
    image = tmp_path / "invoice.png"
    image.write_bytes(render_png(["增值税专用发票", "Total 42.00"], size=32))
    plain = ocrq("ocr", str(image), "--enhance", "off")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.splitlines()[0].endswith("] 增值税专用发票")
    assert plain.stdout.startswith("[0.") or plain.stdout.startswith("[1.")

    as_json = ocrq("ocr", str(image), "--json")
    assert as_json.returncode == 0
    doc = json.loads(as_json.stdout)
    assert doc["image"] == str(image)
    assert [line["text"] for line in doc["lines"]] == ["增值税专用发票", "Total 42.00"]
    assert doc["text"] == "增值税专用发票\nTotal 42.00"
    assert {"width", "height", "timings_ms", "model"} <= set(doc)
    assert len(doc["lines"][0]["box"]) == 4


def test_errors_name_the_file_and_exit_2(tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(render_png(["OK 好"], size=32))
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is text, not a picture")
    done = ocrq("ocr", str(bad), str(good), str(tmp_path / "missing.png"))
    assert done.returncode == 2
    assert f"{bad}: neither an image in a supported format" in done.stderr
    assert "missing.png" in done.stderr
    assert "OK" in done.stdout  # the good file in between is still read


def test_a_pdf_is_read_page_by_page(tmp_path):
    pdf = tmp_path / "two pages.pdf"
    pdf.write_bytes(text_pdf(["第一页 First", "第二页 Second"]))
    as_json = ocrq("ocr", str(pdf), "--json", "--enhance", "off")
    assert as_json.returncode == 0, as_json.stderr
    docs = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(d["image"], d["page"]) for d in docs] == [(str(pdf), 1), (str(pdf), 2)]
    assert ["".join(d["text"].split()) for d in docs] == ["第一页First", "第二页Second"]

    plain = ocrq("ocr", str(pdf), "--enhance", "off")
    assert plain.stdout.splitlines()[0] == f"== {pdf} page 1"
    assert plain.stdout.splitlines()[2] == f"== {pdf} page 2"


def test_bad_option_is_a_usage_error():
    done = ocrq("ocr", "x.png", "--enhance", "sharpen")
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_the_command_offers_the_modes_the_settings_know():
    """The parser cannot import ocrq.config (a client-only install has no pydantic): the two lists agree."""
    from ocrq.cli.ocr import ENHANCE_CHOICES
    from ocrq.config import ENHANCE_MODES

    assert ENHANCE_CHOICES == ENHANCE_MODES


def test_format_writes_hocr_to_stdout_and_a_searchable_pdf_to_a_file(tmp_path):
    from lxml import html

    from tests.support.pdftext import normalised, pdfium_pages, poppler_pages

    pdf = tmp_path / "two.pdf"
    pdf.write_bytes(text_pdf(["第一页 First", "第二页 Second"]))
    hocr = ocrq("ocr", str(pdf), "--format", "hocr", "--enhance", "off")
    assert hocr.returncode == 0, hocr.stderr
    pages = html.fromstring(hocr.stdout.encode()).find_class("ocr_page")
    assert [p.get("id") for p in pages] == ["page_1", "page_2"]

    out = tmp_path / "two.searchable.pdf"
    done = ocrq("ocr", str(pdf), "--format", "pdf", "-o", str(out), "--enhance", "off")
    assert done.returncode == 0, done.stderr
    expected = ["第一页First", "第二页Second"]
    assert [normalised(t).replace(" ", "") for t in pdfium_pages(out.read_bytes())] == expected
    assert [normalised(t).replace(" ", "") for t in poppler_pages(out.read_bytes())] == expected
