"""``ocrq ocr`` end to end, as a user runs it: a subprocess on files the test writes."""

import json
import subprocess
import sys
from pathlib import Path

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
    assert f"{bad}: not an image" in done.stderr
    assert "missing.png" in done.stderr
    assert "OK" in done.stdout  # the good file in between is still read


def test_bad_option_is_a_usage_error():
    done = ocrq("ocr", "x.png", "--enhance", "sharpen")
    assert done.returncode == 2 and "invalid choice" in done.stderr
