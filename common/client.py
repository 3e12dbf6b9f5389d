"""A Python client for the ocrq HTTP API: submit, long-poll, map over many files, with retries.

Needs only ``requests``: it imports nothing of the server (no Flask, Celery, Redis or onnxruntime).

    from ocrq.client import Client
    client = Client("http://127.0.0.1:5000")
    print(client.ocr("invoice.jpg")["text"])
    for path, job in client.map(["a.png", "b.png"], concurrency=4):
        print(path, job.status)
    batch = client.batch(["a.png", "scan.pdf"]).wait(300)   # one request, items run as jobs
    print(batch.progress, [item["status"] for item in batch.items])
    client.close()                                           # or: with Client(...) as client:
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError  # requests' own dependency; DNS failures subclass it

FINISHED = ("succeeded", "failed", "canceled")
BATCH_FINISHED = ("succeeded", "partial", "failed")
RETRY_STATUSES = (429, 502, 503, 504)
# A 409 with this code: the same Idempotency-Key's first request is still being processed (this one may be
# the client's own retry of it); asked again with the key, it gets that request's answer.
IN_PROGRESS = "idempotency_in_progress"
PROGRESS_POLL = 1.0  # seconds per long-poll while someone watches progress
CONNECT_TIMEOUT = 10.0  # seconds to open a connection (the read timeout is the client's ``timeout``)


class ClientError(Exception):
    """Base of the client's errors."""


class ApiError(ClientError):
    """The server refused a request with a 4xx/5xx JSON error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class ServerUnreachable(ClientError, requests.ConnectionError):
    """No connection to the server could be made (refused, unknown host, timed out connecting), or every
    retry of a dropped one failed. Also a ``requests.ConnectionError``, as the client raised before."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(f"cannot connect to {base_url}: {reason}")
        self.base_url, self.reason = base_url, reason


class JobFailed(ClientError):
    """A job ended ``failed`` or ``canceled``."""

    def __init__(self, job: Job) -> None:
        error = job.error or {"code": job.status, "message": f"the job was {job.status}"}
        super().__init__(f"job {job.id} {job.status}: {error['code']}: {error['message']}")
        self.job = job


class Job:
    """A submitted job: its last known document, refreshed by ``refresh`` and ``wait``."""

    def __init__(self, client: Client, document: dict[str, Any]) -> None:
        self.client = client
        self.document = document

    @property
    def id(self) -> str:
        return self.document["job_id"]

    @property
    def status(self) -> str:
        return self.document["status"]

    @property
    def done(self) -> bool:
        return self.status in FINISHED

    @property
    def result(self) -> dict | None:
        return self.document.get("result")

    @property
    def error(self) -> dict | None:
        return self.document.get("error")

    @property
    def progress(self) -> dict | None:
        """``{"done", "total"}`` pages of a multi-page document (PDF, TIFF); None for one image."""
        return self.document.get("progress")

    def refresh(self, wait: float = 0) -> Job:
        params = {"wait": f"{wait:g}"} if wait > 0 else None
        self.document = self.client._request("GET", f"/v1/jobs/{self.id}", params=params,
                                             timeout=self.client.timeout + wait).json()
        return self

    def wait(self, timeout: float | None = None, poll: float = 30.0,
             on_progress: Callable[[Job], None] | None = None) -> Job:
        """Long-poll until the job finishes; ``TimeoutError`` after ``timeout`` seconds (None: no limit).
        ``on_progress(job)`` is called whenever a document's page count done changes (and at the end)."""
        return _wait(self, timeout, poll, on_progress)

    def cancel(self) -> str:
        return self.client._request("DELETE", f"/v1/jobs/{self.id}").json()["status"]

    def __repr__(self) -> str:
        return f"Job({self.id!r}, status={self.status!r})"


