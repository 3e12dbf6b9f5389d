"""The JSON log formatter: one object per line, the bound context, nothing secret."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from ocrq import logs


def record(message: str, *args, name: str = "ocrq.test", **extra) -> logging.LogRecord:
    rec = logging.LogRecord(name, logging.INFO, __file__, 1, message, args, None)
    rec.__dict__.update(extra)
    return rec


def formatted(rec: logging.LogRecord) -> dict:
    line = logs.JsonFormatter().format(rec)
    assert "\n" not in line
    return json.loads(line)


def test_a_record_is_one_json_object_with_the_bound_context():
    with logs.bind(job_id="j-1", task_id="t-1"):
        entry = formatted(record("job %s done in %d ms", "j-1", 12, attempt=2))
        with logs.bind(page="3"):
            assert formatted(record("x"))["page"] == "3"
    assert entry["message"] == "job j-1 done in 12 ms"
    assert entry["job_id"] == "j-1" and entry["task_id"] == "t-1" and entry["attempt"] == 2
    assert entry["level"] == "info" and entry["logger"] == "ocrq.test" and entry["ts"].endswith("Z")
    assert "job_id" not in formatted(record("after the block"))


def test_celery_records_carry_their_task_id():
    data = {"id": "abc", "name": "ocrq.ocr", "args": "['abc']", "kwargs": "{}"}
    entry = formatted(record("Task %(name)s[%(id)s] received", data, name="celery.worker.strategy",
                             data=data))
    assert entry["task_id"] == "abc" and entry["message"] == "Task ocrq.ocr[abc] received"
    assert "data" not in entry and "args" not in entry


def test_passwords_in_urls_and_exceptions_are_masked():
    try:
        raise ConnectionError("cannot reach redis://:hunter2@10.0.0.5:6379/0")
    except ConnectionError:
        rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "to rediss://user:pw%40x@h/0", (),
                                exc_info=__import__("sys").exc_info())
    line = logs.JsonFormatter().format(rec)
    assert "hunter2" not in line and "pw%40x" not in line
    assert "redis://:***@10.0.0.5" in line and "rediss://user:***@h/0" in line


def test_access_lines_keep_the_request_and_drop_every_header():
    atoms = {"m": "POST", "U": "/v1/jobs", "q": "enhance=off", "s": "202", "B": 133, "M": 58,
             "h": "127.0.0.1", "a": "curl/8", "{authorization}i": "Bearer sk-secret",
             "{x-api-key}i": "sk-secret", "r": "POST /v1/jobs HTTP/1.1"}
    entry = formatted(record('%(h)s "%(r)s" %(s)s', atoms, name="gunicorn.access"))
    assert entry["message"] == "POST /v1/jobs 202"
    assert (entry["method"], entry["path"], entry["status"], entry["duration_ms"]) == ("POST", "/v1/jobs",
                                                                                      "202", 58)
    assert "sk-secret" not in json.dumps(entry)


def test_long_messages_are_clipped():
    entry = formatted(record("%r", b"\x89PNG\r\n" + bytes(range(256)) * 100))
    assert len(entry["message"]) < logs.MAX_TEXT + 50 and entry["message"].endswith("more)")


def test_a_long_traceback_keeps_its_end_where_the_exception_is():
    try:
        try:
            raise AttributeError("a long first error " * 400)
        except AttributeError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError:
        rec = logging.LogRecord("ocrq.test", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    entry = formatted(rec)
    assert len(entry["exc"]) < logs.MAX_TEXT + 60 and entry["exc"].startswith("(")
    assert entry["exc"].rstrip().endswith("RuntimeError: wrapped")


@pytest.mark.filterwarnings("default:careful:UserWarning")  # this test's own warning is shown, not raised
def test_configure_sends_warnings_and_every_logger_through_one_handler():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("info", "json", stream)
        logging.getLogger("celery.worker").info("ready")
        import warnings

        warnings.warn("careful", UserWarning, stacklevel=1)
        logging.getLogger("x").debug("not shown at info")
    finally:
        logging.captureWarnings(False)
        root.handlers, root.level = saved
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(x["logger"], x["level"]) for x in lines] == [("celery.worker", "info"),
                                                          ("py.warnings", "warning")]


def test_secrets_of_a_query_string_are_masked_in_access_lines_and_messages():
    query = "api_key=sk-secret&callback_url=https://1.1.1.1/hook?token=t0k3n&tag=keep"
    atoms = {"m": "POST", "U": "/v1/jobs", "q": query, "s": "202", "r": f"POST /v1/jobs?{query} HTTP/1.1"}
    entry = formatted(record('"%(r)s" %(s)s', atoms, name="gunicorn.access"))
    assert entry["query"] == "api_key=***&callback_url=***&tag=keep"
    text = logs.TextFormatter().format(record('"%(r)s" %(s)s', atoms, name="gunicorn.access"))
    assert "sk-secret" not in text and "t0k3n" not in text and "tag=keep" in text
    assert logs.redact("GET https://user@host/x?access_token=abc") == "GET https://***@host/x?access_token=***"
    assert logs.redact("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
