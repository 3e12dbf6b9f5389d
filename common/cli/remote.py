"""``ocrq submit`` and ``ocrq status``: use a running server through the Python client."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ocrq.client import ApiError, Client, ClientError, Job
from ocrq.formats import FORMATS, render

SERVER_FORMATS = ("hocr", "xml", "pdf")  # rendered by the server: GET /v1/jobs/<id>/result.<format>

DEFAULT_SERVER = "http://127.0.0.1:5000"


def add_parser(sub: argparse._SubParsersAction) -> None:
    submit = sub.add_parser("submit", help="send images or documents (PDF, TIFF) to a server; with --wait, "
                                           "fetch the results")
    submit.add_argument("files", nargs="+", type=Path, metavar="FILE")
    _server_options(submit)
    submit.add_argument("--wait", action="store_true", help="wait for every job and write its result")
    submit.add_argument("--out", type=Path, default=None,
                        help="with --wait: write FILE's result to OUT/<FILE name>.<format> (default: stdout)")
    submit.add_argument("--format", choices=(*FORMATS, *SERVER_FORMATS), default="json",
                        help="json, txt, tsv; or hocr, xml (ALTO), pdf (searchable), fetched from the server")
    submit.add_argument("--enhance", choices=("off", "seed", "auto"), default=None)
    submit.add_argument("--concurrency", type=int, default=4, help="jobs in flight at once (default 4)")
    submit.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    submit.set_defaults(handler=run_submit)

    status = sub.add_parser("status", help="print a job's document as JSON")
    status.add_argument("job_id")
    _server_options(status)
    status.add_argument("--wait", type=float, default=0, help="long-poll up to this many seconds")
    status.set_defaults(handler=run_status)


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=os.environ.get("OCRQ_SERVER", DEFAULT_SERVER),
                        help=f"base URL (default: $OCRQ_SERVER or {DEFAULT_SERVER})")
    parser.add_argument("--api-key", default=os.environ.get("OCRQ_API_KEY"),
                        help="API key (default: $OCRQ_API_KEY)")


def run_status(args: argparse.Namespace) -> int:
    client = Client(args.server, args.api_key)
    try:
        job = client.job(args.job_id, wait=args.wait)
    except ClientError as exc:
        print(f"ocrq: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(job.document, ensure_ascii=False, indent=2))
    return 0 if job.status != "failed" else 1


def run_submit(args: argparse.Namespace) -> int:
    client = Client(args.server, args.api_key)
    if not args.wait:
        return _submit_only(client, args)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    progress = _progress(len(args.files), disable=args.no_progress)
    pages = PageProgress(progress, single=len(args.files) == 1, disable=args.no_progress)
    done = failed = 0
    for path, outcome in client.map(args.files, concurrency=args.concurrency, enhance=args.enhance,
                                    on_progress=pages.update):
        if isinstance(outcome, Job) and outcome.status == "succeeded":
            try:
                body = (client.output(outcome.id, args.format) if args.format in SERVER_FORMATS
                        else render(outcome.result or {}, args.format).encode())
            except ClientError as exc:
                failed += 1
                progress.write(f"ocrq: {path!s}: {_describe(exc)}", file=sys.stderr)
                progress.update(1)
                continue
            done += 1
            _write(args, Path(str(path)), body)
        else:
            failed += 1
            reason = outcome if isinstance(outcome, ClientError) else outcome.error or outcome.status
            progress.write(f"ocrq: {path!s}: {_describe(reason)}", file=sys.stderr)
        progress.update(1)
    pages.close()
    progress.close()
    seconds = time.monotonic() - start
    print(f"ocrq: {done} done, {failed} failed, {len(args.files)} files in {seconds:.1f} s", file=sys.stderr)
    return 1 if failed else 0


def _submit_only(client: Client, args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            job = client.submit(path, enhance=args.enhance)
            print(f"{path}\t{job.id}")
        except (ClientError, OSError) as exc:
            failed += 1
            print(f"ocrq: {path}: {_describe(exc)}", file=sys.stderr)
    return 1 if failed else 0


def _write(args: argparse.Namespace, path: Path, body: bytes) -> None:
    if args.out is None:
        if args.format == "txt":
            sys.stdout.write(f"== {path}\n")
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    (args.out / f"{path.name}.{args.format}").write_bytes(body)


def _describe(reason: object) -> str:
    if isinstance(reason, ApiError):
        return f"{reason.code}: {reason.message}"
    if isinstance(reason, dict):
        return f"{reason.get('code')}: {reason.get('message')}"
    if isinstance(reason, OSError):
        return reason.strerror or str(reason)
    return str(reason)


def _progress(total: int, disable: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", disable=disable or total < 2, file=sys.stderr, dynamic_ncols=True)


class PageProgress:
    """Pages of multi-page documents as they finish: a bar of pages when one document is sent alone,
    else ``name done/total pages`` beside the bar of files. Called from the client's threads."""

    def __init__(self, files, single: bool, disable: bool) -> None:
        self.files = files
        self.single = single
        self.disable = disable
        self.bar: Any = None
        self.lock = threading.Lock()

    def update(self, path, job: Job) -> None:
        progress = job.progress
        if not progress or self.disable:
            return
        with self.lock:
            if not self.single:
                name = Path(str(path)).name
                self.files.set_postfix_str(f"{name} {progress['done']}/{progress['total']} pages")
                return
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=progress["total"], unit="page", desc=Path(str(path)).name,
                                file=sys.stderr, dynamic_ncols=True)
            self.bar.update(progress["done"] - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
