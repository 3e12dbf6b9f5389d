"""``ocrq submit`` and ``ocrq status``: use a running server through the Python client."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import requests

from ocrq.cli.failures import BAD_INPUT, EXIT_CODES, JOB_FAILED, OK, Fatal, check_server, describe, stopping
from ocrq.cli.inputs import Input, collect, derived_key, refuse_same_names
from ocrq.cli.progress import PageProgress, file_bar
from ocrq.cli.writers import FORMATS, SERVER_FORMATS, OutFolder, Stdout, Writer, emit, line_of
from ocrq.client import Client, ClientError, Job

DEFAULT_SERVER = "http://127.0.0.1:5000"


def add_parser(sub: argparse._SubParsersAction) -> None:
    submit = sub.add_parser(
        "submit", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXIT_CODES,
        help="send images or documents (PDF, TIFF), or folders of them, to a server; with --wait, fetch "
             "the results")
    submit.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help="an image or document, or a folder: its images and documents, recursively")
    _server_options(submit)
    submit.add_argument("--wait", action="store_true", help="wait for every job and write its result")
    submit.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="with --wait: write each result to DIR/<name>.<format>, name being the path "
                             "inside the folder given (subfolders mirrored) or the file's name")
    submit.add_argument("--format", choices=(*FORMATS, *SERVER_FORMATS), default=None,
                        help="json: one file's result as a document; jsonl (the default for several files "
                             "or a folder): one line per file, naming it; txt; tsv (with a file column for "
                             "several files); hocr, xml (ALTO), pdf (searchable), rendered by the "
                             "server (several files: with --out). Without --wait: <file>\\t<job id> "
                             "lines, or jsonl")
    submit.add_argument("--enhance", choices=("off", "seed", "auto"), default=None)
    submit.add_argument("--priority", choices=("high", "normal", "low"), default=None,
                        help="which jobs workers take first (default: normal)")
    submit.add_argument("--tag", default=None, metavar="TEXT",
                        help="free text echoed in each job's options and webhook")
    submit.add_argument("--callback-url", default=None, metavar="URL",
                        help="URL each job's document is POSTed to when it ends (the server needs "
                             "OCRQ_WEBHOOK_SECRET)")
    submit.add_argument("--idempotency-key", default=None, metavar="KEY",
                        help="the Idempotency-Key of one file; with several, each gets <KEY>:<name> (name "
                             "as for --out), so the same command run again makes no second job")
    submit.add_argument("--concurrency", type=_positive, default=4, metavar="N",
                        help="jobs in flight at once (default 4)")
    submit.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    submit.set_defaults(handler=run_submit)

    status = sub.add_parser("status", help="print a job's document as JSON", epilog=EXIT_CODES,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    status.add_argument("job_id")
    _server_options(status)
    status.add_argument("--wait", type=float, default=0, help="long-poll up to this many seconds")
    status.set_defaults(handler=run_status)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {text!r}")
    return int(text)


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=os.environ.get("OCRQ_SERVER", DEFAULT_SERVER),
                        help=f"base URL (default: $OCRQ_SERVER or {DEFAULT_SERVER})")
    parser.add_argument("--api-key", default=os.environ.get("OCRQ_API_KEY"),
                        help="API key (default: $OCRQ_API_KEY)")


def _client(args: argparse.Namespace, pool_size: int = 1) -> Client:
    check_server(args.server)
    return Client(args.server, args.api_key, pool_size=pool_size)


def run_status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        try:
            job = client.job(args.job_id, wait=args.wait)
        except (ClientError, requests.RequestException) as exc:
            raise stopping(exc, args.server, args.api_key) or Fatal(JOB_FAILED, describe(exc)) from None
    print(json.dumps(job.document, ensure_ascii=False, indent=2))
    return OK if job.status != "failed" else JOB_FAILED


def run_submit(args: argparse.Namespace) -> int:
    inputs, any_folder = collect(args.files)
    several = any_folder or len(inputs) > 1
    fmt = args.format or ("jsonl" if several else "json")
    if args.out is not None and not args.wait:
        raise Fatal(BAD_INPUT, "--out writes results, which only --wait fetches")
    if fmt in SERVER_FORMATS and several and args.out is None:
        raise Fatal(BAD_INPUT, f"--format {fmt} writes one document per file: for several files use "
                               "--out DIR")
    if fmt == "json" and several and args.out is None:
        raise Fatal(BAD_INPUT, "--format json writes one file's result; for several files use jsonl (the "
                               "default), or --out DIR for one file each")
    if args.out is not None:
        refuse_same_names(inputs, "--out")
    if args.idempotency_key and several:
        refuse_same_names(inputs, "--idempotency-key")
    by_path = {item.path: item for item in inputs}

    def key_of(path) -> str | None:
        if not args.idempotency_key or not several:
            return args.idempotency_key
        return derived_key(args.idempotency_key, by_path[path].name)

    options = {"enhance": args.enhance, "priority": args.priority, "tag": args.tag,
               "callback_url": args.callback_url}
    with _client(args, pool_size=args.concurrency) as client:
        if not args.wait:
            return _submit_only(client, args, inputs, key_of, options)
        writer: Writer = OutFolder(args.out, fmt) if args.out is not None else Stdout(fmt, several)
        return _submit_and_wait(client, args, inputs, by_path, key_of, options, writer)


def _submit_and_wait(client: Client, args: argparse.Namespace, inputs: list[Input], by_path: dict,
                     key_of, options: dict, writer: Writer) -> int:
    start = time.monotonic()
    progress = file_bar(len(inputs), disable=args.no_progress)
    pages = PageProgress(progress, single=len(inputs) == 1, disable=args.no_progress)
    done = failed = 0
    watch = None if args.no_progress else pages.update  # watching pages makes each long-poll short
    try:
        for path, outcome in client.map([item.path for item in inputs], concurrency=args.concurrency,
                                        on_progress=watch, idempotency_key=key_of, **options):
            item = by_path[path]
            if isinstance(outcome, Job) and outcome.status == "succeeded" and writer.fmt in SERVER_FORMATS:
                try:  # hOCR, ALTO and the searchable PDF are the server's (it has the upload)
                    rendered: bytes | None = client.output(outcome.id, writer.fmt)
                except ClientError as exc:
                    fatal = stopping(exc, args.server, args.api_key)
                    if fatal is not None:
                        raise fatal from None
                    outcome, rendered = exc, None
            else:
                rendered = None
            if isinstance(outcome, Job) and outcome.status == "succeeded":
                done += 1
                writer.succeeded(item, outcome, rendered)
            else:
                if isinstance(outcome, ClientError):
                    fatal = stopping(outcome, args.server, args.api_key)
                    if fatal is not None:
                        raise fatal
                failed += 1
                error, job_id = _error_of(outcome)
                writer.failed(item, job_id, error)
                progress.write(f"ocrq: {item.path}: {describe(error)}", file=sys.stderr)
            progress.update(1)
    finally:
        pages.close()
        progress.close()
    seconds = time.monotonic() - start
    print(f"ocrq: {done} done, {failed} failed, {_count(len(inputs), 'file')} in {seconds:.1f} s",
          file=sys.stderr)
    return JOB_FAILED if failed else OK


def _submit_only(client: Client, args: argparse.Namespace, inputs: list[Input], key_of, options: dict) -> int:
    """Submit each input and print ``<file>\t<job id>`` (with ``--format jsonl``, a JSON line with the
    file, its job and ``"status": "queued"``); a file refused alone is said on stderr."""
    failed = 0
    for item in inputs:
        try:
            job = client.submit(item.path, idempotency_key=key_of(item.path), **options)
        except (ClientError, OSError) as exc:  # requests' errors are OSErrors
            fatal = stopping(exc, args.server, args.api_key)
            if fatal is not None:
                raise fatal from None
            failed += 1
            print(f"ocrq: {item.path}: {describe(exc)}", file=sys.stderr)
            if args.format == "jsonl":
                emit(line_of(item, None, "failed", error=_error_of(exc)[0]))
            continue
        emit(line_of(item, job.id, job.status) if args.format == "jsonl" else f"{item.path}\t{job.id}\n")
    return JOB_FAILED if failed else OK


def _error_of(outcome: Job | Exception) -> tuple[dict, str | None]:
    """A failed file's error as the server words it ({"code", "message"}), and its job if it has one."""
    if isinstance(outcome, Job):
        ended = {"code": outcome.status, "message": f"the job was {outcome.status}"}
        return outcome.error or ended, outcome.id
    code = getattr(outcome, "code", "client_error")
    return {"code": code, "message": getattr(outcome, "message", None) or describe(outcome)}, None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
