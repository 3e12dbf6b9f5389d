"""The ``ocrq`` command: one entry point that dispatches to the parts (engine, service, processes)."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version

from ocrq.cli import ocr, remote, serve, up

COMMANDS = (ocr, up, serve, remote)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocrq", description="OCR service on a message queue.")
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
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
