"""Where ``ocrq submit --wait`` writes results: stdout (one JSON document, JSON Lines, text or TSV) or one
file per input under ``--out``. Every writer names each file, except the bare JSON of a single file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Protocol

from ocrq.cli.inputs import Input
from ocrq.client import Job
from ocrq.formats import TSV_HEADER, render, to_tsv

FORMATS = ("json", "jsonl", "txt", "tsv")
SERVER_FORMATS = ("hocr", "xml", "pdf")  # rendered by the server: GET /v1/jobs/<id>/result.<format>


class Writer(Protocol):
    fmt: str

    def succeeded(self, item: Input, job: Job, rendered: bytes | None = None) -> None: ...

    def failed(self, item: Input, job_id: str | None, error: dict) -> None: ...


def line_of(item: Input, job_id: str | None, status: str, result: dict | None = None,
            error: dict | None = None) -> str:
    """One JSON Lines record: the file (as found), its job, and its result or error if it has one yet;
    compact, one line."""
    record: dict = {"file": str(item.path), "job_id": job_id, "status": status}
    if result is not None:
        record["result"] = result
    if error is not None:
        record["error"] = error
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def emit(text: str) -> None:
    """Write to stdout now: a pipe's reader sees each result as it comes (and a closed pipe shows at once)."""
    sys.stdout.write(text)
    sys.stdout.flush()


class Stdout:
    """Results on stdout, flushed as each arrives (so a pipe sees them at once). ``json``: the result as a
    pretty document, for one file only; ``jsonl``: one line per file, failures included; ``txt``: each
    file's text under a ``== <file>`` line; ``tsv``: one header, then every file's rows, with a ``file``
    column when several files are sent."""

    def __init__(self, fmt: str, several: bool) -> None:
        self.fmt, self.several = fmt, several
        self.header_written = False

    def succeeded(self, item: Input, job: Job, rendered: bytes | None = None) -> None:
        result = job.result or {}
        if rendered is not None:  # a server format (hOCR, ALTO, PDF) of one file: its bytes as they are
            sys.stdout.flush()
            sys.stdout.buffer.write(rendered)
            sys.stdout.buffer.flush()
        elif self.fmt == "jsonl":
            emit(line_of(item, job.id, job.status, result=result))
        elif self.fmt == "txt":
            emit(f"== {item.path}\n{render(result, 'txt')}")
        elif self.fmt == "tsv":
            emit(self._tsv(item, result))
        else:
            emit(render(result, self.fmt))

    def failed(self, item: Input, job_id: str | None, error: dict) -> None:
        if self.fmt == "jsonl":  # a line for every file: a reader can tell a failure from a missing line
            emit(line_of(item, job_id, "failed", error=error))

    def _tsv(self, item: Input, result: dict) -> str:
        rows = to_tsv(result, header=False).splitlines()
        header = TSV_HEADER
        if self.several:
            name = str(item.path).replace("\t", " ").replace("\n", " ")
            rows, header = [f"{name}\t{row}" for row in rows], f"file\t{TSV_HEADER}"
        if not self.header_written:
            rows.insert(0, header)
            self.header_written = True
        return "".join(row + "\n" for row in rows)


class OutFolder:
    """One file per input: ``OUT/<name>.<format>``, where name is the input's path relative to the folder
    it was found in (subfolders mirrored, so same-named files of two subfolders stay apart), or its file
    name when it was given itself. ``jsonl`` writes the input's one JSON line."""

    def __init__(self, out: Path, fmt: str) -> None:
        self.out, self.fmt = out, fmt

    def path_for(self, item: Input) -> Path:
        return self.out / f"{item.name}.{self.fmt}"

    def succeeded(self, item: Input, job: Job, rendered: bytes | None = None) -> None:
        result = job.result or {}
        if rendered is None:
            text = line_of(item, job.id, job.status, result=result) if self.fmt == "jsonl" \
                else render(result, self.fmt)
            rendered = text.encode("utf-8")
        target = self.path_for(item)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(rendered)

    def failed(self, item: Input, job_id: str | None, error: dict) -> None:
        """Nothing is written for a failed file (stderr says why)."""
