"""How the ``ocrq`` command ends: its exit codes, and the one line it prints for what stopped it (a server
down, an API key missing or refused, a request refused, a bad setting) instead of a traceback."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import requests

from ocrq.client import ApiError, ServerUnreachable

OK = 0
JOB_FAILED = 1  # a job failed, or the server refused one file (not an image, too large...) or failed on it
BAD_INPUT = 2  # bad arguments, a missing file, a folder with nothing to send, a request the server refuses
UNREACHABLE = 3  # no connection to the server
AUTH = 4  # the server wants an API key, or refused the one given
BAD_SETTING = 5  # an environment variable (OCRQ_...) with a value that cannot work
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
BROKEN_PIPE = 141  # stdout closed early (`| head`), as a shell reports a command killed by SIGPIPE

EXIT_CODES = f"""exit codes:
  {OK}    done
  {JOB_FAILED}    a job failed, or the server refused a file (not an image, too large, too many pages)
  {BAD_INPUT}    bad arguments or input: a missing file, a folder with no images, an option the server refuses
  {UNREACHABLE}    the server cannot be reached (start one with `make run` or `ocrq up`)
  {AUTH}    the server needs an API key (--api-key, OCRQ_API_KEY), or refused the one given
  {BAD_SETTING}    an environment variable holds a value that cannot work (the line names it)
  {INTERRUPTED}  interrupted (Ctrl-C)
  {BROKEN_PIPE}  stdout was closed before the output ended (e.g. `| head`); quietly
"""

# The server's answers about one file's content: that file fails, the others go on.
ONE_FILE = (413, 415, 422)


class Fatal(Exception):
    """Stops the command with ``ocrq: <message>`` on stderr and exit status ``code``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def stopping(error: Exception, server: str, api_key: str | None) -> Fatal | None:
    """The Fatal an error of a call to ``server`` means for the whole command, or None when it concerns
    one file only (that file failed; the others can go on)."""
    if isinstance(error, requests.ConnectionError):  # ServerUnreachable is one
        reason = error.reason if isinstance(error, ServerUnreachable) else str(error)
        return Fatal(UNREACHABLE, f"cannot reach the ocrq server at {server} ({reason}): start one with "
                                  "`make run` or `ocrq up`, or point --server (OCRQ_SERVER) at a running one")
    if isinstance(error, requests.Timeout):
        return Fatal(UNREACHABLE, f"the ocrq server at {server} did not answer in time (after retries)")
    if not isinstance(error, ApiError):
        return None
    if error.status == 401 and not api_key:
        return Fatal(AUTH, f"the server at {server} needs an API key: pass --api-key or set OCRQ_API_KEY")
    if error.status == 401:
        return Fatal(AUTH, f"the server at {server} refused the API key given (--api-key or OCRQ_API_KEY): "
                           "it is not one of the server's OCRQ_API_KEYS")
    if error.status == 403:
        return Fatal(AUTH, f"the server at {server} refused this API key: {error.code}: {error.message}")
    if 400 <= error.status < 500 and error.status not in (*ONE_FILE, 429):
        return Fatal(BAD_INPUT, f"the server refused the request: {error.status} {error.code}: "
                                f"{error.message}")
    return None


def check_server(url: str) -> None:
    """``Fatal`` for a server address that is not an http(s) URL: a bad setting when it came from
    OCRQ_SERVER, bad input when from --server."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        parts = urlsplit("")
    if parts.scheme in ("http", "https") and parts.netloc:
        return
    if os.environ.get("OCRQ_SERVER") == url:
        raise Fatal(BAD_SETTING, f"OCRQ_SERVER={url!r}: expected an http(s) URL, e.g. http://127.0.0.1:5000")
    raise Fatal(BAD_INPUT, f"--server {url!r}: expected an http(s) URL, e.g. http://127.0.0.1:5000")


def describe(reason: object) -> str:
    """One file's failure in a few words: a server's error, a job's error, an OSError."""
    if isinstance(reason, ApiError):
        return f"{reason.code}: {reason.message}"
    if isinstance(reason, dict):
        return f"{reason.get('code')}: {reason.get('message')}"
    if isinstance(reason, OSError):
        return reason.strerror or str(reason)
    return str(reason)
