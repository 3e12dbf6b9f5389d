"""``ocrq ocr FILE...``: run the engine in this process, print lines or one JSON object per image.

A PDF or a multi-page TIFF is read page by page (rendered as the service renders it, OCRQ_PDF_DPI,
OCRQ_MAX_PAGES): one JSON object per page, with ``page``. ``--format`` writes each file's whole result as
plain text, hOCR, ALTO XML or a searchable PDF instead (common/outputs/, as the API serves them).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ocrq.cli.extras import require

if TYPE_CHECKING:  # imported only when the command runs: the engine is heavy, and an extra (worker)
    from ocrq.config import Settings
    from ocrq.ocr import OcrEngine
    from ocrq.ocr.result import OcrResult

# ocrq.config.ENHANCE_MODES (which needs pydantic, not in a client-only install); tests/cli check both agree
ENHANCE_CHOICES = ("off", "seed", "auto")
# ocrq.outputs.OUTPUT_FORMATS, the API's result.<format>
FORMAT_CHOICES = ("txt", "hocr", "xml", "pdf")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ocr", help="recognise text in image files and PDFs, in this process (no server needed)")
    parser.add_argument("images", nargs="+", type=Path, metavar="FILE", help="images, PDFs, multi-page TIFFs")
    parser.add_argument("--enhance", choices=ENHANCE_CHOICES, default=None,
                        help="image enhancement (default: OCRQ_ENHANCE_DEFAULT)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image")
    parser.add_argument("--format", choices=FORMAT_CHOICES, default=None,
                        help="each file's result as plain text, hOCR, ALTO XML (xml) or a searchable PDF")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="with --format: write to this file (one FILE) or folder (FILE name + .format; "
                             "default: stdout, where a PDF goes only if it is not a terminal)")
    parser.set_defaults(handler=run)


def read_pages(
    engine: OcrEngine, data: bytes, settings: Settings, enhance: str | None
) -> Iterator[tuple[int | None, OcrResult]]:
    """(page, OcrResult) for each page of a document, or (None, OcrResult) for a single image."""
    from ocrq.documents import inspect, render_page

    document = inspect(data, settings.max_image_pixels, settings.max_pages, settings.pdf_dpi)
    if document is None:
        yield None, engine.run(data, enhance=enhance)
        return
    for page in range(1, document.pages + 1):
        budget = engine.options.working_pixels  # a PDF page is rendered within it, as in a worker
        image, _ = render_page(data, document, page, settings.max_image_pixels, budget)
        yield page, engine.run_array(image, enhance=enhance)


def run(args: argparse.Namespace) -> int:
    require("ocr", "worker")
    from ocrq.config import get_settings
    from ocrq.errors import OcrqError
    from ocrq.ocr import OcrEngine  # heavy: onnxruntime and the models load only for this command

    settings = get_settings()
    if args.format == "pdf" and args.output is None and (sys.stdout.isatty() or len(args.images) > 1):
        print("ocrq: a PDF goes to --output (a file, or a folder for several files), or to a redirected "
              "stdout for one file", file=sys.stderr)
        return 2
    engine = OcrEngine.from_settings(settings)
    status = 0
    for path in args.images:
        try:
            if args.format:
                write_output(path, engine, settings, args)
                continue
            for page, result in read_pages(engine, path.read_bytes(), settings, args.enhance):
                show(path, page, result, args.json, several=len(args.images) > 1)
        except (OSError, OcrqError) as exc:
            message = exc.message if isinstance(exc, OcrqError) else (exc.strerror or str(exc))
            print(f"ocrq: {path}: {message}", file=sys.stderr)
            status = 2
    return status


def whole_result(engine: OcrEngine, data: bytes, settings: Settings, enhance: str | None) -> dict:
    """The file's result as a job stores it: an image's, or a document's with ``pages``."""
    read = list(read_pages(engine, data, settings, enhance))
    if read[0][0] is None:
        return read[0][1].to_dict()
    pages = [{"page": page, **result.to_dict()} for page, result in read]
    return {"page_count": len(pages), "pages": pages, "text": "\n\f\n".join(p["text"] for p in pages)}


def write_output(path: Path, engine: OcrEngine, settings: Settings, args: argparse.Namespace) -> None:
    """``path``'s result in ``args.format``, to stdout or ``args.output`` (a folder for several files)."""
    from ocrq.documents import inspect
    from ocrq.outputs import render_output

    data = path.read_bytes()
    document = inspect(data, settings.max_image_pixels, settings.max_pages, settings.pdf_dpi)
    result = whole_result(engine, data, settings, args.enhance)
    body = render_output(args.format, result, data, document.to_dict() if document else None, path.name)
    if args.output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    target = args.output
    if len(args.images) > 1 or target.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        target = target / f"{path.name}.{args.format}"
    target.write_bytes(body)


def show(path: Path, page: int | None, result: OcrResult, as_json: bool, several: bool) -> None:
    """Print one image's (or one page's) result: JSON, or ``[confidence] text`` lines."""
    where = {"image": str(path)} if page is None else {"image": str(path), "page": page}
    if as_json:
        print(json.dumps({**where, **result.to_dict()}, ensure_ascii=False))
        return
    if several or page is not None:
        print(f"== {path}" + ("" if page is None else f" page {page}"))
    for line in result.lines:
        print(f"[{line.confidence:.2f}] {line.text}")