class Client:
    """The HTTP API of one ocrq server, over one ``requests.Session``: its connections are kept alive and
    reused by every call (long-polls included), up to ``pool_size`` of them at once.

    Threads: one Client may be shared by several threads making calls at the same time; ``map`` does
    exactly that, its ``concurrency`` threads sharing this session. Give it a ``pool_size`` of at least
    the number of such threads (the CLI uses its ``--concurrency``): a thread finding every pooled
    connection busy opens one more and closes it after. A call changes nothing in the client, so calls do
    not interfere; what is not safe while calls are in flight is changing the client's attributes (or the
    session's adapters) and ``close()``. A ``Job`` or ``Batch`` belongs to one thread at a time: its
    ``refresh`` replaces its document.

    Retries: 429, 502, 503, 504 and a 409 ``idempotency_in_progress`` are retried ``retries`` times with
    exponential backoff (``Retry-After`` honoured); so is a connection dropped mid-request. A server that
    cannot be reached at all (nothing listening, unknown host) is tried only for ``connect_retry_seconds``
    in all, then ``ServerUnreachable``: a server that is down is said at once, not after half a minute."""

    def __init__(self, base_url: str = "http://127.0.0.1:5000", api_key: str | None = None,
                 timeout: float = 30.0, retries: int = 6, backoff: float = 0.5, pool_size: int = 10,
                 connect_retry_seconds: float = 2.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.pool_size = pool_size
        self.connect_retry_seconds = connect_retry_seconds
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)  # one host, pool_size sockets
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, method: str, path: str, timeout: float | None = None, **kwargs) -> requests.Response:
        """One request, retried as the class docstring says."""
        headers = kwargs.pop("headers", {})
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        started = time.monotonic()
        for attempt in range(self.retries + 1):
            delay = self.backoff * 2**attempt
            try:
                response = self.session.request(method, self.base_url + path, headers=headers,
                                                timeout=(CONNECT_TIMEOUT, timeout or self.timeout), **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                reason = _not_connected(exc)
                if reason is not None:  # nothing was sent: safe to try again, but only briefly
                    left = self.connect_retry_seconds - (time.monotonic() - started)
                    if left <= 0 or attempt == self.retries:
                        raise ServerUnreachable(self.base_url, reason) from exc
                    delay = min(delay, left)
                elif attempt == self.retries:
                    if isinstance(exc, requests.ConnectionError):
                        raise ServerUnreachable(self.base_url, f"the connection failed: {exc}") from exc
                    raise
            else:
                if not _retryable(response) or attempt == self.retries:
                    break
                delay = max(delay, _retry_after(response))
            time.sleep(delay)
        if response.status_code >= 400:
            raise _api_error(response)
        return response

    def submit(self, source: str | Path | bytes, *, filename: str | None = None,
               idempotency_key: str | None = None, **options: Any) -> Job:
        """Upload one image or document (PDF, multi-page TIFF), a path or bytes, with options such as
        ``enhance="auto"``, ``priority="high"``; returns the queued Job (a document's ``progress`` counts
        its pages). Sent with an ``Idempotency-Key`` (a new one unless given), so that a retry after a
        timeout or a dropped connection cannot make a second job."""
        if isinstance(source, bytes):
            data, name = source, filename or "image"
        else:
            path = Path(source)
            data, name = path.read_bytes(), filename or path.name
        fields = {k: str(v) for k, v in options.items() if v is not None}
        response = self._request("POST", "/v1/jobs", files={"image": (name, data)}, data=fields,
                                 headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())})
        return Job(self, response.json())

    def output(self, job_id: str, fmt: str) -> bytes:
        """A succeeded job's result as ``fmt``: ``txt``, ``hocr``, ``xml`` (ALTO) or ``pdf`` (searchable),
        rendered by the server (``GET /v1/jobs/<id>/result.<fmt>``)."""
        return self._request("GET", f"/v1/jobs/{job_id}/result.{fmt}").content

    def jobs(self, status: str | None = None, tag: str | None = None, created_after: str | None = None,
             created_before: str | None = None, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """This key's jobs, newest first, as summaries (no ``result``: ``job(id)`` reads one), fetched a
        page at a time as the iteration goes (``GET /v1/jobs``, following ``next``)."""
        query = {"status": status, "tag": tag, "created_after": created_after,
                 "created_before": created_before, "limit": page_size}
        return self._listing("/v1/jobs", "jobs", query)

    def batches(self, status: str | None = None, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """This key's batches, newest first, as summaries (no items: ``get_batch(id)`` reads one)."""
        return self._listing("/v1/batches", "batches", {"status": status, "limit": page_size})

    def _listing(self, path: str, kind: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        link: str | None = path + "?" + urlencode({k: v for k, v in query.items() if v is not None})
        while link:
            page = self._request("GET", link).json()
            yield from page[kind]
            link = page["next"]

    def delete_batch(self, batch_id: str) -> dict[str, Any]:
        """Cancel a batch's items that have not ended, delete the rest and the batch: the counts."""
        return self._request("DELETE", f"/v1/batches/{batch_id}").json()

    def job(self, job_id: str, wait: float = 0) -> Job:
        return Job(self, {"job_id": job_id, "status": "unknown"}).refresh(wait)

    def ocr(self, source: str | Path | bytes, timeout: float | None = 300.0, **options: Any) -> dict:
        """Submit and wait; the engine's result (``text``, ``lines``...) or ``JobFailed``."""
        job = self.submit(source, **options).wait(timeout)
        if job.status != "succeeded":
            raise JobFailed(job)
        return job.result or {}

    def batch(self, sources: Iterable[str | Path | bytes], idempotency_key: str | None = None,
              **options: Any) -> Batch:
        """Send several images or documents in one request (``POST /v1/batches``); each becomes a job.
        A file the server refuses fails alone (its item carries the error); returns the queued Batch.
        Sent with an ``Idempotency-Key``, as ``submit`` is."""
        files = []
        for index, source in enumerate(sources):
            if isinstance(source, bytes):
                files.append(("images", (f"item-{index}", source)))
            else:
                files.append(("images", (Path(source).name, Path(source).read_bytes())))
        fields = {k: str(v) for k, v in options.items() if v is not None}
        response = self._request("POST", "/v1/batches", files=files, data=fields,
                                 headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())})
        return Batch(self, response.json())

    def get_batch(self, batch_id: str, wait: float = 0) -> Batch:
        return Batch(self, {"batch_id": batch_id, "status": "unknown"}).refresh(wait)

    def map(self, sources: Iterable[str | Path | bytes], concurrency: int = 4, timeout: float | None = 600.0,
            on_progress: Callable[[str | Path | bytes, Job], None] | None = None,
            idempotency_key: Callable[[str | Path | bytes], str | None] | None = None,
            **options: Any) -> Iterator[tuple[str | Path | bytes, Job | ClientError]]:
        """Submit and wait for many sources, ``concurrency`` at a time (threads sharing this client);
        yields (source, Job) as each finishes, or (source, error) when it could not be submitted.
        ``on_progress(source, job)`` reports the pages of multi-page documents as they finish (called from
        the worker threads); ``idempotency_key(source)`` gives each submission its key (default: a new
        one each). Leaving the loop early cancels the sources not yet started (started ones run on)."""

        def one(source: str | Path | bytes) -> Job:
            watch = (lambda job: on_progress(source, job)) if on_progress else None
            key = idempotency_key(source) if idempotency_key else None
            return self.submit(source, idempotency_key=key, **options).wait(timeout, on_progress=watch)

        pending: dict[Future, str | Path | bytes] = {}
        queue = iter(sources)
        pool = ThreadPoolExecutor(concurrency)
        finished_all = False
        try:
            for source in queue:
                pending[pool.submit(one, source)] = source
                if len(pending) >= concurrency:
                    break
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    source = pending.pop(future)
                    try:
                        yield source, future.result()
                    except ClientError as exc:
                        yield source, exc
                    except (OSError, requests.RequestException, TimeoutError) as exc:
                        yield source, ClientError(str(exc))
                    following = next(queue, None)
                    if following is not None:
                        pending[pool.submit(one, following)] = following
            finished_all = True
        finally:  # left early (break, an exception): do not wait here for jobs already running
            pool.shutdown(wait=finished_all, cancel_futures=not finished_all)


class Batch:
    """A submitted batch: its last known document (items, ``progress``), refreshed by ``refresh``/``wait``."""

    def __init__(self, client: Client, document: dict[str, Any]) -> None:
        self.client = client
        self.document = document

    @property
    def id(self) -> str:
        return self.document["batch_id"]

    @property
    def status(self) -> str:
        """``queued``, ``running``, then ``succeeded`` (every item), ``partial`` or ``failed`` (no item)."""
        return self.document["status"]

    @property
    def done(self) -> bool:
        return self.status in BATCH_FINISHED

    @property
    def progress(self) -> dict | None:
        """``{"done", "failed", "total"}`` items (known after the first refresh)."""
        return self.document.get("progress")

    @property
    def items(self) -> list[dict]:
        """Per item, in the order sent: ``index``, ``filename``, ``job_id``, ``status``, ``result``,
        ``error``."""
        return self.document.get("items", [])

    @property
    def results(self) -> list[dict | None]:
        """Each item's result, None for an item that did not succeed."""
        return [item.get("result") if item.get("status") == "succeeded" else None for item in self.items]

    def refresh(self, wait: float = 0) -> Batch:
        params = {"wait": f"{wait:g}"} if wait > 0 else None
        self.document = self.client._request("GET", f"/v1/batches/{self.id}", params=params,
                                             timeout=self.client.timeout + wait).json()
        return self

    def wait(self, timeout: float | None = None, poll: float = 30.0,
             on_progress: Callable[[Batch], None] | None = None) -> Batch:
        """Long-poll until every item has ended; ``on_progress(batch)`` when the counts change."""
        return _wait(self, timeout, poll, on_progress)

    def __repr__(self) -> str:
        return f"Batch({self.id!r}, status={self.status!r}, progress={self.progress!r})"


def _wait(thing, timeout: float | None, poll: float, on_progress):
    """Long-poll a Job or Batch until it is done. Watching progress, each long-poll lasts at most
    PROGRESS_POLL seconds (it still returns at once when the end comes)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    step = min(poll, PROGRESS_POLL) if on_progress else poll
    seen = None
    while True:
        if on_progress is not None and thing.progress is not None and thing.progress != seen:
            seen = dict(thing.progress)
            on_progress(thing)
        if thing.done:
            return thing
        remaining = step if deadline is None else min(step, deadline - time.monotonic())
        if remaining <= 0:
            kind = type(thing).__name__.lower()
            raise TimeoutError(f"{kind} {thing.id} still {thing.status} after {timeout} s")
        thing.refresh(wait=remaining)


def _not_connected(exc: requests.RequestException) -> str | None:
    """Why no connection could be opened (nothing was sent), e.g. "connection refused"; None when the
    failure came later (a connection dropped mid-request, an answer that timed out)."""
    if isinstance(exc, requests.ConnectTimeout):
        return "timed out connecting"
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if not isinstance(reason, NewConnectionError):
        return None
    cause = reason.__cause__ or reason.__context__
    detail = getattr(cause, "strerror", None) or str(cause or reason)
    return detail[:1].lower() + detail[1:]


def _retryable(response: requests.Response) -> bool:
    if response.status_code == 409:
        try:
            return response.json()["error"]["code"] == IN_PROGRESS
        except (ValueError, KeyError, TypeError):
            return False
    return response.status_code in RETRY_STATUSES


def _retry_after(response: requests.Response) -> float:
    try:
        return float(response.headers.get("Retry-After", 0))
    except ValueError:
        return 0.0


def _api_error(response: requests.Response) -> ApiError:
    try:
        error = response.json()["error"]
        return ApiError(response.status_code, error["code"], error["message"])
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, "http_error", response.text[:200])
