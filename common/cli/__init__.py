"""The ``ocrq`` command: one entry point that dispatches to the parts (engine, service, processes), and
ends every command the same way: an exit code, and one line on stderr for what stopped it
(ocrq/cli/failures.py)."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from importlib.metadata import PackageNotFoundError, version

from ocrq.cli import ocr, remote, serve, up
from ocrq.cli.failures import BAD_SETTING, BROKEN_PIPE, EXIT_CODES, INTERRUPTED, Fatal

COMMANDS = (ocr, up, serve, remote)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocrq", description="OCR service on a message queue.",
                                     epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ocrq {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def _version() -> str:
    try:
        return version("ocrq")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        status = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe is found here, not in the interpreter's own flush at exit
        return status
    except Fatal as exc:
        print(f"ocrq: {exc.message}", file=sys.stderr)
        return exc.code
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly. stdout points at /dev/null so that nothing
        # flushed later fails again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _leave(BROKEN_PIPE)
    except KeyboardInterrupt:
        print("ocrq: interrupted (jobs already submitted go on on the server)", file=sys.stderr)
        return _leave(INTERRUPTED)
    except Exception as exc:
        line = _bad_setting(exc)
        if line is None:
            raise
        print(f"ocrq: {line}", file=sys.stderr)
        return BAD_SETTING


def _leave(status: int) -> int:
    """Exit now if threads still wait on jobs (the client's long-polls; the interpreter would join them
    at exit), else return ``status``."""
    if threading.active_count() > 1:
        sys.stderr.flush()
        os._exit(status)
    return status


def _bad_setting(exc: Exception) -> str | None:
    """One line naming the environment variable, for a setting that cannot work; None for anything else."""
    from ocrq.errors import ConfigError

    if isinstance(exc, ConfigError):
        return exc.message
    if type(exc).__name__ != "ValidationError" or "pydantic" not in sys.modules:
        return None  # a client-only install has no pydantic, and no settings to refuse
    from pydantic import ValidationError

    from ocrq.config import settings_error_line

    return settings_error_line(exc) if isinstance(exc, ValidationError) else None


if __name__ == "__main__":
    sys.exit(main())
