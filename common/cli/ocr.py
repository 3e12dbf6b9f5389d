"""``ocrq ocr FILE...``: run the engine in this process, print lines or one JSON object per image.

A PDF or a multi-page TIFF is read page by page (rendered as the service renders it, OCRQ_PDF_DPI,
OCRQ_MAX_PAGES): one JSON object per page, with ``page``.
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


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ocr", help="recognise text in image files and PDFs, in this process (no server needed)")
    parser.add_argument("images", nargs="+", type=Path, metavar="FILE", help="images, PDFs, multi-page TIFFs")
    parser.add_argument("--enhance", choices=ENHANCE_CHOICES, default=None,
                        help="image enhancement (default: OCRQ_ENHANCE_DEFAULT)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image")
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
    engine = OcrEngine.from_settings(settings)
    status = 0
    for path in args.images:
        try:
            for page, result in read_pages(engine, path.read_bytes(), settings, args.enhance):
                show(path, page, result, args.json, several=len(args.images) > 1)
        except (OSError, OcrqError) as exc:
            message = exc.message if isinstance(exc, OcrqError) else (exc.strerror or str(exc))
            print(f"ocrq: {path}: {message}", file=sys.stderr)
            status = 2
    return status


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
