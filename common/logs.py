"""Logs as one JSON object per line, with the job being handled bound in context.

``bind(job_id=..., task_id=...)`` (or ``set_context``/``clear_context`` from signal handlers) puts fields
in a context variable; every record logged in that context carries them, whichever library logs it
(Flask, Celery, kombu, gunicorn). Nothing a client sends is logged but ids, paths and sizes: no image
bytes, no headers (API keys), and a URL's password is masked even in an exception's text.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

_CONTEXT: ContextVar[dict[str, str] | None] = ContextVar("ocrq_log_context", default=None)
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = {*vars(logging.LogRecord("", 0, "", 0, "", None, None)), "message", "asctime", "taskName"}
# scheme://user:password@ -> scheme://user:***@ (Redis URLs in exception texts, for instance)
_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*://[^\s:/@\"']*:)[^\s@/\"']+@", re.IGNORECASE)
# scheme://token@ (userinfo without a colon) -> scheme://***@
_URL_USER = re.compile(r"([a-z][a-z0-9+.-]*://)[^\s:/@\"'*]+@", re.IGNORECASE)
# Query parameters that carry secrets: a key, or a webhook address (whose own query often holds a token).
SECRET_PARAMETERS = ("api_key", "callback_url", "token", "access_token", "signature")
_SECRET_QUERY = re.compile(r"((?:^|[?&;\s\"'])(?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&;\s\"']*",
                           re.IGNORECASE)
MAX_TEXT = 4000  # characters of a message or traceback kept: a stray bytes repr cannot flood the log
# The fields of gunicorn's access-log atoms that are kept; the rest (every request header, among them
# Authorization and X-API-Key) never reach the log.
_ACCESS = {"m": "method", "U": "path", "q": "query", "s": "status", "B": "bytes", "M": "duration_ms",
           "h": "remote_addr", "a": "user_agent"}


@contextmanager
def bind(**fields: str | None) -> Iterator[None]:
    """Add ``fields`` to every record logged inside the block (None values are left out)."""
    token = _CONTEXT.set({**context(), **{k: str(v) for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def set_context(**fields: str | None) -> None:
    """Replace the bound fields (for hooks that cannot wrap a block: Celery signals, Flask requests)."""
    _CONTEXT.set({k: str(v) for k, v in fields.items() if v is not None})


def add_context(**fields: str | None) -> None:
    set_context(**{**context(), **fields})


def clear_context() -> None:
    _CONTEXT.set(None)


def context() -> dict[str, str]:
    return dict(_CONTEXT.get() or {})


def redact(text: str) -> str:
    """``text`` without URL passwords or userinfo and without the values of SECRET_PARAMETERS, wherever
    they appear (an access line's query, an exception's message): every log line goes through this."""
    text = _URL_USER.sub(r"\1***@", _URL_PASSWORD.sub(r"\1***@", text))
    return _SECRET_QUERY.sub(r"\1***", text)


def _clip(text: str, keep_end: bool = False) -> str:
    """At most MAX_TEXT characters of ``text``: its start, or its end (``keep_end``, for a traceback: where
    the frame that raised and the exception are)."""
    if len(text) <= MAX_TEXT:
        return text
    if keep_end:
        return f"({len(text) - MAX_TEXT} earlier characters cut) ..." + text[-MAX_TEXT:]
    return text[:MAX_TEXT] + f"... ({len(text) - MAX_TEXT} more)"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, pid, bound context, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            entry["message"] = "{} {} {}".format(*(record.args.get(k, "-") for k in "mUs"))
            entry.update({name: record.args.get(atom) for atom, name in _ACCESS.items()})
            entry["request_id"] = record.args.get("{x-request-id}o")  # the answer's (api/conventions.py)
        else:
            entry["message"] = _clip(record.getMessage())
        entry["pid"] = record.process
        entry.update(context())
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value
        data = entry.pop("data", None)
        if isinstance(data, dict) and "id" in data and "task_id" not in entry:
            entry["task_id"] = str(data["id"])  # Celery's own "received"/"succeeded" lines
        if record.exc_info:
            entry["exc"] = _clip(self.formatException(record.exc_info), keep_end=True)
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """For people at a terminal (OCRQ_LOG_FORMAT=text): the usual line, the bound context at the end."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        bound = " ".join(f"{k}={v}" for k, v in context().items())
        return redact(_clip(super().format(record)) + (f" [{bound}]" if bound else ""))


def formatter(fmt: str = "json") -> logging.Formatter:
    return TextFormatter() if fmt == "text" else JsonFormatter()


def configure(level: str = "INFO", fmt: str = "json", stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records through one handler on ``stream`` (stderr) in format ``fmt``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)
    return handler


def dict_config(level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """The same set-up as a ``logging.config.dictConfig`` dict (gunicorn's ``logconfig_dict``)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ocrq": {"()": "ocrq.logs.formatter", "fmt": fmt}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "ocrq",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }
