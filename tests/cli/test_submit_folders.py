"""``ocrq submit`` with folders against the running stack: every image and document found (recursively,
sorted), JSON Lines naming each file, one TSV header with a file column, ``--out`` mirroring subfolders,
and the job options reaching the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import ocrq
from tests.support.documents import text_pdf
from tests.support.render import render_png


def squash(text: str) -> str:
    return text.replace(" ", "")


def scans(root: Path, names: dict[str, str]) -> dict[str, str]:
    """Each relative path in ``names`` rendered with its text under ``root``; the same map back."""
    for name, text in names.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(render_png([text], size=32))
    return names


@pytest.fixture
def small_folder(tmp_path) -> tuple[Path, dict[str, str]]:
    """3 images in 2 subfolders, two of them with the same name; files that are not sent beside them."""
    root = tmp_path / "scans"
    texts = scans(root, {"a/page.png": "甲 Alpha 1", "a/more.jpg.png": "乙 Beta 2",
                         "b/page.png": "丙 Gamma 3"})
    (root / "a" / "notes.txt").write_text("not sent: not an image's extension")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.png").write_bytes(b"not sent: hidden")
    return root, texts


def test_a_folder_of_12_images_and_a_pdf_gives_one_json_line_per_file(live_server, tmp_path):
    root = tmp_path / "inbox"
    texts = scans(root, {f"{part}/scan{i:02}.png": f"{group}组 第{i}号 Scan {i}"
                         for part, group in (("x", "甲"), ("y", "乙")) for i in range(6)})
    (root / "report.pdf").write_bytes(text_pdf(["第一页 Page one", "第二页 Page two"]))
    done = ocrq("submit", str(root), "--server", live_server, "--wait", "--format", "jsonl", "--no-progress")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 13 and all(line.startswith("{") and line.endswith("}") for line in lines)
    records = {Path(record["file"]).relative_to(root).as_posix(): record for record in map(json.loads, lines)}
    assert sorted(records) == sorted([*texts, "report.pdf"])
    for name, text in texts.items():
        assert records[name]["status"] == "succeeded" and len(records[name]["job_id"]) == 36
        assert squash(records[name]["result"]["text"]) == squash(text)
    pages = records["report.pdf"]["result"]["pages"]
    assert [squash(page["text"]) for page in pages] == ["第一页Pageone", "第二页Pagetwo"]
    assert "13 done, 0 failed, 13 files" in done.stderr


def test_a_folder_as_jsonl_by_default_tsv_with_one_header_and_out_mirroring_subfolders(
        live_server, small_folder, tmp_path):
    root, texts = small_folder
    default = ocrq("submit", str(root), "--server", live_server, "--wait")
    assert default.returncode == 0, default.stderr
    records = [json.loads(line) for line in default.stdout.splitlines()]
    assert sorted(record["file"] for record in records) == sorted(str(root / name) for name in texts)
    assert {record["file"]: squash(record["result"]["text"]) for record in records} == {
        str(root / name): squash(text) for name, text in texts.items()}

    tsv = ocrq("submit", str(root), "--server", live_server, "--wait", "--format", "tsv")
    assert tsv.returncode == 0, tsv.stderr
    header, *rows = [row.split("\t") for row in tsv.stdout.splitlines()]
    assert header == ["file", "page", "line", "confidence", "box", "text"]
    assert sorted((file, squash(text)) for file, _, _, _, _, text in rows) == sorted(
        (str(root / name), squash(text)) for name, text in texts.items())

    out = tmp_path / "out"
    written = ocrq("submit", str(root), "--server", live_server, "--wait", "--format", "txt",
                   "--out", str(out))
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""
    found = sorted(path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file())
    assert found == sorted(f"{name}.txt" for name in texts)  # a/page.png and b/page.png both kept
    for name, text in texts.items():
        assert squash((out / f"{name}.txt").read_text()) == squash(text) + "\n"


def test_text_output_names_each_file_and_json_wants_one(live_server, small_folder):
    root, texts = small_folder
    as_txt = ocrq("submit", str(root), "--server", live_server, "--wait", "--format", "txt",
                  "--concurrency", "1")
    assert as_txt.returncode == 0, as_txt.stderr
    headers = [line for line in as_txt.stdout.splitlines() if line.startswith("== ")]
    assert sorted(headers) == sorted(f"== {root / name}" for name in texts)
    several_as_json = ocrq("submit", str(root), "--server", live_server, "--wait", "--format", "json")
    assert several_as_json.returncode == 2 and several_as_json.stdout == ""
    assert several_as_json.stderr.startswith("ocrq: --format json writes one file's result")


def test_job_options_and_per_file_idempotency_keys_reach_the_server(live_server, small_folder):
    root, texts = small_folder
    first = ocrq("submit", str(root), "--server", live_server, "--priority", "high", "--tag", "批次-7",
                 "--idempotency-key", "run-16")
    assert first.returncode == 0, first.stderr
    jobs = dict(line.split("\t") for line in first.stdout.splitlines())
    assert sorted(jobs) == sorted(str(root / name) for name in texts) and len(set(jobs.values())) == 3
    again = ocrq("submit", str(root), "--server", live_server, "--priority", "high", "--tag", "批次-7",
                 "--idempotency-key", "run-16", "--format", "jsonl")
    replayed = [json.loads(line) for line in again.stdout.splitlines()]
    assert {record["file"]: record["job_id"] for record in replayed} == jobs  # the same jobs, replayed
    assert {record["status"] for record in replayed} <= {"queued", "running", "succeeded"}
    for job_id in jobs.values():
        status = ocrq("status", job_id, "--server", live_server, "--wait", "30")
        document = json.loads(status.stdout)
        assert document["options"]["priority"] == "high" and document["options"]["tag"] == "批次-7"

    refused = ocrq("submit", str(root / "a" / "page.png"), "--server", live_server, "--wait",
                   "--callback-url", "http://10.1.2.3/hook")  # a private address the server does not allow
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("ocrq: the server refused the request: 400 invalid_option: callback_url")
    assert len(refused.stderr.splitlines()) == 1
